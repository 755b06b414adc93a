"""Demo data: a métropole with real communes, structures of every kind, staff and one account per
role. Later domains extend it with ``extend_demo`` hooks (cases, pathways, badges…)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.auth.models import Role, User
from mediation.auth.services import enrol_totp_with_secret, hash_password
from mediation.directory.models import (
    Commune,
    CommuneNeed,
    StaffMembership,
    Structure,
    Territory,
    TerritoryKind,
)

COMMUNES = [
    # INSEE, name, postal code, population, lat, lon
    ("76540", "Rouen", "76000", 114083, 49.4431, 1.0993),
    ("76681", "Sotteville-lès-Rouen", "76300", 29553, 49.4097, 1.0900),
    ("76575", "Saint-Étienne-du-Rouvray", "76800", 28641, 49.3786, 1.1050),
    ("76322", "Le Grand-Quevilly", "76120", 25900, 49.4089, 1.0425),
    ("76498", "Le Petit-Quevilly", "76140", 22332, 49.4239, 1.0622),
    ("76451", "Mont-Saint-Aignan", "76130", 19413, 49.4631, 1.0892),
    ("76231", "Elbeuf", "76500", 16177, 49.2864, 1.0083),
    ("76157", "Canteleu", "76380", 14580, 49.4411, 1.0256),
]

# Communes of the territory without any place, added after the other domains' demos (no resident,
# no activity): the observatoire shows Duclair, of high need, more than 10 km from every place.
# Approximate centres.
COMMUNES_WITHOUT_PLACE = [
    ("76222", "Duclair", "76480", 3996, 49.4836, 0.8761),
    ("76116", "Boos", "76520", 3975, 49.3886, 1.2042),
]

# Need indicators of the observatoire: ILLUSTRATIVE values, made up for the demo (marked as such on
# the map): INSEE → (digital fragility index, share of people aged 75 and over %, poverty rate %).
ILLUSTRATIVE_NEEDS = {
    "76540": (104, 8.1, 22.4), "76681": (117, 9.6, 18.9), "76575": (131, 7.2, 27.5), "76322": (112, 9.9, 17.2),
    "76498": (127, 7.5, 29.1), "76451": (84, 6.8, 15.3), "76231": (138, 10.4, 30.2), "76157": (129, 8.8, 28.4),
    "76222": (135, 11.2, 14.8), "76116": (92, 9.1, 8.6),
}

STRUCTURES = [
    # name, commune INSEE, typologies, dispositifs, services, address, siret
    ("France Services Rouen Grammont", "76540", ["RFS"], ["France Services", "Aidants Connect", "Conseillers numériques"],
     ["Aide aux démarches administratives", "Maîtrise des outils numériques du quotidien"], "12 rue Henri Gadeau de Kerville", "21760540400011"),
    ("Médiathèque Simone-de-Beauvoir", "76540", ["BIB"], ["Conseillers numériques", "Bibliothèques numérique de référence"],
     ["Maîtrise des outils numériques du quotidien", "Compréhension du monde numérique"], "Place Saint-Sever", "21760540400029"),
    ("CCAS de Sotteville-lès-Rouen", "76681", ["CCAS"], ["Aidants Connect"],
     ["Aide aux démarches administratives", "Accès internet et matériel informatique"], "Place de l'Hôtel de Ville", "26760681900014"),
    ("Espace public numérique du Madrillet", "76575", ["EPN"], ["Conseillers numériques"],
     ["Maîtrise des outils numériques du quotidien", "Insertion professionnelle via le numérique"], "Rue Georges Braque", "21760575100015"),
    ("Centre social Jean-Jaurès", "76322", ["CS"], ["Conseillers numériques", "Point d'accès numérique CAF"],
     ["Parentalité et éducation avec le numérique", "Aide aux démarches administratives"], "6 avenue Jean Jaurès", "77889900100011"),
    ("Association Connexions Solidaires", "76498", ["ASSO"], ["Emmaüs Connect", "Conseillers numériques"],
     ["Acquisition de matériel informatique à prix solidaire", "Utilisation sécurisée du numérique"], "25 rue Jules Ferry", "81234567800013"),
    ("Tiers-lieu La Fabrique", "76451", ["TIERS_LIEUX", "FABLAB"], [],
     ["Loisirs et créations numériques", "Compréhension du monde numérique"], "Campus, rue Thomas Becket", "82345678900010"),
    ("France Services Elbeuf", "76231", ["RFS"], ["France Services", "Aidants Connect", "Conseillers numériques"],
     ["Aide aux démarches administratives", "Maîtrise des outils numériques du quotidien"], "Place Aristide Briand", "21760231700018"),
    ("Mairie annexe de Canteleu", "76157", ["MUNI"], ["Conseillers numériques"],
     ["Aide aux démarches administratives"], "Place Jean Jaurès", "21760157300017"),
]

# e-mail, first name, last name, role, structure indexes, conseiller, aidant
STAFF = [
    ("admin@demo.test", "Alix", "Martin", Role.ADMIN, [], False, False),
    ("coordination@demo.test", "Camille", "Durand", Role.COORDINATOR, [], False, False),
    ("mediateur@demo.test", "Karim", "Benali", Role.MEDIATOR, [0, 1], True, False),
    ("mediatrice@demo.test", "Léa", "Moreau", Role.MEDIATOR, [7], True, False),
    ("aidant@demo.test", "Sophie", "Lefèvre", Role.MEDIATOR, [0], True, True),
    ("financeur@demo.test", "Marc", "Giraud", Role.FUNDER, [], False, False),
    ("ines.roux@demo.test", "Inès", "Roux", Role.MEDIATOR, [2], False, True),
    ("thomas.petit@demo.test", "Thomas", "Petit", Role.MEDIATOR, [3], True, False),
    ("nadia.haddad@demo.test", "Nadia", "Haddad", Role.MEDIATOR, [4], True, False),
    ("julien.fontaine@demo.test", "Julien", "Fontaine", Role.MEDIATOR, [5], False, False),
    ("emma.garnier@demo.test", "Emma", "Garnier", Role.MEDIATOR, [6, 1], False, False),
    ("yanis.mercier@demo.test", "Yanis", "Mercier", Role.MEDIATOR, [8], True, False),
    ("claire.bonnet@demo.test", "Claire", "Bonnet", Role.MEDIATOR, [3, 5], True, False),
]

ROLE_ACCOUNTS = [
    ("Administrateur·rice", "admin@demo.test"),
    ("Coordinateur·rice (métropole)", "coordination@demo.test"),
    ("Conseiller numérique (Rouen)", "mediateur@demo.test"),
    ("Conseillère numérique (Elbeuf)", "mediatrice@demo.test"),
    ("Aidante habilitée (Rouen)", "aidant@demo.test"),
    ("Financeur", "financeur@demo.test"),
]


def reset_database(session: Session) -> None:
    """Empty every table (children first), keeping the schema and Alembic's version."""
    from mediation.extensions import db

    bind = session.get_bind()
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    if bind.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return
    session.execute(sa.text("PRAGMA defer_foreign_keys = ON"))
    for table in tables:
        if table.name == "audit_events":
            # Append-only by trigger: the demo reset is the one place allowed to clear it.
            session.execute(sa.text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
            session.execute(table.delete())
            from mediation.audit.triggers import SQLITE_NO_DELETE

            session.execute(sa.text(SQLITE_NO_DELETE))
        else:
            session.execute(table.delete())


def load_demo(session: Session, *, password: str, totp_secret: str | None = None,
              reset: bool = True) -> list[tuple[str, str]]:
    if reset:
        reset_database(session)
    territory = Territory(name="Métropole Rouen Normandie", kind=TerritoryKind.METROPOLE, code="200023414")
    session.add(territory)
    communes = {}
    for insee, name, cp, population, lat, lon in COMMUNES:
        communes[insee] = Commune(territory=territory, insee_code=insee, name=name, postal_code=cp,
                                  population=population, latitude=lat, longitude=lon)
        session.add(communes[insee])
    structures = []
    for i, (name, insee, typologies, dispositifs, services, address, siret) in enumerate(STRUCTURES):
        commune = communes[insee]
        s = Structure(
            name=name, commune=commune, typologies=typologies, dispositifs=dispositifs, services=services,
            address=address, postal_code=commune.postal_code, siret=siret,
            latitude=commune.latitude + 0.002 * (i % 3), longitude=commune.longitude - 0.002 * (i % 2),
            publics=["Seniors"] if i % 2 == 0 else ["Jeunes", "Familles et/ou enfants"],
            modalites_acces=["Se présenter", "Téléphoner"],
            modalites_accompagnement=["Accompagnement individuel", "Dans un atelier collectif"],
            frais=["Gratuit"], itinerance=["Fixe"],
            horaires="Mo-Fr 09:00-12:30,13:30-17:30" if i % 2 == 0 else "Tu-Sa 10:00-18:00",
            telephone=f"+3323{i:07d}", courriels=[], date_maj=date(2026, 9, 1),
        )
        session.add(s)
        structures.append(s)
    session.flush()
    password_hash = hash_password(password)
    users = []
    for email, first, last, role, indexes, conseiller, aidant in STAFF:
        user = User(
            email=email, first_name=first, last_name=last, role=role, password_hash=password_hash,
            territory=territory if role == Role.COORDINATOR else None,
            organisation="Conseil départemental de la Seine-Maritime" if role == Role.FUNDER else None,
            is_conseiller_numerique=conseiller, is_aidant=aidant,
        )
        session.add(user)
        for n, index in enumerate(indexes):
            session.add(StaffMembership(user=user, structure=structures[index],
                                        started_on=date(2024, 1 + n * 3, 1), job_title=None))
        users.append(user)
    # A past membership: Thomas Petit worked in Elbeuf before.
    session.add(StaffMembership(user=users[7], structure=structures[7], started_on=date(2022, 9, 1),
                                ended_on=date(2023, 12, 31)))
    session.flush()
    if totp_secret:
        for user in users:
            if user.requires_totp:
                enrol_totp_with_secret(session, user, totp_secret)
    for hook in DEMO_EXTENSIONS:
        hook(session, territory=territory, structures=structures, users=users)
    for insee, name, cp, population, lat, lon in COMMUNES_WITHOUT_PLACE:
        communes[insee] = Commune(territory=territory, insee_code=insee, name=name, postal_code=cp,
                                  postal_codes=[cp], population=population, latitude=lat, longitude=lon)
        session.add(communes[insee])
    session.flush()
    for insee, (fragility, elderly, poverty) in ILLUSTRATIVE_NEEDS.items():
        session.add(CommuneNeed(commune_id=communes[insee].id, fragility_index=fragility, share_75_plus=elderly,
                                poverty_rate=poverty, source="Valeurs illustratives (démonstration)",
                                illustrative=True))
    session.flush()
    # Demo hooks bulk-insert activities: rebuild the statistics rollups from them once.
    from mediation.stats import rollups

    rollups.rebuild(session)
    return ROLE_ACCOUNTS


# Later domains append callables ``hook(session, territory=, structures=, users=)``.
DEMO_EXTENSIONS: list = []


def _register_domain_demos() -> None:
    """Each domain's demo hook, in order (imported here so that ``flask demo`` loads them)."""
    from mediation.appointments.demo import load_appointments_demo
    from mediation.badges.demo import load_badges_demo
    from mediation.carnet.demo import load_carnet_demo
    from mediation.cases.demo import load_cases_demo
    from mediation.equipment.demo import load_equipment_demo
    from mediation.mandates.demo import load_mandates_demo
    from mediation.pathways.demo import load_pathways_demo
    from mediation.training.demo import load_training_demo

    for hook in (load_training_demo, load_cases_demo, load_mandates_demo, load_pathways_demo, load_appointments_demo,
                 load_badges_demo, load_carnet_demo, load_equipment_demo):
        if hook not in DEMO_EXTENSIONS:
            DEMO_EXTENSIONS.append(hook)
    from mediation.evaluation.demo import load_evaluation_demo  # last: it reads every domain's demo data

    if load_evaluation_demo not in DEMO_EXTENSIONS:
        DEMO_EXTENSIONS.append(load_evaluation_demo)


_register_domain_demos()
