"""Probable duplicate beneficiaries, their merge, and undoing a merge (for 30 days).

Detection (docs/domain/activity-records.md §2.3, extended to every structure the mediator works
for): identified, non-deleted beneficiaries the mediator may see. Names are lowercased, stripped
of accents, spaces, hyphens and apostrophes; phones keep their digits (``+33`` → ``0``); e-mails
are trimmed and lowercased. A pair is probable when at least 2 of the 4 criteria match (nom,
prénom, téléphone, e-mail). Names also match fuzzily: trigram ``similarity > 0.4``, computed by
pg_trgm on PostgreSQL (when the extension is installed) and elsewhere by :func:`trigram_similarity`,
a Python copy of pg_trgm's measure, so that both databases find the same pairs.

Never O(n²): candidate pairs come from blocks — the same first 3 letters of both nom and prénom,
the same phone, or the same e-mail (any two matching criteria go through one of them); oversized
blocks are split on longer prefixes. Only those pairs are scored. A pair matching on nom and
prénom only, with a misspelling in the first 3 letters of either, is missed.

Merge (§2.3 "fusionner"): the destination's non-empty values win and its empty fields are filled
from the source; participations move to the destination, the source's participation in an
activity the destination also took part in is dropped; cases and consents move; counts and
first accompaniments are recomputed (cases-core's :func:`~mediation.cases.services.recompute_for`);
the source is soft-deleted with ``merged_into_id``. Everything needed to undo it is kept in a
:class:`~mediation.cases.exchange_models.BeneficiaryMerge` row. Audited without personal data.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from mediation.audit.services import record
from mediation.auth.models import User
from mediation.cases import policy, services, signals
from mediation.cases.enums import CaseState, ClosureReason, Genre, StatutSocial
from mediation.cases.exchange_models import BeneficiaryMerge
from mediation.cases.models import Activity, Beneficiary, Case, Consent, Participation
from mediation.errors import DomainError, NotFound
from mediation.types import utcnow

UNDO_DAYS = 30
SIMILARITY_THRESHOLD = 0.4  # pg_trgm's similarity, as the national tool uses it
PREFIX = 3
MAX_BLOCK = 200  # name blocks bigger than this are split on longer prefixes

CRITERIA_LABELS = {"nom": "Nom", "prenom": "Prénom", "telephone": "Téléphone", "email": "E-mail"}


# --- normalisation ------------------------------------------------------------------------------

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})


def normalise_name(value: str | None) -> str:
    """``"Jean-Édouard  d'Ormesson"`` → ``"jeanedouarddormesson"``."""
    value = unicodedata.normalize("NFKD", (value or "").translate(_LIGATURES))
    value = "".join(c for c in value if not unicodedata.combining(c)).lower()
    return re.sub(r"[\s\-'’‐‑.]", "", value)


def normalise_phone(value: str | None) -> str:
    digits = re.sub(r"\D", "", value or "")
    if (value or "").strip().startswith("+33") and digits.startswith("33"):
        digits = "0" + digits[2:]
    elif digits.startswith("0033"):
        digits = "0" + digits[4:]
    return digits


def normalise_email(value: str | None) -> str:
    return (value or "").strip().lower()


@dataclass(frozen=True)
class _Person:
    id: int
    nom: str
    prenom: str
    telephone: str
    email: str


@dataclass
class DuplicatePair:
    """Two records that probably are the same person; ``first_id < second_id``."""

    first_id: int
    second_id: int
    criteria: list[str] = field(default_factory=list)  # keys of CRITERIA_LABELS, in that order
    fuzzy: list[str] = field(default_factory=list)  # criteria matched fuzzily (not exactly)

    @property
    def criteria_labels(self) -> list[str]:
        return [CRITERIA_LABELS[c] + (" (approchant)" if c in self.fuzzy else "") for c in self.criteria]


# --- detection ----------------------------------------------------------------------------------

def fuzzy_backend(session: Session) -> str:
    """``"pg_trgm"`` on PostgreSQL with the extension installed, else ``"python"``."""
    if session.get_bind().dialect.name == "postgresql" and session.scalar(
            sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")):
        return "pg_trgm"
    return "python"


def _people(session: Session, user: User) -> list[_Person]:
    ids = policy.visible_beneficiaries(user).where(Beneficiary.anonymous.is_(False)).with_only_columns(
        Beneficiary.id)
    rows = session.execute(
        sa.select(Beneficiary.id, Beneficiary.last_name, Beneficiary.first_name, Beneficiary.phone,
                  Beneficiary.email).where(Beneficiary.id.in_(ids))
    )
    return [_Person(r.id, normalise_name(r.last_name), normalise_name(r.first_name), normalise_phone(r.phone),
                    normalise_email(r.email)) for r in rows]


def _split(members: list[_Person], key, length: int) -> list[list[_Person]]:
    """Oversized blocks are split on longer name prefixes (up to the whole names)."""
    if len(members) <= MAX_BLOCK or length > 12:
        return [members]
    finer: dict[tuple, list[_Person]] = defaultdict(list)
    for person in members:
        finer[key(person, length)].append(person)
    if len(finer) == 1:
        return [members]
    return [block for group in finer.values() for block in _split(group, key, length + 2)]


def _candidate_pairs(people: list[_Person]) -> set[tuple[_Person, _Person]]:
    """Pairs that may match on 2 criteria: same nom and prénom prefixes, or same phone, or same
    e-mail (every way of matching twice goes through one of these blocks)."""

    def names(person: _Person, length: int) -> tuple:
        return person.nom[:length], person.prenom[:length]

    by_names: dict[tuple, list[_Person]] = defaultdict(list)
    exact: dict[tuple, list[_Person]] = defaultdict(list)
    for person in people:
        if person.nom and person.prenom:
            by_names[names(person, PREFIX)].append(person)
        if person.telephone:
            exact[("t", person.telephone)].append(person)
        if person.email:
            exact[("e", person.email)].append(person)
    blocks = [block for members in by_names.values() for block in _split(members, names, PREFIX + 2)]
    blocks += list(exact.values())
    pairs = set()
    for members in blocks:
        if len(members) < 2:
            continue
        members = sorted(members, key=lambda p: p.id)
        for i, first in enumerate(members):
            for second in members[i + 1:]:
                pairs.add((first, second))
    return pairs


def trigrams(text: str) -> set[str]:
    """pg_trgm's trigrams: each alphanumeric word, lowercased, padded with two spaces before and
    one after."""
    grams: set[str] = set()
    for word in re.findall(r"[^\W_]+", text.lower()):
        padded = f"  {word} "
        grams.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return grams


def trigram_similarity(a: str, b: str) -> float:
    """pg_trgm's ``similarity(a, b)``: shared trigrams over all the trigrams of both."""
    first, second = trigrams(a), trigrams(b)
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


