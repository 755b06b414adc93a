"""The indicator engine: one :class:`~mediation.evaluation.scope.Scope` in, one
:class:`~mediation.evaluation.results.Dashboard` out, the same for the dashboard, the PDF, the
exports and the API.

Heavy lifting is SQL aggregation on the database (``GROUP BY`` queries that run on SQLite and
PostgreSQL alike; never a query that loads the rows); Python only shapes the few aggregate rows,
rounds, suppresses small cells and computes intervals (:mod:`mediation.evaluation.results`).

The headline means (accompagnements, bénéficiaires, per month, per thématique, per structure) come
from the exact rollups of :mod:`mediation.stats` whenever the filter can be expressed on their
cells (structure × month × mediator), and from the raw tables otherwise (a programme covering both
structures and mediators, or with explicit attributions) — with the same definitions.

Definitions: :mod:`mediation.evaluation.definitions`; outputs and outcomes:
:mod:`mediation.evaluation.outcomes`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa

from mediation.auth.models import User
from mediation.cases.enums import ActivityType, Genre, PlaceType, StatutSocial, TrancheAge, thematique_label
from mediation.cases.models import Activity, Beneficiary, Participation, tranche_age_sql
from mediation.config import setting
from mediation.directory.models import Commune, Structure
from mediation.evaluation import definitions, disclosure, method, results
from mediation.evaluation.method import fmt_date
from mediation.evaluation.results import Dashboard, Section
from mediation.evaluation.scope import Scope
from mediation.stats.dashboard import Means
from mediation.stats.rollups import as_date, month_start
from mediation.types import utcnow

DURATION_BUCKETS = [
    ("moins_30", "Moins de 30 min", 0, 30),
    ("30_60", "30 min à 1 h", 30, 60),
    ("60_120", "1 h à 2 h", 60, 120),
    ("120_plus", "2 h et plus", 120, None),
]
MONTHS_FR = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]
COMPARE_DIMENSIONS = {"communes": "Communes", "structures": "Structures", "mediateurs": "Médiateurs"}


def suppression_threshold() -> int:
    """``MEDIATION_SUPPRESSION_THRESHOLD`` (5 by default): counts from 1 to the threshold − 1 are hidden."""
    return int(setting("MEDIATION_SUPPRESSION_THRESHOLD"))


def month_label(month: date) -> str:
    return f"{MONTHS_FR[month.month - 1]} {month.year}"


def _months(start: date, end: date) -> list[date]:
    months, current = [], start.replace(day=1)
    while current <= end:
        months.append(current)
        current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return months


def _whole_month(month: date, start: date, end: date) -> bool:
    """Whether the period ``start``–``end`` covers the whole of ``month`` (its first day)."""
    following = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return start <= month and end >= following - timedelta(days=1)


# --- means --------------------------------------------------------------------------------------

def _participations(scope: Scope, *columns, people: bool = True):
    """Participations of the scope's activities (joined to the beneficiaries when ``people``)."""
    query = (sa.select(*columns).select_from(Participation)
             .join(Activity, Activity.id == Participation.activity_id))
    if people:
        query = query.join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
    return query.where(scope.activity_clause())


IDENTIFIED = sa.case((sa.not_(Beneficiary.counted_per_participation), Participation.beneficiary_id))
ANONYMOUS = sa.case((Beneficiary.counted_per_participation, 1), else_=0)


def beneficiaries_expr():
    """Distinct followed people plus anonymous participations (the national rule)."""
    return sa.func.count(sa.distinct(IDENTIFIED)) + sa.func.coalesce(sa.func.sum(ANONYMOUS), 0)


