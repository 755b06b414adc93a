"""Moving cases between structures, communes and mediators (réaffectation).

A case is held by one structure at a time. Coordinators (of the territory of both the current and
the target structure) and administrators move it, alone or in bulk (a mediator leaves), with a
reason; an accepted referral moves it too. Rules:
- moving to another structure needs the person's live *network* consent given in the target's
  territory (changing the mediator within the structure does not);
- optimistic concurrency on ``Case.version``: the version the user saw must still be the current
  one, and the UPDATE itself is guarded by it (SQLAlchemy ``version_id_col``), so when two
  coordinators move the same case at once one wins and the other gets :data:`CONFLICT_MESSAGE`;
  the request then rolls back, nothing is half-moved (bulk moves are all-or-nothing);
- history is kept (:class:`CaseTransfer`), both structures are notified in the app, the move is
  audited on the case (its timeline shows it); activities stay attributed to whoever did them.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from mediation.audit.services import record
from mediation.auth.models import Role, User
from mediation.cases.enums import CaseState, ConsentScope
from mediation.cases.models import Case, Consent
from mediation.directory.models import Commune, StaffMembership, Structure
from mediation.directory.notifications import NotificationKind, notify
from mediation.directory.scopes import active_membership_clause, territory_structures
from mediation.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from mediation.pathways.enums import COORDINATOR_TRANSFER_REASONS, TransferReason
from mediation.pathways.models import CaseTransfer, Referral
from mediation.search import contains_folded
from mediation.types import local_today

CONFLICT_MESSAGE = ("Ce dossier vient d'être modifié par quelqu'un d'autre (dossier n° {case_id}) : rien n'a été "
                    "déplacé. Rechargez la page pour voir son état actuel, puis recommencez si besoin.")
MAX_BULK = 500


def conflict(case_id: int) -> Conflict:
    return Conflict(CONFLICT_MESSAGE.format(case_id=case_id))


# --- rules --------------------------------------------------------------------------------------

def territory_id_of(session: Session, structure_id: int) -> int:
    return session.scalar(sa.select(Commune.territory_id).join(Structure, Structure.commune_id == Commune.id)
                          .where(Structure.id == structure_id))


def has_network_consent(session: Session, beneficiary_id: int, territory_id: int) -> bool:
    """A live network consent given at a structure of ``territory_id``."""
    return session.scalar(
        sa.select(Consent.id)
        .where(Consent.beneficiary_id == beneficiary_id, Consent.scope == ConsentScope.RESEAU,
               Consent.withdrawn_at.is_(None), Consent.structure_id.in_(territory_structures(territory_id)))
        .limit(1)) is not None


def network_consent_exists() -> sa.Exists:
    """Correlated on ``Case``: the person has a live network consent given at a structure of the
    territory of the structure that holds the case (where coordinators move it)."""
    given_at, given_in = aliased(Structure), aliased(Commune)
    holder, holder_in = aliased(Structure), aliased(Commune)
    return sa.exists().where(
        Consent.beneficiary_id == Case.beneficiary_id, Consent.scope == ConsentScope.RESEAU,
        Consent.withdrawn_at.is_(None), given_at.id == Consent.structure_id, given_in.id == given_at.commune_id,
        holder.id == Case.structure_id, holder_in.id == holder.commune_id,
        given_in.territory_id == holder_in.territory_id)


def record_network_consent(session: Session, actor, case: Case, to_structure_id: int) -> None:
    """The person accepts, asked right now, that their case be shared in the network: recorded
    at the structure that holds the case, with the case page's service (audited), unless the
    consent needed for ``to_structure_id`` is already there."""
    if to_structure_id == case.structure_id or has_network_consent(
            session, case.beneficiary_id, territory_id_of(session, to_structure_id)):
        return
    from mediation.cases.services import record_consent

    record_consent(session, actor, case.beneficiary, ConsentScope.RESEAU, case.structure_id)


def check_sharing_consent(session: Session, case: Case, to_structure_id: int) -> None:
    """Raises DomainError unless the person consented to share their case with ``to_structure_id``."""
    if to_structure_id == case.structure_id:
        return
    if not has_network_consent(session, case.beneficiary_id, territory_id_of(session, to_structure_id)):
        raise DomainError("La personne n'a pas consenti au partage de son dossier dans le réseau de ce territoire : "
                          "recueillez son consentement (portée « réseau ») avant de confier son dossier à une autre "
                          "structure.", field="target")


def is_active_mediator(session: Session, user_id: int, structure_id: int) -> bool:
    return session.scalar(
        sa.select(StaffMembership.id).join(User, User.id == StaffMembership.user_id)
        .where(active_membership_clause(user_id), StaffMembership.structure_id == structure_id,
               User.role == Role.MEDIATOR, User.is_active_account.is_(True)).limit(1)) is not None


def may_reassign_between(session: Session, actor, from_structure_id: int, to_structure_id: int) -> bool:
    """Admins anywhere; coordinators when both structures are in their territory."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.COORDINATOR:
        return False
    return {territory_id_of(session, from_structure_id), territory_id_of(session, to_structure_id)} == {
        actor.territory_id}


