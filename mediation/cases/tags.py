"""Tags on activities, as La Coop de la médiation numérique has them (``features/activites/use-cases/tags``).

A tag is a mediator's own (« Personnel »), a structure team's (« Équipe de la structure », the Coop's
tags « d’équipe ») or a territory's (« Territoire », the Coop's « départemental » tags, created by the
coordination). Rules:

- who manages (creates, renames, describes, deletes) a tag: a mediator their own tags and those of
  the structures they work for today; a coordinator their territory's; an administrator all;
- which tags a mediator may put on an activity: their own, their structures' and the territories'
  of their structures, never a deleted one;
- deletion is soft (``deleted_at``): the tag stays on past activities (lists, exports) and is
  offered nowhere; the Coop's statistics leave deleted tags out;
- a name of 3 to 80 characters, a description of at most 280 (the Coop's ``saveTagValidation``),
  and no two live tags with the same name in the same place.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.auth.models import Role, User
from mediation.cases import services
from mediation.cases.enums import TagScope
from mediation.cases.models import Activity, ActivityTag, Tag
from mediation.cases.services import Errors
from mediation.directory.models import Commune, StaffMembership, Structure, Territory
from mediation.directory.scopes import active_membership_clause, structure_scope
from mediation.errors import DomainError
from mediation.types import utcnow

NAME_MIN, NAME_MAX, DESCRIPTION_MAX = 3, 80, 280
UNKNOWN_TAG = "Tag inconnu : choisissez parmi vos tags, ceux de votre structure ou de votre territoire"


@dataclass
class TagInput:
    """What the tags page or the API gives to create or change a tag."""

    name: str | None = None
    description: str | None = None
    scope: str | None = None          # TagScope value (creation only)
    structure_id: int | None = None   # for a structure team's tag (creation only)


def _my_structure_ids(user: User) -> sa.Select:
    return sa.select(StaffMembership.structure_id).where(active_membership_clause(user.id))


def _my_territory_ids(user: User) -> sa.Select:
    """Territories of the structures a mediator works for today."""
    return (sa.select(Commune.territory_id).join(Structure, Structure.commune_id == Commune.id)
            .where(Structure.id.in_(_my_structure_ids(user)), Commune.territory_id.is_not(None)))


def manageable_clause(user: User):
    """WHERE clause of the tags ``user`` may create, change and delete."""
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.COORDINATOR:
        return sa.and_(Tag.scope == TagScope.TERRITOIRE, Tag.territory_id == user.territory_id)
    if user.role == Role.MEDIATOR:
        return sa.or_(sa.and_(Tag.scope == TagScope.PERSONNEL, Tag.owner_id == user.id),
                      sa.and_(Tag.scope == TagScope.STRUCTURE, Tag.structure_id.in_(_my_structure_ids(user))))
    return sa.false()


def offered_clause(user: User):
    """WHERE clause of the tags ``user`` may put on an activity (live ones only)."""
    if user.role != Role.MEDIATOR:
        return sa.false()
    return sa.and_(Tag.deleted_at.is_(None), sa.or_(
        sa.and_(Tag.scope == TagScope.PERSONNEL, Tag.owner_id == user.id),
        sa.and_(Tag.scope == TagScope.STRUCTURE, Tag.structure_id.in_(_my_structure_ids(user))),
        sa.and_(Tag.scope == TagScope.TERRITOIRE, Tag.territory_id.in_(_my_territory_ids(user)))))


def manageable_tags(session: Session, user: User) -> list[Tag]:
    """The tags page: the live tags ``user`` manages, by scope then name."""
    return list(session.scalars(sa.select(Tag).where(manageable_clause(user), Tag.deleted_at.is_(None))
                                .order_by(Tag.scope, sa.func.lower(Tag.name), Tag.id)))


def offered_tags(session: Session, user: User) -> list[Tag]:
    """Tags of the activity form, by name."""
    return list(session.scalars(sa.select(Tag).where(offered_clause(user))
                                .order_by(sa.func.lower(Tag.name), Tag.id)))


def filter_tags(session: Session, user: User) -> list[Tag]:
    """Tags of the activity-list filter: those offered to ``user``, those they manage, and those on
    activities of their scope (a coordinator filters on the mediators' own tags too)."""
    used = sa.select(ActivityTag.tag_id).join(Activity, Activity.id == ActivityTag.activity_id)
    scope = structure_scope(user)
    if user.role == Role.MEDIATOR:
        used = used.where(sa.or_(Activity.mediator_id == user.id, Activity.structure_id.in_(scope)))
    elif scope is not None:
        used = used.where(Activity.structure_id.in_(scope))
    clause = sa.or_(offered_clause(user), manageable_clause(user), Tag.id.in_(used))
    return list(session.scalars(sa.select(Tag).where(clause).order_by(sa.func.lower(Tag.name), Tag.id)))


def get_manageable(session: Session, user: User, tag_id: int) -> Tag | None:
    return session.scalar(sa.select(Tag).where(Tag.id == tag_id, Tag.deleted_at.is_(None), manageable_clause(user)))


def creatable_scopes(session: Session, user: User) -> list[tuple[TagScope, list[Structure]]]:
    """Which kinds of tag ``user`` may create (with the structures, for a team's tag)."""
    if user.role == Role.MEDIATOR:
        structures = list(session.scalars(sa.select(Structure).where(Structure.id.in_(_my_structure_ids(user)))
                                          .order_by(Structure.name)))
        return [(TagScope.PERSONNEL, []), *([(TagScope.STRUCTURE, structures)] if structures else [])]
    if user.role == Role.COORDINATOR and user.territory_id is not None:
        return [(TagScope.TERRITOIRE, [])]
    return []


def scope_labels(session: Session, tags: list[Tag]) -> dict[int, str]:
    """« Personnel », « Équipe : <structure> » or « Territoire : <territoire> », by tag id (two queries)."""
    structure_ids = {t.structure_id for t in tags if t.structure_id}
    territory_ids = {t.territory_id for t in tags if t.territory_id}
    structures = {i: name for i, name in session.execute(
        sa.select(Structure.id, Structure.name).where(Structure.id.in_(structure_ids)))} if structure_ids else {}
    territories = {i: name for i, name in session.execute(
        sa.select(Territory.id, Territory.name).where(Territory.id.in_(territory_ids)))} if territory_ids else {}
    labels = {}
    for tag in tags:
        if tag.scope == TagScope.STRUCTURE:
            labels[tag.id] = f"Équipe : {structures.get(tag.structure_id, '')}"
        elif tag.scope == TagScope.TERRITOIRE:
            labels[tag.id] = f"Territoire : {territories.get(tag.territory_id, '')}"
        else:
            labels[tag.id] = tag.scope.label
    return labels


# --- rules --------------------------------------------------------------------------------------

def _check_text(data: TagInput, errors: Errors) -> tuple[str | None, str | None]:
    name = services.clean_text(data.name)
    description = services.clean_text(data.description)
    if not name:
        errors.add("name", "Veuillez renseigner le nom du tag")
    elif len(name) < NAME_MIN:
        errors.add("name", f"Le nom du tag doit faire au moins {NAME_MIN} caractères")
    elif len(name) > NAME_MAX:
        errors.add("name", f"Le nom du tag doit faire moins de {NAME_MAX} caractères")
    if description and len(description) > DESCRIPTION_MAX:
        errors.add("description", f"La description du tag doit faire moins de {DESCRIPTION_MAX} caractères")
    return name, description


def _same_place(tag: Tag):
    if tag.scope == TagScope.PERSONNEL:
        return Tag.owner_id == tag.owner_id
    if tag.scope == TagScope.STRUCTURE:
        return Tag.structure_id == tag.structure_id
    return Tag.territory_id == tag.territory_id


def _check_unique(session: Session, tag: Tag, name: str, errors: Errors) -> None:
    clash = session.scalar(sa.select(Tag.id).where(
        Tag.scope == tag.scope, _same_place(tag), Tag.deleted_at.is_(None),
        sa.func.lower(Tag.name) == name.lower(), Tag.id != (tag.id or -1)).limit(1))
    if clash is not None:
        errors.add("name", "Un tag porte déjà ce nom")


def create_tag(session: Session, user: User, data: TagInput) -> Tag:
    """Create a tag of a scope ``user`` may create (see :func:`creatable_scopes`). Raises
    ValidationFailed naming the field; nothing is written then."""
    errors = Errors()
    name, description = _check_text(data, errors)
    allowed = dict(creatable_scopes(session, user))
    try:
        scope = TagScope(data.scope) if data.scope else (next(iter(allowed)) if len(allowed) == 1 else None)
    except ValueError:
        scope = None
    tag = Tag(created_by_id=user.id)
    if scope is None or scope not in allowed:
        errors.add("scope", "Veuillez choisir à qui appartient le tag")
    else:
        tag.scope = scope
        if scope == TagScope.PERSONNEL:
            tag.owner_id = user.id
        elif scope == TagScope.TERRITOIRE:
            tag.territory_id = user.territory_id
        else:
            ids = {s.id for s in allowed[scope]}
            if data.structure_id not in ids:
                errors.add("structure_id", "Veuillez choisir la structure de l’équipe")
            tag.structure_id = data.structure_id
        if name and not errors:
            _check_unique(session, tag, name, errors)
    errors.raise_if_any()
    tag.name, tag.description = name, description
    session.add(tag)
    session.flush()
    record(session, "tag.created", actor=user, obj=tag, structure_id=tag.structure_id,
           details={"scope": tag.scope.value})
    return tag


def update_tag(session: Session, user: User, tag: Tag, data: TagInput) -> None:
    """Rename or describe a tag (``tag`` loaded through :func:`get_manageable`)."""
    errors = Errors()
    name, description = _check_text(data, errors)
    if name and not errors:
        _check_unique(session, tag, name, errors)
    errors.raise_if_any()
    tag.name, tag.description = name, description
    session.flush()
    record(session, "tag.updated", actor=user, obj=tag, structure_id=tag.structure_id)


def delete_tag(session: Session, user: User, tag: Tag) -> None:
    """Soft delete: the tag stays on past activities, is offered nowhere and leaves the statistics."""
    if tag.deleted_at is not None:
        raise DomainError("Ce tag a déjà été supprimé.")
    tag.deleted_at = utcnow()
    session.flush()
    record(session, "tag.deleted", actor=user, obj=tag, structure_id=tag.structure_id)


def check_tags(session: Session, user: User, tag_ids: list[int], errors: Errors,
               activity: Activity | None = None) -> list[Tag]:
    """The tags chosen for an activity: each must be offered to ``user``. On an edit, tags the
    activity already carries that are no longer offered (deleted since) are kept."""
    wanted = list(dict.fromkeys(int(i) for i in tag_ids or []))
    offered = {t.id: t for t in session.scalars(sa.select(Tag).where(Tag.id.in_(wanted), offered_clause(user)))} \
        if wanted else {}
    kept = [t for t in (activity.tags if activity is not None else []) if t.id not in offered and
            (t.deleted_at is not None or t.id in wanted)]
    if any(i not in offered and i not in {t.id for t in kept} for i in wanted):
        errors.add("tag_ids", UNKNOWN_TAG)
    return [*(offered[i] for i in wanted if i in offered), *kept]


def tag_names(session: Session, tag_ids: list[int]) -> list[str]:
    """Names of the given tags, by name (the « Tags » row of an export's filters)."""
    if not tag_ids:
        return []
    return list(session.scalars(sa.select(Tag.name).where(Tag.id.in_(tag_ids)).order_by(Tag.name)))