def raw_means(scope: Scope) -> Means:
    """The :class:`~mediation.stats.dashboard.Means` of the scope from the raw tables."""
    session = scope.session
    result = Means()
    month = month_start(Activity.date)
    for type_, activities in session.execute(
        sa.select(Activity.type, sa.func.count()).where(scope.activity_clause()).group_by(Activity.type)
    ):
        result.activities += activities
        if ActivityType(type_) == ActivityType.COLLECTIF:
            result.workshops += activities
    for structure_id, month_value, type_, accompaniments, anonymous, first in session.execute(
        _participations(scope, Activity.structure_id, month, Activity.type, sa.func.count(Participation.id),
                        sa.func.sum(ANONYMOUS), sa.func.sum(sa.case((Participation.first_accompaniment, 1), else_=0)))
        .group_by(Activity.structure_id, month, Activity.type)
    ):
        month_value = as_date(month_value)
        result.accompaniments += accompaniments
        if ActivityType(type_) == ActivityType.INDIVIDUEL:
            result.individual_accompaniments += accompaniments
        else:
            result.workshop_participants += accompaniments
        result.anonymous_beneficiaries += anonymous or 0
        result.new_beneficiaries += first or 0
        result.by_month[month_value] = result.by_month.get(month_value, 0) + accompaniments
        result.by_structure[structure_id] = result.by_structure.get(structure_id, 0) + accompaniments
    from mediation.cases.models import ActivityThematique

    for code, accompaniments in session.execute(
        _participations(scope, ActivityThematique.code, sa.func.count(Participation.id))
        .join(ActivityThematique, ActivityThematique.activity_id == Activity.id).group_by(ActivityThematique.code)
    ):
        result.by_thematique[code] = accompaniments
    result.followed_beneficiaries = session.scalar(
        _participations(scope, sa.func.count(sa.distinct(Participation.beneficiary_id)))
        .where(sa.not_(Beneficiary.counted_per_participation))) or 0
    result.by_month = dict(sorted((k, v) for k, v in result.by_month.items() if v))
    result.by_thematique = dict(sorted(((k, v) for k, v in result.by_thematique.items() if v),
                                       key=lambda kv: (-kv[1], kv[0])))
    result.by_structure = dict(sorted((k, v) for k, v in result.by_structure.items() if v))
    return result


def scope_means(scope: Scope) -> tuple[Means, str]:
    """The means of the scope and where they come from (``"rollups"`` or ``"raw"``). From the
    rollups, the people followed are those of :func:`person_profile` (the same rows, counted once
    for both: the means and the profile's tables then add up to the same people by construction)."""
    restrictions = scope.rollup_ids()
    if restrictions is None:
        return raw_means(scope), "raw"
    from mediation.stats.dashboard import means

    result = means(scope.session, scope.start, scope.end, count_people=False, **restrictions)
    person_profile(scope)
    result.followed_beneficiaries = scope.cache["people_counts"][0]
    return result, "rollups"


def _hours(scope: Scope) -> float:
    activity_profile(scope)
    return scope.cache["hours"]


def activity_profile(scope: Scope) -> list[tuple]:
    """Accompagnements per (canal, duration bucket): the canal and duration breakdowns in one
    query (``participants_count`` is the number of live participations, the stats weight), which
    also gives the hours and the filled shares of the individual accompaniments' optional fields
    (data quality); from ``activity_profile_rollups`` when the filter allows it (whole months, the
    days at the edges from the activities), else from the scope's activities."""
    if "activity_profile" not in scope.cache:
        ids = scope.rollup_ids()
        if ids is None:
            rows = _activity_rows_raw(scope)
        else:
            from mediation.stats.people import activity_profile as from_rollups

            rows = from_rollups(scope.session, scope.start, scope.end, duration_bucket_expr, **ids)
        scope.cache["activity_profile"] = [(r[0], r[1], r[2] or 0) for r in rows]
        scope.cache["hours"] = sum(r[3] or 0 for r in rows) / 60
        scope.cache["individual_quality"] = tuple(sum(r[i] or 0 for r in rows) for i in (4, 5, 6))
    return scope.cache["activity_profile"]


def _activity_rows_raw(scope: Scope) -> list[tuple]:
    """(canal, duration band, accompagnements, minutes, individual sessions, with autonomie, with
    matériel) from the scope's activities."""
    bucket = duration_bucket_expr()
    individual = Activity.type == ActivityType.INDIVIDUEL
    filled = lambda condition: sa.func.sum(sa.case((sa.and_(individual, condition), 1), else_=0))  # noqa: E731
    return list(scope.session.execute(
        sa.select(Activity.place_type, bucket.label("bucket"), sa.func.sum(Activity.participants_count),
                  sa.func.sum(Activity.duration_min), sa.func.sum(sa.case((individual, 1), else_=0)),
                  filled(Activity.autonomie.is_not(None)), filled(sa.func.json_array_length(Activity.materiel) > 0))
        .where(scope.activity_clause()).group_by(Activity.place_type, bucket)))


