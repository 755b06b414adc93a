"""The rollups of « Statistiques » (:class:`CoopRollup`, :class:`CoopPersonRollup`): their defining
aggregates (SQL, for refreshes, rebuilds and :func:`mediation.stats.rollups.differences`) and the
rows one new activity adds (Python, the same rules), kept by :mod:`mediation.stats.rollups` with the
other rollups, in the same transaction as the change.

The Coop weighs an activity by its participations (``COUNT(*)``, not the stored counter); every
breakdown of :func:`mediation.stats.coop.coop_statistics` that is a sum over activities or over
participants counted per participation is a sum of :class:`CoopRollup` rows; the distinct people
counted once are the distinct ``beneficiary_id`` of :class:`CoopPersonRollup`.
"""

from __future__ import annotations

import sqlalchemy as sa

from mediation.cases.enums import Genre, Materiel, PlaceType, StatutSocial, TrancheAge
from mediation.cases.models import Activity, ActivityTag, Beneficiary, Participation

# The Coop's duration buckets (half-open, minutes).
DURATION_BUCKETS = (
    ("moins_30", "Moins de 30 min", 0, 30),
    ("30_60", "30min à 1 h", 30, 60),
    ("60_120", "1 h à 2 h", 60, 120),
    ("120_plus", "2 h et plus", 120, None),
)

CANAL, DUREE, LIEU, COMMUNE, MATERIEL, TAG = "canal", "duree", "lieu", "commune", "materiel", "tag"
GENRE, AGE, STATUT, RESIDENCE = "genre", "age", "statut", "residence"
PERSON_DIMENSIONS = (GENRE, AGE, STATUT, RESIDENCE)


def duration_bucket(minutes: int) -> str:
    for key, _label, low, high in DURATION_BUCKETS:
        if minutes >= low and (high is None or minutes < high):
            return key
    raise ValueError(minutes)


def commune_key(place_structure_id: int | None, place_commune_id: int | None, structure_id: int) -> str:
    """Where the commune of an activity comes from, resolved when read as the directory then says:
    the place's commune (``s:<structure>``), else the commune named on the activity (``c:<commune>``),
    else the recording structure's (``o:<structure>``)."""
    if place_structure_id is not None:
        return f"s:{place_structure_id}"
    if place_commune_id is not None:
        return f"c:{place_commune_id}"
    return f"o:{structure_id}"


def _text(column) -> sa.ColumnElement:
    return sa.func.coalesce(sa.cast(column, sa.String), "0")


def coop_selects(condition, month) -> tuple[sa.Select, sa.Select]:
    """The aggregates defining :class:`CoopRollup` and :class:`CoopPersonRollup` over the live
    activities matching ``condition`` (``month``: the month expression of ``Activity.date``)."""
    weights = (sa.select(Participation.activity_id, sa.func.count().label("n"))
               .join(Activity, Activity.id == Participation.activity_id)
               .where(condition).group_by(Participation.activity_id).subquery("coop_weights"))
    # The matching activities once (a CTE, materialised by PostgreSQL as it is read by every part
    # below): ``condition`` can be a long OR of cells (an import's), evaluated once, not per part.
    chosen = (sa.select(Activity.id.label("activity_id"), Activity.structure_id, month.label("month"),
                        Activity.mediator_id, Activity.type, Activity.place_type, Activity.duration_min,
                        Activity.place_structure_id, Activity.place_commune_id, Activity.materiel,
                        sa.func.coalesce(weights.c.n, 0).label("n"))
              .select_from(sa.outerjoin(Activity, weights, weights.c.activity_id == Activity.id))
              .where(condition).cte("coop_activities"))
    a = chosen.c
    keys = (a.structure_id, a.month, a.mediator_id, a.type)

    def per_activity(dimension: str, value, *where, join=None):
        source = chosen if join is None else chosen.join(*join)
        return (sa.select(*keys, sa.literal(dimension, sa.String).label("dimension"), value.label("value"),
                          a.n.label("n"))
                .select_from(source).where(*where))

    bucket = sa.case(*[(a.duration_min < high, key) for key, _label, _low, high in DURATION_BUCKETS
                       if high is not None], else_=DURATION_BUCKETS[-1][0])
    parts = [
        per_activity(CANAL, sa.cast(a.place_type, sa.String)),
        per_activity(DUREE, bucket),
        per_activity(LIEU, _text(a.place_structure_id),
                     a.place_type == PlaceType.LIEU_ACTIVITE.value, a.place_structure_id.is_not(None)),
        per_activity(COMMUNE, sa.case(
            (a.place_structure_id.is_not(None), "s:" + sa.cast(a.place_structure_id, sa.String)),
            (a.place_commune_id.is_not(None), "c:" + sa.cast(a.place_commune_id, sa.String)),
            else_="o:" + sa.cast(a.structure_id, sa.String))),
        per_activity(TAG, sa.cast(ActivityTag.tag_id, sa.String),
                     join=(ActivityTag, ActivityTag.activity_id == a.activity_id)),
    ]
    # each code of the list once (the Coop's ``set``); the JSON text holds each code quoted
    materiel_text = sa.cast(a.materiel, sa.Text)
    parts += [per_activity(MATERIEL, sa.literal(m.value, sa.String), materiel_text.like(f'%"{m.value}"%'))
              for m in Materiel]
    anonymous = [
        (GENRE, sa.func.coalesce(Beneficiary.genre, Genre.NON_COMMUNIQUE.value)),
        (AGE, sa.func.coalesce(Beneficiary.tranche_age, TrancheAge.NON_COMMUNIQUE.value)),
        (STATUT, sa.func.coalesce(Beneficiary.statut_social, StatutSocial.NON_COMMUNIQUE.value)),
        (RESIDENCE, _text(Beneficiary.residence_commune_id)),
    ]
    for dimension, value in anonymous:
        parts.append(sa.select(*keys, sa.literal(dimension, sa.String).label("dimension"),
                               sa.cast(value, sa.String).label("value"), sa.literal(1).label("n"))
                     .select_from(chosen)
                     .join(Participation, Participation.activity_id == a.activity_id)
                     .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
                     .where(Beneficiary.counted_per_participation))
    rows = sa.union_all(*parts).subquery("coop_rows")
    group = (rows.c.structure_id, rows.c.month, rows.c.mediator_id, rows.c.type, rows.c.dimension, rows.c.value)
    coop = (sa.select(*group, sa.func.count().label("activities"), sa.func.sum(rows.c.n).label("accompaniments"))
            .group_by(*group))
    profile = profile_sql()
    keys = (Activity.structure_id, month, Activity.mediator_id, Activity.type)
    people = (
        sa.select(*keys, Participation.beneficiary_id, sa.func.count().label("accompaniments"), *profile)
        .select_from(Activity)
        .join(Participation, Participation.activity_id == Activity.id)
        .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
        .where(condition, sa.not_(Beneficiary.counted_per_participation))
        .group_by(*keys, Participation.beneficiary_id, *profile)
    )
    return coop, people