# --- the move -----------------------------------------------------------------------------------

def move_case(session: Session, actor, case: Case, *, to_structure: Structure, to_mediator_id: int | None,
              reason: TransferReason, comment: str | None = None, expected_version: int | None = None,
              referral: Referral | None = None, batch: str | None = None, notify_structures: bool = True,
              prechecked: bool = False) -> CaseTransfer:
    """Move ``case`` (version-checked), keep the history, notify, audit. The caller checked who
    may. Raises Conflict when someone changed the case in between (nothing is written then:
    the case row is updated first, before anything else of this move)."""
    case_id = case.id
    if expected_version is not None and int(expected_version) != case.version:
        raise conflict(case_id)
    if case.state == CaseState.CLOSED:
        raise DomainError(f"Le dossier n° {case.id} est clos : rouvrez-le avant de le confier à une autre structure.")
    if to_structure.archived_at is not None:
        raise DomainError("Cette structure est archivée.", field="target")
    if to_structure.id == case.structure_id and to_mediator_id == case.mediator_id:
        raise DomainError(f"Le dossier n° {case.id} est déjà suivi par cette structure et ce référent.",
                          field="target")
    if not prechecked:  # bulk moves check consent and referent for all cases at once
        check_sharing_consent(session, case, to_structure.id)
        if to_mediator_id is not None and not is_active_mediator(session, to_mediator_id, to_structure.id):
            raise ValidationFailed("Ce médiateur ne travaille pas pour cette structure.", field="target")
    from_structure_id, from_mediator_id = case.structure_id, case.mediator_id
    case.structure_id = to_structure.id
    case.mediator_id = to_mediator_id
    try:
        session.flush()  # UPDATE … WHERE id = :id AND version = :seen — before anything else
    except StaleDataError:
        raise conflict(case_id) from None
    session.expire(case, ["structure", "mediator"])  # relationships follow the new ids
    transfer = CaseTransfer(case_id=case.id, from_structure_id=from_structure_id, to_structure_id=to_structure.id,
                            from_mediator_id=from_mediator_id, to_mediator_id=to_mediator_id, reason=reason,
                            comment=comment, referral_id=referral.id if referral else None, batch=batch,
                            transferred_by_id=actor.id)
    session.add(transfer)
    session.flush()
    if notify_structures:
        _notify_move(session, from_structure_id, to_structure.id, case_id=case.id)
    record(session, "case.transferred", actor=actor, obj=case, structure_id=to_structure.id,
           details={"transfer_id": transfer.id, "from_structure_id": from_structure_id,
                    "to_structure_id": to_structure.id, "from_mediator_id": from_mediator_id,
                    "to_mediator_id": to_mediator_id, "transfer_reason": reason.value, "batch": batch,
                    "referral_id": referral.id if referral else None})
    return transfer


def _notify_move(session: Session, from_id: int, to_id: int, *, case_id: int | None, count: int = 1) -> None:
    if from_id == to_id:
        notify(session, to_id, NotificationKind.DOSSIER_REAFFECTE, case_id=case_id, count=count)
        return
    notify(session, from_id, NotificationKind.DOSSIER_PARTI, other_structure_id=to_id, case_id=case_id, count=count)
    notify(session, to_id, NotificationKind.DOSSIER_RECU, other_structure_id=from_id, case_id=case_id, count=count)