def person_profile(scope: Scope) -> list[dict]:
    """Accompagnements and beneficiaries (distinct followed people plus anonymous participations)
    by genre, by age band, by statut and by commune of residence: four dicts, value →
    (accompagnements, beneficiaries). These are attributes of the person, so each person falls
    under one value of each and the breakdowns are exact: the genre, age and statut tables, the
    residents per commune and the data-quality shares.

    Each identified person's accompagnements in scope are counted first (from the rollups when the
    filter allows it, else one pass over the scope's participations), then grouped by the person's
    current attributes and by « accompanied at least twice »: the same statement gives the people
    counts of the outcomes (:func:`outcomes.people_counts`). Anonymous people come grouped by
    profile already (their rollup, or the same pass)."""
    if "person_profile" not in scope.cache:
        ids = scope.rollup_ids()
        identified, anonymous = _person_rows_raw(scope) if ids is None else _person_rows_from_rollups(scope, ids)
        profile: list[dict] = []
        for people, accompaniments in zip(identified, anonymous, strict=False):
            by_value: dict = defaultdict(lambda: [0, 0])
            for value, (n, persons) in people.items():
                by_value[value][0] += n
                by_value[value][1] += persons
            # Anonymous people: each participation counts as one beneficiary (the national rule).
            for value, n in accompaniments.items():
                by_value[value][0] += n
                by_value[value][1] += n
            profile.append({value: tuple(cell) for value, cell in by_value.items()})
        twice = identified[-1]
        scope.cache["person_profile"] = profile
        scope.cache["people_counts"] = (sum(persons for _, persons in twice.values()), twice.get(True, (0, 0))[1])
    return scope.cache["person_profile"]


def _person_attributes(scope: Scope) -> tuple:
    """Genre, age band, statut (their stored values, as plain strings: turning each value into an
    enum member cost more than the grouping) and commune."""
    return (sa.type_coerce(sa.func.coalesce(Beneficiary.genre, Genre.NON_COMMUNIQUE.value), sa.String),
            sa.type_coerce(tranche_age_sql(scope.end.year), sa.String),
            sa.type_coerce(sa.func.coalesce(Beneficiary.statut_social, StatutSocial.NON_COMMUNIQUE.value), sa.String),
            Beneficiary.residence_commune_id)


def _person_rows_raw(scope: Scope) -> tuple[list[dict], list[dict]]:
    """(identified, anonymous) as :func:`_person_rows_from_rollups` gives them, from one pass over
    the scope's participations, counted per person then grouped by each of the person's attributes."""
    from mediation.stats.people import marginals

    per_person = (sa.select(Participation.beneficiary_id.label("person"), sa.func.count().label("n"))
                  .select_from(Participation).join(Activity, Activity.id == Participation.activity_id)
                  .where(scope.activity_clause()).group_by(Participation.beneficiary_id).subquery("per_person"))
    keys = ["genre", "age", "statut", "commune", "twice"]
    rows = (sa.select(*[a.label(k) for a, k in zip(_person_attributes(scope), keys, strict=False)],
                      (per_person.c.n >= 2).label("twice"), Beneficiary.counted_per_participation.label("anonymous"),
                      per_person.c.n)
            .select_from(per_person).join(Beneficiary, Beneficiary.id == per_person.c.person))
    found = marginals(scope.session, rows, keys, lambda c: [sa.func.sum(c.n), sa.func.count()], by=["anonymous"])
    identified = [{value: (int(n), persons) for (value, anonymous), (n, persons) in by_value.items() if not anonymous}
                  for by_value in found]
    anonymous = [{value: int(n) for (value, anonymous), (n, _) in by_value.items() if anonymous}
                 for by_value in found[:-1]]
    return identified, anonymous


def _person_rows_from_rollups(scope: Scope, restrictions: dict) -> tuple[list[dict], list[dict]]:
    """The identified people by each attribute and by « accompanied at least twice » (value →
    (accompagnements, people)) from ``beneficiary_month_rollups`` (one row per person and cell)
    joined to their current record; the anonymous accompagnements by each attribute from
    ``anonymous_profile_rollups``; the days at the edges of the period from the raw tables."""
    from mediation.stats import people

    return (people.identified_profile(scope.session, scope.start, scope.end, _person_attributes(scope), **restrictions),
            people.anonymous_profile(scope.session, scope.start, scope.end, **restrictions))


def _beneficiaries(profile: dict) -> dict:
    return {value: beneficiaries for value, (_, beneficiaries) in profile.items()}