def _similarities(session: Session, backend: str, couples: list[tuple[str, str]]) -> list[float]:
    if backend == "pg_trgm":
        scores: list[float] = []
        for start in range(0, len(couples), 5000):
            chunk = couples[start:start + 5000]
            scores.extend(session.scalars(
                sa.text("SELECT similarity(t.a, t.b) FROM unnest(CAST(:a AS text[]), CAST(:b AS text[])) "
                        "WITH ORDINALITY AS t(a, b, n) ORDER BY t.n"),
                {"a": [a for a, _ in chunk], "b": [b for _, b in chunk]},
            ).all())
        return [float(s) for s in scores]
    return [trigram_similarity(a, b) for a, b in couples]


def _sharing_a_block_with(people: list[_Person], beneficiary_id: int) -> list[_Person]:
    target = next((p for p in people if p.id == beneficiary_id), None)
    if target is None:
        return []
    prefix = (target.nom[:PREFIX], target.prenom[:PREFIX]) if target.nom and target.prenom else None

    def related(p: _Person) -> bool:
        return (p is target
                or (prefix is not None and p.nom and p.prenom and (p.nom[:PREFIX], p.prenom[:PREFIX]) == prefix)
                or (bool(target.telephone) and p.telephone == target.telephone)
                or (bool(target.email) and p.email == target.email))

    return [p for p in people if related(p)]


def find_duplicate_pairs(session: Session, user: User, *, beneficiary_id: int | None = None) -> list[DuplicatePair]:
    """Probable duplicate pairs among the identified beneficiaries ``user`` may see (only those
    involving ``beneficiary_id`` when given), most criteria first."""
    return _scored_pairs(session, _people(session, user), beneficiary_id)


NEW_PERSON = 0  # the id of a person being created, not saved yet (real ids start at 1)


def duplicates_of_new(session: Session, user: User, data: services.BeneficiaryInput) -> list[DuplicatePair]:
    """Before creating a person: the people ``user`` may see that would make a probable duplicate
    pair with them (same rule as :func:`find_duplicate_pairs`); ``second_id`` is the existing one."""
    new = _Person(NEW_PERSON, normalise_name(data.last_name), normalise_name(data.first_name),
                  normalise_phone(data.phone), normalise_email(data.email))
    if not (new.nom or new.prenom or new.telephone or new.email):
        return []
    return _scored_pairs(session, [new, *_people(session, user)], NEW_PERSON)