# --- by coordinators ----------------------------------------------------------------------------

@dataclass
class Target:
    structure_id: int | None
    mediator_id: int | None = None

    @classmethod
    def parse(cls, value: str | None) -> Target:
        """``"12:34"`` (structure 12, mediator 34) or ``"12:0"`` / ``"12"`` (no referent)."""
        structure, _, mediator = (value or "").partition(":")
        try:
            return cls(int(structure), int(mediator) or None if mediator else None)
        except ValueError:
            return cls(None)


def _inputs(session: Session, actor, target: Target, reason: str | None, comment: str | None):
    if actor.role not in (Role.ADMIN, Role.COORDINATOR):
        raise Forbidden("Seules la coordination et l'administration réaffectent les dossiers.")
    errors = {}
    structure = session.get(Structure, target.structure_id) if target.structure_id else None
    if structure is None:
        errors["target"] = "Veuillez choisir la structure (et le référent) qui reprend le dossier"
    try:
        reason = TransferReason(reason) if reason else None
    except ValueError:
        reason = None
    if reason is None or reason not in COORDINATOR_TRANSFER_REASONS:
        errors["reason"] = "Veuillez indiquer le motif de la réaffectation"
    comment = (comment or "").strip() or None
    if comment and len(comment) > 500:
        errors["comment"] = "500 caractères au maximum"
    if reason == TransferReason.AUTRE and not comment:
        errors["comment"] = "Précisez le motif"
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    return structure, reason, comment


def reassign(session: Session, actor, case: Case, *, target: Target, reason: str | None,
             comment: str | None = None, expected_version: int | None = None,
             network_consent: bool = False) -> CaseTransfer:
    """A coordinator (both structures in their territory) or an admin moves one case;
    ``network_consent``: the person accepts the sharing in the network, recorded with the move.

    Raises Forbidden (mediators), NotFound (target outside the actor's territory), ValidationFailed
    (target, reason), DomainError (consent, closed case), Conflict (someone changed it meanwhile).
    """
    structure, reason, comment = _inputs(session, actor, target, reason, comment)
    if not may_reassign_between(session, actor, case.structure_id, structure.id):
        raise NotFound("Structure introuvable dans votre territoire.")
    if expected_version is not None and int(expected_version) != case.version:
        raise conflict(case.id)  # (before recording anything)
    if network_consent:
        record_network_consent(session, actor, case, structure.id)
    elif structure.id != case.structure_id and not has_network_consent(
            session, case.beneficiary_id, territory_id_of(session, structure.id)):
        raise DomainError("La personne n'a pas consenti au partage de son dossier dans le réseau de ce territoire : "
                          "demandez-le-lui et cochez « La personne accepte le partage au sein du réseau ».",
                          field="network_consent")
    return move_case(session, actor, case, to_structure=structure, to_mediator_id=target.mediator_id, reason=reason,
                     comment=comment, expected_version=expected_version)