def _marginal(rows, index: int, value_index: int) -> dict:
    totals: dict = defaultdict(int)
    for row in rows:
        totals[row[index]] += row[value_index] or 0
    return totals


def duration_bucket_expr(duration=Activity.duration_min):
    """The duration band (its key in ``DURATION_BUCKETS``) of a duration column, in minutes."""
    whens = [(duration < high, sa.literal(key)) for key, _, _, high in DURATION_BUCKETS if high]
    return sa.case(*whens, else_=sa.literal(DURATION_BUCKETS[-1][0]))


def means_section(scope: Scope, threshold: int) -> tuple[Section, Means]:
    means, source = scope_means(scope)
    beneficiaries = means.beneficiaries
    ind = definitions.INDICATORS
    section = Section("moyens", "Moyens : l'activité des médiateurs",
                      "Les accompagnements comptent comme l'outil national : un atelier de 10 participants compte pour "
                      "10 accompagnements.")
    section.figures += [
        results.count_figure("moyens.accompagnements", ind["moyens.accompagnements"].label, means.accompaniments,
                             threshold, "accompagnements"),
        results.count_figure("moyens.accompagnements_individuels", ind["moyens.accompagnements_individuels"].label,
                             means.individual_accompaniments, threshold, "accompagnements"),
        results.count_figure("moyens.participants_ateliers", ind["moyens.participants_ateliers"].label,
                             means.workshop_participants, threshold, "accompagnements"),
        results.count_figure("moyens.ateliers", ind["moyens.ateliers"].label, means.workshops, threshold, "ateliers"),
        results.count_figure("moyens.beneficiaires", ind["moyens.beneficiaires"].label, beneficiaries, threshold,
                             "personnes", detail=f"dont {method.fmt_number(means.anonymous_beneficiaries)} "
                             "participations anonymes" if not method.is_small(means.anonymous_beneficiaries,
                                                                              threshold) else ""),
        results.count_figure("moyens.nouveaux_beneficiaires", ind["moyens.nouveaux_beneficiaires"].label,
                             means.new_beneficiaries, threshold, "personnes"),
        results.number_figure("moyens.heures", ind["moyens.heures"].label, _hours(scope), "heures"),
    ]
    months = _months(scope.start, scope.end)
    partial = {m for m in months if not _whole_month(m, scope.start, scope.end)}
    series = results.series_table(
        "moyens.par_mois", "moyens.accompagnements", "Accompagnements par mois", "Mois",
        [(m.isoformat(), month_label(m) + (" (partiel)" if m in partial else ""), means.by_month.get(m, 0))
         for m in months], threshold,
        note="« (partiel) » : mois que la période ne couvre qu'en partie ; son total n'est pas comparable à celui "
             "d'un mois entier." if partial else None)
    for row in series.rows:
        row.partial = row.key is not None and date.fromisoformat(row.key) in partial
    section.tables.append(series)
    section.tables.append(results.breakdown_table(
        "moyens.par_thematique", "moyens.accompagnements", "Accompagnements par thématique", "Thématique",
        [(code, thematique_label(code), count) for code, count in means.by_thematique.items()], threshold,
        base=means.accompaniments, note="Une activité peut avoir plusieurs thématiques : les parts ne s'additionnent "
        "pas à 100 %."))
    places = _marginal(activity_profile(scope), 0, 2)
    section.tables.append(results.breakdown_table(
        "moyens.par_canal", "moyens.accompagnements", "Accompagnements par canal", "Canal",
        [(p.value, p.label, places.get(p.value, places.get(p, 0))) for p in PlaceType], threshold))
    durations = _marginal(activity_profile(scope), 1, 2)
    section.tables.append(results.breakdown_table(
        "moyens.par_duree", "moyens.accompagnements", "Accompagnements par durée de l'activité", "Durée",
        [(key, label, durations.get(key, 0)) for key, label, _, _ in DURATION_BUCKETS], threshold))
    structures = _structure_names(scope, means.by_structure)
    section.tables.append(results.breakdown_table(
        "moyens.par_structure", "moyens.accompagnements", "Accompagnements par structure", "Structure",
        sorted([(str(sid), structures[sid][0], count) for sid, count in means.by_structure.items()],
               key=lambda r: (-r[2], r[1])), threshold))
    by_commune: dict[tuple, int] = defaultdict(int)
    commune_parts: dict[str, list[str]] = defaultdict(list)
    for sid, count in means.by_structure.items():
        by_commune[structures[sid][1:]] += count
        commune_parts[structures[sid][2]].append(str(sid))
    communes_table = results.breakdown_table(
        "moyens.par_commune", "moyens.accompagnements", "Accompagnements par commune de la structure", "Commune",
        sorted([(insee, name, count) for (name, insee), count in by_commune.items()], key=lambda r: (-r[2], r[1])),
        threshold)
    # A commune's row is the sum of its structures' rows: one more equation between the two tables.
    communes_table.parts_of, communes_table.parts = "moyens.par_structure", dict(commune_parts)
    section.tables.append(communes_table)
    genre, ages, statut, _ = (_beneficiaries(by_value) for by_value in person_profile(scope))
    section.tables.append(results.breakdown_table(
        "moyens.par_genre", "moyens.beneficiaires", "Bénéficiaires par genre", "Genre",
        [(g.value, g.label, genre.get(g.value, 0)) for g in Genre], threshold, count_label="Bénéficiaires"))
    section.tables.append(results.breakdown_table(
        "moyens.par_age", "moyens.beneficiaires", f"Bénéficiaires par tranche d'âge (âge en {scope.end.year})",
        "Tranche d'âge", [(t.value, t.label, ages.get(t.value, 0)) for t in TrancheAge], threshold,
        count_label="Bénéficiaires"))
    section.tables.append(results.breakdown_table(
        "moyens.par_statut", "moyens.beneficiaires", "Bénéficiaires par statut", "Statut",
        [(s.value, s.label, statut.get(s.value, 0)) for s in StatutSocial], threshold, count_label="Bénéficiaires"))
    section.source = source
    scope.cache["means"] = means
    return section, means