def _scored_pairs(session: Session, people: list[_Person], beneficiary_id: int | None) -> list[DuplicatePair]:
    if beneficiary_id is not None:
        # One person's alert (shown on every case page): keep only who shares a block with them.
        people = _sharing_a_block_with(people, beneficiary_id)
    candidates = _candidate_pairs(people)
    if beneficiary_id is not None:
        candidates = {(a, b) for a, b in candidates if beneficiary_id in (a.id, b.id)}
    backend = fuzzy_backend(session)
    # Fuzzy comparisons only where the names differ and both are present.
    to_score: dict[tuple[str, str], float] = {}
    for a, b in candidates:
        for attribute in ("nom", "prenom"):
            x, y = getattr(a, attribute), getattr(b, attribute)
            if x and y and x != y:
                to_score[(x, y)] = 0.0
    couples = list(to_score)
    for couple, score in zip(couples, _similarities(session, backend, couples), strict=True):
        to_score[couple] = score
    pairs = []
    for a, b in candidates:
        matched, fuzzy = [], []
        for attribute in ("nom", "prenom"):
            x, y = getattr(a, attribute), getattr(b, attribute)
            if x and y and (x == y or to_score[(x, y)] > SIMILARITY_THRESHOLD):
                matched.append(attribute)
                if x != y:
                    fuzzy.append(attribute)
        if a.telephone and a.telephone == b.telephone:
            matched.append("telephone")
        if a.email and a.email == b.email:
            matched.append("email")
        if len(matched) >= 2:
            pairs.append(DuplicatePair(a.id, b.id, matched, fuzzy))
    pairs.sort(key=lambda p: (-len(p.criteria), len(p.fuzzy), p.first_id, p.second_id))
    return pairs


def load_pair_records(session: Session, pairs: list[DuplicatePair]) -> dict[int, Beneficiary]:
    """The beneficiaries of ``pairs`` (with their commune), in one query."""
    ids = {p.first_id for p in pairs} | {p.second_id for p in pairs}
    if not ids:
        return {}
    rows = session.scalars(sa.select(Beneficiary).where(Beneficiary.id.in_(ids))
                           .options(joinedload(Beneficiary.residence_commune)))
    return {b.id: b for b in rows}


# --- merge --------------------------------------------------------------------------------------

MERGED_FIELDS = ("first_name", "last_name", "email", "phone", "no_phone", "birth_year", "residence_commune_id",
                 "genre", "statut_social", "notes")
_UNKNOWN = {"genre": Genre.NON_COMMUNIQUE.value, "statut_social": StatutSocial.NON_COMMUNIQUE.value}


def _stored(value):
    return value.value if hasattr(value, "value") else value


def _is_empty(name: str, value) -> bool:
    value = _stored(value)
    return value in (None, "", False) or _UNKNOWN.get(name) == value


def merge_preview(destination: Beneficiary, source: Beneficiary) -> list[str]:
    """Names of the destination's fields that the merge would fill from the source."""
    filled = []
    for name in MERGED_FIELDS:
        if name in ("phone", "no_phone"):
            continue
        if _is_empty(name, getattr(destination, name)) and not _is_empty(name, getattr(source, name)):
            filled.append(name)
    if destination.phone is None and not destination.no_phone:
        if source.phone:
            filled.append("phone")
        elif source.no_phone:
            filled.append("no_phone")
    return filled


def _check_mergeable(destination: Beneficiary, source: Beneficiary) -> None:
    if destination.id == source.id:
        raise DomainError("Choisissez deux fiches différentes.")
    for beneficiary in (destination, source):
        if beneficiary.anonymous:
            raise DomainError("Un bénéficiaire anonyme ne peut pas être fusionné.")
        if beneficiary.deleted_at is not None:
            raise DomainError("Une des deux fiches a déjà été supprimée ou fusionnée.")


def _recount_participants(session: Session, activity_ids: set[int]) -> None:
    if not activity_ids:
        return
    count = (sa.select(sa.func.count(Participation.id)).where(Participation.activity_id == Activity.id)
             .scalar_subquery())
    session.execute(sa.update(Activity).where(Activity.id.in_(activity_ids)).values(participants_count=count)
                    .execution_options(synchronize_session=False))
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Activity) and obj.id in activity_ids:
            session.expire(obj, ["participants_count"])