def bulk_reassign(session: Session, actor, seen: dict[int, int], *, target: Target, reason: str | None,
                  comment: str | None = None) -> list[CaseTransfer]:
    """Move several cases (``{case_id: version seen}``) to one structure and referent, all or
    nothing: the first refusal or conflict raises and the request rolls back. Each structure is
    notified once per move with the number of cases."""
    structure, reason, comment = _inputs(session, actor, target, reason, comment)
    if not seen:
        raise ValidationFailed("Cochez au moins un dossier à réaffecter.", field="cases")
    if len(seen) > MAX_BULK:
        raise ValidationFailed(f"{MAX_BULK} dossiers au plus par réaffectation groupée.", field="cases")
    from mediation.pathways.policy import shared_cases

    cases = list(session.scalars(shared_cases(actor).where(Case.id.in_(seen)).order_by(Case.id)
                                 .options(joinedload(Case.structure).joinedload(Structure.commune))))
    if len(cases) != len(seen):
        raise NotFound("Un des dossiers cochés est introuvable dans votre territoire.")
    target_territory = territory_id_of(session, structure.id)
    if actor.role == Role.COORDINATOR and (target_territory != actor.territory_id or any(
            c.structure.commune.territory_id != actor.territory_id for c in cases)):
        raise NotFound("Structure introuvable dans votre territoire.")
    if target.mediator_id is not None and not is_active_mediator(session, target.mediator_id, structure.id):
        raise ValidationFailed("Ce médiateur ne travaille pas pour cette structure.", field="target")
    consenting = set(session.scalars(
        sa.select(Consent.beneficiary_id)
        .where(Consent.beneficiary_id.in_([c.beneficiary_id for c in cases]), Consent.scope == ConsentScope.RESEAU,
               Consent.withdrawn_at.is_(None), Consent.structure_id.in_(territory_structures(target_territory)))))
    batch = secrets.token_hex(8)
    transfers = []
    for case in cases:
        try:
            if case.structure_id != structure.id and case.beneficiary_id not in consenting:
                check_sharing_consent(session, case, structure.id)  # raises with the message
            transfers.append(move_case(session, actor, case, to_structure=structure, to_mediator_id=target.mediator_id,
                                       reason=reason, comment=comment, expected_version=seen[case.id], batch=batch,
                                       notify_structures=False, prechecked=True))
        except DomainError as error:
            if isinstance(error, Conflict):
                raise
            raise type(error)(f"Dossier n° {case.id} : {error.message} Aucun dossier n'a été déplacé.",
                              field=error.field) from None
    counts: dict[tuple[int, int], int] = {}
    for t in transfers:
        counts[(t.from_structure_id, t.to_structure_id)] = counts.get((t.from_structure_id, t.to_structure_id), 0) + 1
    for (from_id, to_id), count in counts.items():
        _notify_move(session, from_id, to_id, case_id=transfers[0].case_id if len(transfers) == 1 else None,
                     count=count)
    session.flush()
    return transfers


@dataclass
class BulkRow:
    """What tells a case apart in the bulk list, name or not: the network consent, the commune,
    where the person is on their pathways, the last activity."""
    consent: bool
    commune: str | None
    progress: str | None
    last_activity: date | None


def bulk_listing(session: Session, cases, *, with_progress: bool) -> dict[int, BulkRow]:
    from mediation.cases.services import last_activity_dates
    from mediation.pathways.services import progress_summaries

    ids = [c.id for c in cases]
    if not ids:
        return {}
    consenting = set(session.scalars(sa.select(Case.id).where(Case.id.in_(ids), network_consent_exists())))
    progress = progress_summaries(session, ids) if with_progress else {}
    last = last_activity_dates(session, ids)
    return {c.id: BulkRow(consent=c.id in consenting,
                          commune=c.beneficiary.residence_commune.name if c.beneficiary.residence_commune else None,
                          progress=progress.get(c.id), last_activity=last.get(c.id)) for c in cases}


# --- reading ------------------------------------------------------------------------------------

def history(session: Session, case: Case) -> list[CaseTransfer]:
    return list(session.scalars(
        sa.select(CaseTransfer).where(CaseTransfer.case_id == case.id)
        .options(joinedload(CaseTransfer.from_structure), joinedload(CaseTransfer.to_structure),
                 joinedload(CaseTransfer.from_mediator), joinedload(CaseTransfer.to_mediator),
                 joinedload(CaseTransfer.transferred_by))
        .order_by(CaseTransfer.transferred_at.desc(), CaseTransfer.id.desc())))


@dataclass
class TargetOption:
    value: str
    label: str
    structure_id: int