def _structure_names(scope: Scope, ids) -> dict[int, tuple[str, str, str]]:
    """structure id → (name, commune name, commune INSEE); read once per scope for the same ids."""
    ids = sorted(ids)
    if not ids:
        return {}
    key = ("structure_names", tuple(ids))
    if key not in scope.cache:
        scope.cache[key] = {sid: (name, commune, insee) for sid, name, commune, insee in scope.session.execute(
            sa.select(Structure.id, Structure.name, Commune.name, Commune.insee_code)
            .join(Commune, Commune.id == Structure.commune_id).where(Structure.id.in_(ids)))}
    return scope.cache[key]


# --- comparison ---------------------------------------------------------------------------------

def comparison_section(scope: Scope, dimension: str, threshold: int) -> Section:
    """Communes, structures or mediators side by side (coordinators and administrators)."""
    if dimension == "communes":
        unit = Commune.id
        label = Commune.name
        joins = [(Structure, Structure.id == Activity.structure_id), (Commune, Commune.id == Structure.commune_id)]
    elif dimension == "structures":
        unit, label, joins = Structure.id, Structure.name, [(Structure, Structure.id == Activity.structure_id)]
    else:
        unit = User.id
        label = (User.first_name + " " + User.last_name)
        joins = [(User, User.id == Activity.mediator_id)]

    session = scope.session
    ids = scope.rollup_ids()
    if ids is None:
        per_unit = _units_raw(scope, unit, label, joins)
    else:
        from mediation.stats.people import per_unit as units_from_rollups

        figures = units_from_rollups(session, dimension, scope.start, scope.end, **ids)
        names = dict(session.execute(sa.select(unit, label).where(unit.in_(list(figures)))).all()) if figures else {}
        per_unit = {key: [names[key], acc, people + anonymous, first, workshops, minutes]
                    for key, (acc, people, anonymous, first, workshops, minutes) in figures.items()}
    items = []
    for key, (name, acc, ben, new, workshops, minutes) in sorted(per_unit.items(),
                                                                key=lambda kv: (-kv[1][1], kv[1][0], kv[0])):
        items.append((str(key), name, [acc, ben, new or 0, workshops or 0, (minutes or 0) / 60,
                                       acc / ben if ben else None]))
    means = scope.cache.get("means") or scope_means(scope)[0]
    acc, ben = means.accompaniments, means.beneficiaries
    totals = [acc, ben, means.new_beneficiaries, means.workshops, _hours(scope), acc / ben if ben else None]
    title = COMPARE_DIMENSIONS[dimension]
    section = Section("comparaison", f"Comparaison : {title.lower()}",
                      "Une même personne accompagnée dans deux unités compte dans chacune : les bénéficiaires ne "
                      "s'additionnent pas.")
    section.tables.append(results.comparison_table(
        f"comparaison.{dimension}", "moyens.accompagnements", f"Indicateurs par {title[:-1].lower()}",
        title[:-1], ["Accompagnements", "Bénéficiaires", "Nouveaux bénéficiaires", "Ateliers", "Heures",
                     "Accompagnements par bénéficiaire"], items, threshold, count_columns=[0, 1, 2, 3],
        totals=totals, digits={4: 0, 5: 1}, ratio_of={4: 0, 5: 1},
        # A person accompanied in two units counts in both: the beneficiaries do not add up.
        additive=[0, 2, 3], derived={4: (0,), 5: (0, 1)}))
    return section