def profile_sql() -> list[sa.ColumnElement]:
    """A person's profile as :class:`CoopPersonRollup` copies it (plain strings, as stored)."""
    return [Beneficiary.anonymous.label("anonymous"),
            sa.cast(Beneficiary.genre, sa.String(40)).label("genre"),
            Beneficiary.birth_year.label("birth_year"),
            sa.cast(Beneficiary.tranche_age, sa.String(40)).label("tranche_age"),
            sa.cast(Beneficiary.statut_social, sa.String(40)).label("statut_social"),
            Beneficiary.residence_commune_id.label("residence_commune_id")]


def _plain(value):
    return getattr(value, "value", value)


def profile_of(person: Beneficiary) -> dict:
    """:func:`profile_sql` of one record, in Python."""
    return {"anonymous": bool(person.anonymous), "genre": _plain(person.genre), "birth_year": person.birth_year,
            "tranche_age": _plain(person.tranche_age), "statut_social": _plain(person.statut_social),
            "residence_commune_id": person.residence_commune_id}


def activity_dimensions(place_type, duration_min: int, place_structure_id: int | None,
                        place_commune_id: int | None, structure_id: int, materiel, tag_ids) -> list[tuple[str, str]]:
    """The (dimension, value) of an activity in :class:`CoopRollup` (each weighted by its
    participations)."""
    found = [(CANAL, PlaceType(place_type).value), (DUREE, duration_bucket(duration_min))]
    if PlaceType(place_type) == PlaceType.LIEU_ACTIVITE and place_structure_id is not None:
        found.append((LIEU, str(place_structure_id)))
    found.append((COMMUNE, commune_key(place_structure_id, place_commune_id, structure_id)))
    found += [(TAG, str(tag_id)) for tag_id in sorted(set(tag_ids))]
    materials = set(materiel or [])
    found += [(MATERIEL, m.value) for m in Materiel if m.value in materials]
    return found


def person_dimensions(genre, tranche_age, statut_social, residence_commune_id) -> list[tuple[str, str]]:
    """The (dimension, value) of a participant counted per participation in :class:`CoopRollup`."""
    return [(GENRE, Genre(genre or Genre.NON_COMMUNIQUE).value),
            (AGE, TrancheAge(tranche_age or TrancheAge.NON_COMMUNIQUE).value),
            (STATUT, StatutSocial(statut_social or StatutSocial.NON_COMMUNIQUE).value),
            (RESIDENCE, str(residence_commune_id or 0))]


def coop_rows(activity: Activity, participations: list, cell: dict) -> tuple[list[dict], list[dict]]:
    """The :class:`CoopRollup` and :class:`CoopPersonRollup` rows of one live activity (same rules
    as :func:`coop_selects`); ``participations`` with their beneficiaries loaded."""
    n = len(participations)
    base = {**cell, "type": activity.type}
    found: dict[tuple[str, str], list[int]] = {}
    for key in activity_dimensions(activity.place_type, activity.duration_min, activity.place_structure_id,
                                   activity.place_commune_id, activity.structure_id, activity.materiel,
                                   [t.id for t in activity.tags]):
        counts = found.setdefault(key, [0, 0])
        counts[0] += 1
        counts[1] += n
    people: dict[int, int] = {}
    profiles: dict[int, dict] = {}
    for participation in participations:
        person = participation.beneficiary
        if person.counted_per_participation:
            for key in person_dimensions(person.genre, person.tranche_age, person.statut_social,
                                         person.residence_commune_id):
                counts = found.setdefault(key, [0, 0])
                counts[0] += 1
                counts[1] += 1
        else:
            people[participation.beneficiary_id] = people.get(participation.beneficiary_id, 0) + 1
            profiles[participation.beneficiary_id] = profile_of(person)
    coop = [{**base, "dimension": dimension, "value": value, "activities": a, "accompaniments": w}
            for (dimension, value), (a, w) in sorted(found.items())]
    persons = [{**base, "beneficiary_id": b, "accompaniments": w, **profiles[b]} for b, w in sorted(people.items())]
    return coop, persons