def _target_queries(actor) -> tuple[sa.Select, sa.Select]:
    """The structures of the actor's territory (all for admins), with their commune, by commune then
    name; and the mediators working in them today (structure id, user id, names), by name."""
    query = (sa.select(Structure.id, Structure.name, Commune.name.label("commune"))
             .join(Commune, Commune.id == Structure.commune_id)
             .where(Structure.archived_at.is_(None)).order_by(Commune.name, Structure.name, Structure.id))
    if actor.role == Role.COORDINATOR:
        query = query.where(Structure.id.in_(territory_structures(actor.territory_id)))
    today = local_today()
    staff_query = (
        sa.select(StaffMembership.structure_id, User.id, User.first_name, User.last_name)
        .join(User, User.id == StaffMembership.user_id)
        .join(Structure, Structure.id == StaffMembership.structure_id).join(Commune, Commune.id == Structure.commune_id)
        .where(StaffMembership.structure_id.in_(query.with_only_columns(Structure.id).order_by(None).correlate(None)),
               StaffMembership.started_on <= today,
               sa.or_(StaffMembership.ended_on.is_(None), StaffMembership.ended_on >= today),
               User.role == Role.MEDIATOR, User.is_active_account.is_(True))
        .order_by(User.last_name, User.first_name, User.id))
    return query, staff_query


def target_options(session: Session, actor, words: list[str] | None = None,
                   values: list[str] | None = None) -> list[tuple[str, list[TargetOption]]]:
    """Structures of the actor's territory (all for admins) with their active mediators, for one
    select, grouped by commune (its name first): « Structure — sans référent », « Structure —
    Prénom Nom ». Ids and names only (whole objects decoded every place's JSON columns).
    ``words``: only the options whose structure, commune or mediator names hold each word (case
    and accents ignored); ``values``: only these options (« 12:0 », « 12:34 »)."""
    if actor.role not in (Role.ADMIN, Role.COORDINATOR):
        return []
    query, staff_query = _target_queries(actor)
    wanted = None
    if values is not None:
        wanted = {v for v in values if re.fullmatch(r"\d+:\d+", v or "")}
        ids = {int(v.split(":")[0]) for v in wanted}
        query = query.where(Structure.id.in_(ids))
        staff_query = staff_query.where(StaffMembership.structure_id.in_(ids))
    if words:
        structure_matches = query
        for word in words:
            structure_matches = structure_matches.where(sa.or_(contains_folded(Structure.name, word),
                                                               contains_folded(Commune.name, word)))
            staff_query = staff_query.where(sa.or_(*(contains_folded(column, word) for column in (
                Structure.name, Commune.name, User.first_name, User.last_name))))
        matched = {row.id for row in session.execute(structure_matches)}
        staff = session.execute(staff_query).all()
        query = query.where(Structure.id.in_(matched | {row.structure_id for row in staff}))
    else:
        matched = None
        staff = session.execute(staff_query).all()
    structures = session.execute(query).all()
    by_structure: dict[int, list] = {}
    for structure_id, user_id, first_name, last_name in staff:
        by_structure.setdefault(structure_id, []).append((user_id, f"{first_name} {last_name}"))
    result = []
    for s in structures:
        options = [TargetOption(f"{s.id}:0", f"{s.name} — sans référent", s.id)] if matched is None or s.id in matched else []
        options += [TargetOption(f"{s.id}:{user_id}", f"{s.name} — {name}", s.id)
                    for user_id, name in by_structure.get(s.id, [])]
        if wanted is not None:
            options = [o for o in options if o.value in wanted]
        if options:
            result.append((s.commune, options))
    return result


class TargetSource:
    """The structures and referents a case may go to, as a pick-list (mediation.forms.pick_list): a
    national network offers a search rather than its thousands of structures and mediators."""

    def __init__(self, actor):
        self.actor = actor

    def count(self, session: Session) -> int:
        if self.actor.role not in (Role.ADMIN, Role.COORDINATOR):
            return 0
        structures, staff = _target_queries(self.actor)
        return sum(session.scalar(sa.select(sa.func.count()).select_from(q.order_by(None).subquery()))
                   for q in (structures, staff))

    @staticmethod
    def _choices(groups) -> list[SelectChoice]:
        return [SelectChoice(o.value, o.label, optgroup=commune) for commune, options in groups for o in options]

    def all(self, session: Session) -> list[SelectChoice]:
        return self._choices(target_options(session, self.actor))

    def matching(self, session: Session, words: list[str], limit: int) -> list[SelectChoice]:
        return self._choices(target_options(session, self.actor, words=words))[:limit]

    def chosen(self, session: Session, values: list[str]) -> list[SelectChoice]:
        return self._choices(target_options(session, self.actor, values=values))