def _units_raw(scope: Scope, unit, label, joins) -> dict:
    """unit → [name, accompagnements, beneficiaries, first accompaniments, workshops, minutes] from
    the scope's participations and activities (units with at least one accompagnement)."""
    def grouped(query):
        for table, on in joins:
            query = query.join(table, on)
        return query.group_by(unit, label)

    session = scope.session
    per_unit = {key: [name, acc, ben, new, 0, 0] for key, name, acc, ben, new in session.execute(grouped(_participations(
        scope, unit, label, sa.func.count(Participation.id), beneficiaries_expr(),
        sa.func.sum(sa.case((Participation.first_accompaniment, 1), else_=0)))))}
    activity_query = sa.select(unit, label, sa.func.sum(sa.case((Activity.type == ActivityType.COLLECTIF, 1),
                                                                 else_=0)),
                               sa.func.sum(Activity.duration_min)).where(scope.activity_clause())
    for key, _, workshops, minutes in session.execute(grouped(activity_query)):
        if key in per_unit:
            per_unit[key][4:] = [workshops, minutes]
    return per_unit


# --- coverage -----------------------------------------------------------------------------------

def coverage_section(scope: Scope, means: Means, threshold: int) -> Section:
    """Activity and residents accompanied per commune against population; communes without a
    structure or without activity (maillage, angles morts)."""
    session = scope.session
    territory = scope.territory()
    communes_query = sa.select(Commune.id, Commune.name, Commune.insee_code, Commune.population).order_by(Commune.name)
    if territory is not None:
        communes_query = communes_query.where(Commune.territory_id == territory.id)
    else:
        structures = scope.structure_ids()
        covered = sa.select(Structure.commune_id)
        if scope.programme is not None:  # without a programme every structure is covered (no list of ids)
            covered = covered.where(Structure.id.in_(scope.covered_structure_ids()))
        if structures is not None:
            covered = covered.where(Structure.id.in_(structures))
        communes_query = communes_query.where(Commune.id.in_(covered))
    communes = list(session.execute(communes_query))
    ids = [c.id for c in communes]
    structure_counts = dict(session.execute(
        sa.select(Structure.commune_id, sa.func.count()).where(Structure.archived_at.is_(None),
                                                               Structure.commune_id.in_(ids or [-1]))
        .group_by(Structure.commune_id)).all())
    names = _structure_names(scope, means.by_structure)
    insee_to_id = {c.insee_code: c.id for c in communes}
    accompaniments: dict[int, int] = defaultdict(int)
    for sid, count in means.by_structure.items():
        commune_id = insee_to_id.get(names[sid][2])
        if commune_id is not None:
            accompaniments[commune_id] += count
    residents = _beneficiaries(person_profile(scope)[3])
    items = []
    for c in communes:
        acc, res, pop = accompaniments.get(c.id, 0), residents.get(c.id, 0), c.population
        items.append((c.insee_code, c.name, [pop, structure_counts.get(c.id, 0), acc, res,
                                             1000 * acc / pop if pop else None, 1000 * res / pop if pop else None]))
    ind = definitions.INDICATORS
    section = Section("maillage", "Maillage du territoire" + (f" : {territory.name}" if territory else ""),
                      "Accompagnements réalisés par les structures de chaque commune et bénéficiaires qui y résident, "
                      "rapportés à la population.")
    table = results.comparison_table(
        "maillage.communes", "maillage.communes", "Activité par commune", "Commune",
        ["Population", "Structures", "Accompagnements", "Bénéficiaires résidents", "Accompagnements pour 1 000 hab.",
         "Résidents accompagnés pour 1 000 hab."], items, threshold, count_columns=[2, 3],
        digits={4: 1, 5: 1}, ratio_of={4: 2, 5: 3}, derived={4: (2,), 5: (3,)})
    table.chart = "bar"
    table.chart_column = 4
    # Population and structures are public: shown as they are.
    for row, (_, _, values) in zip(table.rows, items, strict=True):
        row.cells[0] = results.Cell(values[0], method.fmt_number(values[0]))
        row.cells[1] = results.Cell(values[1], method.fmt_number(values[1]))
    section.tables.append(table)
    without_structure = sum(1 for c in communes if not structure_counts.get(c.id))
    without_activity = sum(1 for c in communes if not accompaniments.get(c.id))
    section.figures += [
        results.number_figure("maillage.communes_sans_structure", ind["maillage.communes_sans_structure"].label,
                              without_structure, "communes", detail=f"sur {len(communes)} communes"),
        results.number_figure("maillage.communes_sans_activite", ind["maillage.communes_sans_activite"].label,
                              without_activity, "communes", detail=f"sur {len(communes)} communes"),
    ]
    return section


