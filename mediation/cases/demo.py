"""Demo data for cases: a year of realistic activity for the demo métropole.

Followed and anonymous beneficiaries, individual sessions and workshops (about one activity in
five) across the demo mediators and structures, with seasons (quiet summer and Christmas, busy
autumn, tax season in spring), thématiques that match each kind of structure, and cases in every
state. Rows are bulk-inserted; ``first_accompaniment`` and ``accompaniments_count`` are then
recomputed by the same functions as the services, so they are exactly right.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.auth.models import Role
from mediation.cases import services
from mediation.cases.activities import COUNTED_AGES, COUNTED_GENRES, COUNTED_STATUTS
from mediation.cases.enums import (
    ActivityType,
    Autonomie,
    CaseState,
    ClosureReason,
    ConsentScope,
    EquipmentKind,
    Genre,
    Materiel,
    NiveauAtelier,
    PlaceType,
    StatutSocial,
    StructureRedirection,
)
from mediation.cases.models import (
    Activity,
    ActivityThematique,
    Beneficiary,
    Case,
    CaseNote,
    Consent,
    Participation,
)
from mediation.directory.models import Commune, StaffMembership
from mediation.types import local_today

FIRST_NAMES_F = ["Marie", "Monique", "Jacqueline", "Fatima", "Nathalie", "Sylvie", "Chantal", "Aïcha", "Isabelle",
                 "Françoise", "Christine", "Nadia", "Sandrine", "Yasmina", "Léa", "Manon", "Océane", "Josiane",
                 "Martine", "Brigitte", "Khadija", "Ginette", "Odette", "Amandine"]
FIRST_NAMES_M = ["Jean", "Michel", "Alain", "Mohamed", "Bernard", "Patrick", "Gérard", "Karim", "Philippe",
                 "Daniel", "René", "Mamadou", "Thierry", "Pascal", "Lucas", "Kevin", "Ahmed", "Roger", "Claude",
                 "Marcel", "Youssef", "Christian", "Dylan", "Serge"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
              "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
              "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François",
              "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry",
              "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez",
              "Fontaine", "Chevalier", "Robin", "Masson", "Sanchez", "Benali", "Diallo", "Traoré", "Nguyen",
              "Haddad", "Cohen", "Boucher", "Lemaire", "Renaud", "Lecomte", "Duval", "Lemoine"]

# Monthly activity factor: busy autumn and late winter, quiet summer and Christmas.
SEASON = {1: 1.05, 2: 1.1, 3: 1.2, 4: 1.15, 5: 0.9, 6: 0.9, 7: 0.5, 8: 0.3, 9: 1.2, 10: 1.3, 11: 1.2, 12: 0.7}

# Thématique weights per kind of structure (typology), démarche weights on their own.
BASE_THEMES = {
    "navigation_sur_internet": 9, "email": 10, "prendre_en_main_du_materiel": 10, "bureautique": 5,
    "gerer_ses_contenus_numeriques": 5, "securite_numerique": 5, "reseaux_sociaux": 3, "sante": 4,
    "banque_et_achats_en_ligne": 4, "maintenance_de_materiel": 2, "diagnostic_numerique": 4,
    "insertion_professionnelle": 3, "parentalite": 1, "scolarite_et_numerique": 2, "creer_avec_le_numerique": 1,
    "culture_numerique": 2, "intelligence_artificielle": 1, "entrepreneuriat": 1,
    "aide_aux_demarches_administratives": 6,
}
THEME_BOOST = {
    "RFS": {"aide_aux_demarches_administratives": 30, "email": 6},
    "CCAS": {"aide_aux_demarches_administratives": 25, "sante": 6, "banque_et_achats_en_ligne": 4},
    "BIB": {"culture_numerique": 6, "creer_avec_le_numerique": 5, "intelligence_artificielle": 4},
    "EPN": {"bureautique": 8, "insertion_professionnelle": 8},
    "CS": {"parentalite": 8, "scolarite_et_numerique": 8},
    "ASSO": {"maintenance_de_materiel": 8, "securite_numerique": 6, "diagnostic_numerique": 5},
    "TIERS_LIEUX": {"creer_avec_le_numerique": 10, "intelligence_artificielle": 6},
    "MUNI": {"aide_aux_demarches_administratives": 20},
}
DEMARCHES = {"social_sante": 8, "papiers_elections_citoyennete": 7, "argent_impots": 6, "travail_formation": 6,
             "famille_scolarite": 5, "logement": 5, "transports_mobilite": 2, "etrangers_europe": 2, "justice": 1,
             "loisirs_sports_culture": 1, "associations": 1}
DEMARCHE_NAMES = {"social_sante": ["Compte ameli", "Complémentaire santé solidaire", "Mon espace santé"],
                  "papiers_elections_citoyennete": ["Carte d’identité", "Permis de conduire", "Carte grise"],
                  "argent_impots": ["Déclaration de revenus", "Prélèvement à la source"],
                  "travail_formation": ["Inscription France Travail", "Compte CPF"],
                  "famille_scolarite": ["Prime d’activité", "EduConnect"], "logement": ["Demande d’APL"]}
WORKSHOPS = [
    ("Premiers pas sur tablette", ["prendre_en_main_du_materiel"], NiveauAtelier.DEBUTANT),
    ("Créer et gérer sa boîte mail", ["email"], NiveauAtelier.DEBUTANT),
    ("Se protéger des arnaques en ligne", ["securite_numerique"], NiveauAtelier.DEBUTANT),
    ("Ranger ses photos et ses documents", ["gerer_ses_contenus_numeriques"], NiveauAtelier.INTERMEDIAIRE),
    ("Traitement de texte : le CV", ["bureautique", "insertion_professionnelle"], NiveauAtelier.INTERMEDIAIRE),
    ("Découvrir l’intelligence artificielle", ["intelligence_artificielle", "culture_numerique"],
     NiveauAtelier.INTERMEDIAIRE),
    ("Ameli et Mon espace santé", ["sante", "aide_aux_demarches_administratives", "social_sante"],
     NiveauAtelier.DEBUTANT),
    ("Parents : les écrans et l’ENT", ["parentalite", "scolarite_et_numerique"], NiveauAtelier.DEBUTANT),
    ("Retouche photo", ["creer_avec_le_numerique"], NiveauAtelier.AVANCE),
    ("Faire ses achats en ligne en sécurité", ["banque_et_achats_en_ligne", "securite_numerique"],
     NiveauAtelier.INTERMEDIAIRE),
]
NOTES = ["Revoir la création de mot de passe la prochaine fois.", "A apporté sa tablette personnelle.",
         "Souhaite revenir pour l’atelier sur la messagerie.", "Progrès nets depuis la dernière séance.",
         "Orienté(e) vers l’atelier collectif du mardi."]
CASE_NOTES = ["Premier entretien : objectif d’autonomie sur la messagerie.", "Point d’étape : à l’aise avec la tablette.",
              "Prévoir un rendez-vous pour la déclaration de revenus.", "Souhaite suivre les ateliers collectifs."]


def _weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _themes_for(rng: random.Random, typologies: list[str], day: date) -> list[str]:
    weights = dict(BASE_THEMES)
    for typology in typologies:
        for code, boost in THEME_BOOST.get(typology, {}).items():
            weights[code] = weights.get(code, 0) + boost
    codes = {_weighted(rng, weights)}
    if rng.random() < 0.35:
        codes.add(_weighted(rng, weights))
    if "aide_aux_demarches_administratives" in codes:
        demarches = dict(DEMARCHES)
        if day.month in (4, 5):
            demarches["argent_impots"] = 30  # tax season
        codes.add(_weighted(rng, demarches))
    return sorted(codes)


def _birth_year(rng: random.Random, today: date) -> int | None:
    if rng.random() < 0.1:
        return None
    age = _weighted(rng, {(70, 90): 25, (60, 69): 20, (40, 59): 25, (25, 39): 15, (18, 24): 8, (12, 17): 5, (8, 11): 2})
    return today.year - rng.randint(*age)


def _statut(rng: random.Random, birth_year: int | None, today: date) -> StatutSocial | None:
    if birth_year is None:
        return rng.choice([None, StatutSocial.NON_COMMUNIQUE])
    age = today.year - birth_year
    if age < 18:
        return StatutSocial.SCOLARISE
    if age >= 63:
        return StatutSocial.RETRAITE
    return _weighted(rng, {StatutSocial.EN_EMPLOI: 4, StatutSocial.SANS_EMPLOI: 5, StatutSocial.NON_COMMUNIQUE: 1})


def _created_at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(9, 17), rng.randint(0, 59)), tzinfo=UTC)


def _working_days(start: date, end: date):
    day = start
    while day <= end:
        if day.weekday() < 5 and not (day.month == 12 and day.day in (24, 25, 31)) and (day.month, day.day) not in {
                (1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11)}:
            yield day
        day += timedelta(days=1)


def _insert(session: Session, model, rows: list[dict]) -> list[int]:
    """Bulk insert with ids assigned here (one batched statement, no RETURNING row by row), then the
    PostgreSQL sequence moved past them. The demo loader is the only writer at that moment."""
    if not rows:
        return []
    start = (session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
    keys = set().union(*rows)
    ids = list(range(start, start + len(rows)))
    session.execute(sa.insert(model.__table__), [{k: row.get(k) for k in keys} | {"id": i} for row, i in zip(rows, ids, strict=True)])
    if session.get_bind().dialect.name == "postgresql":
        table = model.__tablename__
        session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :last)"),  # noqa: S608
                        {"last": ids[-1]})
    return ids


def load_cases_demo(session: Session, *, territory, structures, users, today: date | None = None,
                    seed: int = 2026, scale: float = 1.0) -> dict:
    """Create a year of activity ending yesterday; returns counts (for the CLI and the tests)."""
    rng = random.Random(seed)  # noqa: S311 - demo data
    today = today or local_today()
    end = today - timedelta(days=1)
    start = end - timedelta(days=364)
    communes = list(session.scalars(sa.select(Commune).where(Commune.territory_id == territory.id)))
    structure_by_id = {s.id: s for s in structures}
    mediators = [u for u in users if u.role == Role.MEDIATOR]
    memberships = defaultdict(list)
    for m in session.scalars(sa.select(StaffMembership).where(StaffMembership.ended_on.is_(None),
                                                              StaffMembership.user_id.in_([u.id for u in mediators]))
                             .order_by(StaffMembership.started_on)):
        memberships[m.user_id].append(m.structure_id)
    mediators = [u for u in mediators if memberships[u.id]]
    now = datetime.now(UTC)

    def commune_near(structure):
        return structure.commune_id if rng.random() < 0.65 else rng.choice(communes).id

    # 1. Followed beneficiaries: a pool per mediator, held by their first structure.
    person_rows, pools = [], {}
    for mediator in mediators:
        pools[mediator.id] = []
        for _ in range(int(rng.randint(35, 55) * scale)):
            structure = structure_by_id[memberships[mediator.id][0]]
            genre = rng.choice([Genre.FEMININ, Genre.FEMININ, Genre.MASCULIN, Genre.MASCULIN, None])
            first = rng.choice(FIRST_NAMES_F if genre == Genre.FEMININ or (genre is None and rng.random() < .5)
                               else FIRST_NAMES_M)
            last = rng.choice(LAST_NAMES)
            birth_year = _birth_year(rng, today)
            has_phone = rng.random() < 0.7
            person_rows.append({
                "owner_structure_id": structure.id, "created_by_id": mediator.id, "anonymous": False,
                "random_attributes": False, "first_name": first, "last_name": last,
                "email": f"{first}.{last}@exemple.test".lower().replace(" ", "") if rng.random() < 0.3 else None,
                "phone": f"06{rng.randint(10_000_000, 99_999_999)}" if has_phone else None,
                "no_phone": not has_phone and rng.random() < 0.5, "birth_year": birth_year,
                "residence_commune_id": commune_near(structure) if rng.random() < 0.9 else None,
                "genre": genre, "statut_social": _statut(rng, birth_year, today),
                "notes": "Préfère être contacté(e) le matin." if rng.random() < 0.1 else None,
                "created_at": _created_at(start, rng), "updated_at": now,
            })
            pools[mediator.id].append(len(person_rows) - 1)
    person_ids = _insert(session, Beneficiary, person_rows)
    for mediator_id, indexes in pools.items():
        pools[mediator_id] = [person_ids[i] for i in indexes]
    regulars = {mid: set(rng.sample(pool, k=max(1, len(pool) // 4))) for mid, pool in pools.items()}

    # 2. Activities, day by day.
    activity_rows, theme_rows, participants, anonymous_rows = [], [], [], []
    first_seen: dict[int, date] = {}
    last_seen: dict[int, date] = {}
    for day in _working_days(start, end):
        factor = SEASON[day.month] * scale
        for mediator in mediators:
            structure_ids = memberships[mediator.id]
            n_individual = sum(1 for _ in range(4) if rng.random() < 0.3 * factor)
            n_workshop = 1 if rng.random() < 0.28 * factor else 0
            for kind in [ActivityType.INDIVIDUEL] * n_individual + [ActivityType.COLLECTIF] * n_workshop:
                structure = structure_by_id[structure_ids[0] if len(structure_ids) == 1 or rng.random() < 0.7
                                            else rng.choice(structure_ids)]
                place = _weighted(rng, {PlaceType.LIEU_ACTIVITE: 80, PlaceType.A_DISTANCE: 8,
                                        PlaceType.DOMICILE: 7, PlaceType.AUTRE: 5}
                                  if kind == ActivityType.INDIVIDUEL else {PlaceType.LIEU_ACTIVITE: 90,
                                                                           PlaceType.AUTRE: 10})
                row = {
                    "type": kind, "mediator_id": mediator.id, "created_by_id": mediator.id,
                    "structure_id": structure.id, "date": day, "place_type": place,
                    "place_structure_id": structure.id if place == PlaceType.LIEU_ACTIVITE else None,
                    "place_commune_id": None if place == PlaceType.LIEU_ACTIVITE else (
                        structure.commune_id if place == PlaceType.A_DISTANCE else rng.choice(communes).id),
                    "materiel": sorted(set(rng.choices([Materiel.ORDINATEUR.value, Materiel.TELEPHONE.value,
                                                        Materiel.TABLETTE.value], k=rng.randint(1, 2)))),
                    "created_at": _created_at(day, rng), "demarche_name": None, "notes": None,
                    "autonomie": None, "oriented": None, "redirection": None, "workshop_title": None,
                    "workshop_level": None, "equipment_kind": None, "equipment_count": None,
                }
                row["updated_at"] = row["created_at"]
                people: list[tuple[int | None, dict | None, bool]] = []
                if kind == ActivityType.INDIVIDUEL:
                    codes = _themes_for(rng, structure.typologies, day)
                    row["duration_min"] = _weighted(rng, {15: 10, 30: 30, 45: 25, 60: 25, 90: 7, 120: 3})
                    row["autonomie"] = rng.choice(list(Autonomie))
                    row["oriented"] = rng.random() < 0.08
                    if row["oriented"]:
                        row["redirection"] = rng.choice(list(StructureRedirection))
                    if rng.random() < 0.15:
                        row["notes"] = rng.choice(NOTES)
                    if rng.random() < 0.65:
                        pool = pools[mediator.id]
                        regular = list(regulars[mediator.id])
                        person = rng.choice(regular) if rng.random() < 0.5 else rng.choice(pool)
                        people.append((person, None, False))
                    else:
                        people.append((None, {
                            "residence_commune_id": commune_near(structure) if rng.random() < 0.6 else None,
                            "genre": rng.choice([Genre.FEMININ, Genre.MASCULIN, None]),
                            "tranche_age": rng.choice([*COUNTED_AGES, None]),
                            "statut_social": rng.choice([*COUNTED_STATUTS, None]), "random_attributes": False,
                        }, rng.random() < 0.6))
                else:
                    title, codes, level = rng.choice(WORKSHOPS)
                    row.update(workshop_title=title, workshop_level=level,
                               duration_min=_weighted(rng, {60: 3, 90: 4, 120: 3}))
                    followed = rng.sample(pools[mediator.id], k=min(rng.randint(0, 4), len(pools[mediator.id])))
                    people += [(p, None, False) for p in followed]
                    for _ in range(rng.randint(2, 9)):
                        people.append((None, {
                            "genre": rng.choice([*COUNTED_GENRES, COUNTED_GENRES[0], None]),
                            "tranche_age": rng.choice([*COUNTED_AGES[3:], None]),
                            "statut_social": rng.choice([*COUNTED_STATUTS, None]), "random_attributes": True,
                        }, rng.random() < 0.5))
                if "aide_aux_demarches_administratives" in codes:
                    named = [c for c in codes if c in DEMARCHE_NAMES]
                    if named and rng.random() < 0.6:
                        row["demarche_name"] = rng.choice(DEMARCHE_NAMES[named[0]])
                if rng.random() < (0.08 if "ASSO" in structure.typologies else 0.01) and kind == ActivityType.INDIVIDUEL:
                    row["equipment_kind"] = rng.choice(list(EquipmentKind))
                    row["equipment_count"] = 1
                row["participants_count"] = len(people)
                activity_rows.append(row)
                theme_rows.append(codes)
                participants.append(people)
                for person, _, _ in people:
                    if person is not None:
                        first_seen.setdefault(person, day)
                        last_seen[person] = day
    # Each mediator's latest individual session is at their place of activity, whatever day the demo
    # is loaded: the session form's defaults (the last session's place) are then the usual ones. The
    # random draws above shift with the calendar, and on some days the latest one was a remote
    # session, whose defaults made the demo's first session a different form.
    latest: dict[int, dict] = {}
    for row in activity_rows:
        if row["type"] == ActivityType.INDIVIDUEL and (
                row["mediator_id"] not in latest or row["created_at"] >= latest[row["mediator_id"]]["created_at"]):
            latest[row["mediator_id"]] = row
    for row in latest.values():
        row.update(place_type=PlaceType.LIEU_ACTIVITE, place_structure_id=row["structure_id"], place_commune_id=None)
    activity_ids = _insert(session, Activity, activity_rows)
    session.execute(sa.insert(ActivityThematique.__table__), [
        {"activity_id": aid, "code": code} for aid, codes in zip(activity_ids, theme_rows, strict=True)
        for code in codes])

    # 3. Anonymous people (one row per anonymous participation).
    for index, people in enumerate(participants):
        row = activity_rows[index]
        for _, values, _ in people:
            if values is not None:
                anonymous_rows.append({"owner_structure_id": row["structure_id"], "created_by_id": row["mediator_id"],
                                       "anonymous": True, "created_at": row["created_at"],
                                       "updated_at": row["created_at"], **values})
    anonymous_ids = iter(_insert(session, Beneficiary, anonymous_rows))

    # 4. Cases: one per followed person; state from how recently they came.
    case_rows, case_people = [], []
    for mediator in mediators:
        for person in pools[mediator.id]:
            seen = last_seen.get(person)
            opened = first_seen.get(person) or (end - timedelta(days=rng.randint(1, 300)))
            idle = (end - seen).days if seen else (end - opened).days
            if idle > 100 and rng.random() < 0.8:
                state, reason = CaseState.CLOSED, _weighted(rng, {
                    ClosureReason.AUTONOMIE_ATTEINTE: 40, ClosureReason.NE_VIENT_PLUS: 30, ClosureReason.ORIENTE: 15,
                    ClosureReason.DEMENAGEMENT: 10, ClosureReason.DECES: 2, ClosureReason.AUTRE: 3})
            elif idle > 45 and rng.random() < 0.5:
                state, reason = CaseState.PAUSED, None
            else:
                state, reason = CaseState.OPEN, None
            opened_at = _created_at(opened, rng)
            last_move = _created_at((seen or opened) + timedelta(days=rng.randint(20, 40)), rng)
            last_move = min(max(last_move, opened_at), now)
            case_rows.append({
                "beneficiary_id": person, "structure_id": memberships[mediator.id][0], "mediator_id": mediator.id,
                "created_by_id": mediator.id, "state": state, "opened_at": opened_at, "created_at": opened_at,
                "updated_at": last_move, "closure_reason": reason,
                "closed_at": last_move if state == CaseState.CLOSED else None,
                "paused_at": last_move if state == CaseState.PAUSED else None, "version": 1,
            })
            case_people.append(person)
    case_ids = _insert(session, Case, case_rows)
    case_of = dict(zip(case_people, case_ids, strict=True))

    # 5. Participations, linked to the person's case.
    participation_rows = []
    for activity_id, people in zip(activity_ids, participants, strict=True):
        for person, _values, already in people:
            if person is None:
                participation_rows.append({"activity_id": activity_id, "beneficiary_id": next(anonymous_ids),
                                           "case_id": None, "first_accompaniment": not already})
            else:
                participation_rows.append({"activity_id": activity_id, "beneficiary_id": person,
                                           "case_id": case_of[person], "first_accompaniment": False})
    # A followed person can appear once per activity only (workshop samples are distinct).
    session.execute(sa.insert(Participation.__table__), participation_rows)

    # 6. Consents, case notes, and the audit trail of the state changes shown on timelines.
    consent_rows, note_rows = [], []
    for row, case_id in zip(case_rows, case_ids, strict=True):
        if rng.random() < 0.75:
            consent_rows.append({"beneficiary_id": row["beneficiary_id"], "structure_id": row["structure_id"],
                                 "scope": ConsentScope.STRUCTURE, "given_at": row["opened_at"],
                                 "recorded_by_id": row["mediator_id"]})
            if rng.random() < 0.35:
                consent_rows.append({"beneficiary_id": row["beneficiary_id"], "structure_id": row["structure_id"],
                                     "scope": ConsentScope.RESEAU, "given_at": row["opened_at"],
                                     "recorded_by_id": row["mediator_id"]})
        if rng.random() < 0.3:
            note_rows.append({"case_id": case_id, "author_id": row["mediator_id"], "body": rng.choice(CASE_NOTES),
                              "created_at": row["opened_at"] + timedelta(days=rng.randint(0, 20))})
    session.execute(sa.insert(Consent.__table__), consent_rows)
    session.execute(sa.insert(CaseNote.__table__), [n | {"created_at": min(n["created_at"], now)} for n in note_rows])
    for row, case_id in zip(case_rows, case_ids, strict=True):
        if row["state"] == CaseState.OPEN:
            continue
        action = "case.closed" if row["state"] == CaseState.CLOSED else "case.paused"
        details = {"from": "ouvert", "to": row["state"].value}
        if row["closure_reason"]:
            details["reason"] = row["closure_reason"].value
        record(session, action, actor=row["mediator_id"], object_type="cases", object_id=case_id,
               structure_id=row["structure_id"], details=details, at=row["updated_at"])

    # 7. Derived counters, with the services' own recomputation.
    services.recompute_for(session, None)
    return {"beneficiaries": len(person_rows), "anonymous": len(anonymous_rows), "activities": len(activity_rows),
            "participations": len(participation_rows), "cases": len(case_rows)}