def merge_beneficiaries(session: Session, actor: User, destination: Beneficiary,
                        source: Beneficiary) -> BeneficiaryMerge:
    """Merge ``source`` into ``destination`` (the record kept). Both must be identified, not
    deleted, and loaded through the actor's scope by the caller. Raises DomainError otherwise."""
    _check_mergeable(destination, source)
    filled: dict[str, object] = {}
    for name in merge_preview(destination, source):
        filled[name] = _stored(getattr(destination, name))
        setattr(destination, name, getattr(source, name))
    session.flush()

    rows = session.execute(
        sa.select(Participation.id, Participation.activity_id, Participation.case_id,
                  Participation.first_accompaniment, Participation.created_at)
        .where(Participation.beneficiary_id == source.id).order_by(Participation.id)
    ).all()
    shared = set(session.scalars(sa.select(Participation.activity_id)
                                 .where(Participation.beneficiary_id == destination.id)))
    dropped = [r for r in rows if r.activity_id in shared]
    moved = [r.id for r in rows if r.activity_id not in shared]
    if dropped:
        session.execute(sa.delete(Participation).where(Participation.id.in_([r.id for r in dropped])))
    if moved:
        session.execute(sa.update(Participation).where(Participation.id.in_(moved))
                        .values(beneficiary_id=destination.id))
    _recount_participants(session, {r.activity_id for r in dropped})

    closed_case_id = None
    source_live = services.live_case(session, source.id)
    if source_live is not None and services.live_case(session, destination.id) is not None:
        services.close_case(session, actor, source_live, ClosureReason.AUTRE)
        closed_case_id = source_live.id
    moved_cases = list(session.scalars(sa.select(Case).where(Case.beneficiary_id == source.id).order_by(Case.id)))
    for case in moved_cases:
        case.beneficiary_id = destination.id
    session.flush()

    moved_consents = []
    for consent in session.scalars(sa.select(Consent).where(Consent.beneficiary_id == source.id)):
        if consent.withdrawn_at is None and session.scalar(sa.select(Consent.id).where(
                Consent.beneficiary_id == destination.id, Consent.scope == consent.scope,
                Consent.structure_id == consent.structure_id, Consent.withdrawn_at.is_(None))):
            continue  # the destination already holds the same live consent
        consent.beneficiary_id = destination.id
        moved_consents.append(consent.id)

    source.deleted_at = utcnow()
    source.merged_into_id = destination.id
    session.flush()
    services.recompute_for(session, {destination.id, source.id})
    signals.beneficiaries_changed.send(session, beneficiary_ids={destination.id, source.id})

    merge = BeneficiaryMerge(
        source_id=source.id, destination_id=destination.id, structure_id=destination.owner_structure_id,
        merged_by_id=actor.id, filled_fields=filled, moved_participation_ids=moved,
        dropped_participations=[{"activity_id": r.activity_id, "case_id": r.case_id,
                                 "first_accompaniment": bool(r.first_accompaniment),
                                 "created_at": r.created_at.isoformat()} for r in dropped],
        moved_case_ids=[c.id for c in moved_cases], closed_case_id=closed_case_id,
        moved_consent_ids=moved_consents,
    )
    session.add(merge)
    session.flush()
    record(session, "beneficiary.merged", actor=actor, obj=destination, structure_id=destination.owner_structure_id,
           details={"merge_id": merge.id, "source_id": source.id, "destination_id": destination.id,
                    "participations_moved": len(moved), "participations_dropped": len(dropped),
                    "cases_moved": len(moved_cases), "fields_filled": sorted(filled)})
    return merge


# --- undo ---------------------------------------------------------------------------------------

def undo_deadline(merge: BeneficiaryMerge) -> datetime:
    return merge.merged_at + timedelta(days=UNDO_DAYS)


def can_undo(merge: BeneficiaryMerge, now: datetime | None = None) -> bool:
    return merge.undone_at is None and (now or utcnow()) < undo_deadline(merge)