# --- data quality -------------------------------------------------------------------------------

def quality_section(scope: Scope, threshold: int) -> Section:
    """Share of records with each optional field filled, so readers know how far to trust a
    breakdown."""
    unknown = (Genre.NON_COMMUNIQUE.value, TrancheAge.NON_COMMUNIQUE.value, StatutSocial.NON_COMMUNIQUE.value, None)
    # Filled: every accompagnement but those of the unknown value of each attribute.
    total = sum(n for n, _ in person_profile(scope)[0].values())
    genre, age, statut, commune = (total - by_value.get(missing, (0, 0))[0]
                                   for by_value, missing in zip(person_profile(scope), unknown, strict=True))
    activity_profile(scope)
    n_individual, autonomie, materiel = scope.cache["individual_quality"]
    items = [
        ("genre", "Genre du bénéficiaire (accompagnements)", genre, total),
        ("tranche_age", "Tranche d'âge du bénéficiaire (accompagnements)", age, total),
        ("statut", "Statut du bénéficiaire (accompagnements)", statut, total),
        ("commune", "Commune de résidence du bénéficiaire (accompagnements)", commune, total),
        ("autonomie", "Niveau d'autonomie (accompagnements individuels)", autonomie, n_individual),
        ("materiel", "Matériel utilisé (accompagnements individuels)", materiel, n_individual),
    ]
    from mediation.evaluation import outcomes

    items += outcomes.quality_items(scope)
    section = Section("qualite", "Qualité des données",
                      "Part des enregistrements où chaque champ facultatif est renseigné.")
    section.tables.append(results.rate_table(
        "qualite.champs", "qualite.champs", "Champs renseignés", "Champ", items, threshold,
        n_label="Enregistrements", k_label="Renseignés", total=False, chart=None, interval=False))
    return section


# --- the dashboard ------------------------------------------------------------------------------

def compute_dashboard(scope: Scope, *, threshold: int | None = None, compare: str | None = None) -> Dashboard:
    """Every family for the scope (plus a comparison when asked and allowed)."""
    from mediation.evaluation import outcomes

    threshold = threshold or suppression_threshold()
    means_sec, means = means_section(scope, threshold)
    sections = [means_sec, outcomes.outputs_section(scope, threshold),
                outcomes.outcomes_section(scope, means, threshold), coverage_section(scope, means, threshold)]
    if compare in COMPARE_DIMENSIONS:
        sections.append(comparison_section(scope, compare, threshold))
    sections.append(quality_section(scope, threshold))
    codes = {f.code for s in sections for f in s.figures} | {t.indicator for s in sections for t in s.tables}
    used = [i for i in definitions.INDICATORS.values() if i.code in codes]
    filters = scope.describe()
    dashboard = Dashboard(filters, scope.filter.query_args(), sections, threshold, utcnow(), used)
    # Every figure and table of the output protected together (the same set is printed by the
    # dashboard, the PDF, the spreadsheets, the open data and the API).
    disclosure.protect_dashboard(dashboard)
    from mediation.evaluation import observatoire

    dashboard.observatoire = observatoire.build(scope.session, dashboard)
    if scope.empty:
        filters.append(("Attention", "la période choisie ne recoupe pas celle du programme : aucun chiffre."))
    return dashboard


def period_label(scope: Scope) -> str:
    return f"du {fmt_date(scope.start)} au {fmt_date(scope.end)}"