def undo_merge(session: Session, actor: User, merge: BeneficiaryMerge) -> Beneficiary:
    """Undo ``merge`` within 30 days: the source comes back with its participations, cases and
    consents; the destination's fields filled by the merge get their previous value back unless
    they were edited since. Returns the restored source. Raises DomainError when it is too late
    or when either record changed in a way that prevents it."""
    if merge.undone_at is not None:
        raise DomainError("Cette fusion a déjà été annulée.")
    if utcnow() >= undo_deadline(merge):
        raise DomainError(f"Cette fusion date de plus de {UNDO_DAYS} jours : elle ne peut plus être annulée.")
    source, destination = merge.source, merge.destination
    if source.anonymous or destination.anonymous:
        raise DomainError("Une des fiches a été anonymisée : la fusion ne peut plus être annulée.")
    if source.merged_into_id != destination.id or source.deleted_at is None:
        raise DomainError("La fiche fusionnée a changé depuis : la fusion ne peut plus être annulée.")
    if destination.deleted_at is not None:
        raise DomainError("La fiche conservée a depuis été fusionnée ou supprimée : annulez d'abord cette "
                          "autre opération.")

    source.deleted_at = None
    source.merged_into_id = None
    for name, previous in (merge.filled_fields or {}).items():
        if _stored(getattr(destination, name)) == _stored(getattr(source, name)):
            setattr(destination, name, previous)
    session.flush()

    if merge.moved_consent_ids:
        session.execute(sa.update(Consent).where(Consent.id.in_(merge.moved_consent_ids),
                                                 Consent.beneficiary_id == destination.id)
                        .values(beneficiary_id=source.id))
    cases = list(session.scalars(sa.select(Case).where(Case.id.in_(merge.moved_case_ids or [-1]),
                                                       Case.beneficiary_id == destination.id)))
    # Closed cases first, so that the destination never holds two live cases at once.
    for case in sorted(cases, key=lambda c: c.state != CaseState.CLOSED):
        case.beneficiary_id = source.id
        session.flush()
    if merge.closed_case_id:
        closed = session.get(Case, merge.closed_case_id)
        if (closed is not None and closed.beneficiary_id == source.id and closed.state == CaseState.CLOSED
                and services.live_case(session, source.id) is None):
            services.reopen_case(session, actor, closed)

    if merge.moved_participation_ids:
        session.execute(sa.update(Participation).where(Participation.id.in_(merge.moved_participation_ids),
                                                       Participation.beneficiary_id == destination.id)
                        .values(beneficiary_id=source.id))
    restored_activities = set()
    existing_cases = set(session.scalars(sa.select(Case.id).where(Case.beneficiary_id == source.id)))
    for row in merge.dropped_participations or []:
        activity_id = row["activity_id"]
        taken = session.scalar(sa.select(Participation.id).where(Participation.activity_id == activity_id,
                                                                 Participation.beneficiary_id == source.id))
        if taken or session.get(Activity, activity_id) is None:
            continue
        session.add(Participation(
            activity_id=activity_id, beneficiary_id=source.id,
            case_id=row["case_id"] if row["case_id"] in existing_cases else None,
            first_accompaniment=row["first_accompaniment"],
            created_at=datetime.fromisoformat(row["created_at"]),
        ))
        restored_activities.add(activity_id)
    session.flush()
    _recount_participants(session, restored_activities)
    services.recompute_for(session, {source.id, destination.id})
    signals.beneficiaries_changed.send(session, beneficiary_ids={source.id, destination.id})

    merge.undone_at = utcnow()
    merge.undone_by_id = actor.id
    session.flush()
    record(session, "beneficiary.merge_undone", actor=actor, obj=source, structure_id=merge.structure_id,
           details={"merge_id": merge.id, "source_id": source.id, "destination_id": destination.id})
    return source


# --- scoped lookups -----------------------------------------------------------------------------

def visible_merges(user: User) -> sa.Select:
    """Merges whose kept record ``user`` may see (mediators only), newest first."""
    if not policy.can_see_identity(user):
        return sa.select(BeneficiaryMerge).where(sa.false())
    visible = policy.visible_beneficiaries(user).with_only_columns(Beneficiary.id)
    return (sa.select(BeneficiaryMerge).where(BeneficiaryMerge.destination_id.in_(visible))
            .order_by(BeneficiaryMerge.merged_at.desc(), BeneficiaryMerge.id.desc()))


def recent_merges(session: Session, user: User) -> list[BeneficiaryMerge]:
    """Merges of the last 30 days the user may see (undone ones included, for the record)."""
    since = utcnow() - timedelta(days=UNDO_DAYS)
    return list(session.scalars(
        visible_merges(user).where(BeneficiaryMerge.merged_at >= since)
        .options(joinedload(BeneficiaryMerge.source), joinedload(BeneficiaryMerge.destination),
                 joinedload(BeneficiaryMerge.merged_by))
    ).unique())


def get_merge(session: Session, user: User, merge_id: int) -> BeneficiaryMerge:
    merge = session.scalar(visible_merges(user).where(BeneficiaryMerge.id == merge_id))
    if merge is None:
        raise NotFound("Fusion introuvable.")
    return merge
