"""A coordinator imports their team's activities export from La Coop (built as the Coop builds it):
the analysis page asks who « Paul Inconnu » is and which of the two « Léa Moreau » did the work, the
coordinator chooses, applies, follows the job and reads the statistics."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.a11y import check_a11y
from tests.cases_exchange.coop_files import activities_workbook


def submit(locator) -> None:
    page = locator.page
    with page.expect_navigation():
        locator.click()
    check_a11y(page)


def _second_lea_moreau(live_server) -> None:
    """A second mediator named Léa Moreau in the territory (the demo's works in Elbeuf)."""
    from mediation.auth.models import Role, User
    from mediation.directory.models import StaffMembership, Structure
    from mediation.extensions import db

    with live_server.app.app_context():
        if db.session.scalar(sa.select(User).where(User.email == "lea.moreau2@demo.test")) is None:
            structure = db.session.scalar(sa.select(Structure).where(Structure.name == "Tiers-lieu La Fabrique"))
            twin = User(email="lea.moreau2@demo.test", first_name="Léa", last_name="Moreau", role=Role.MEDIATOR,
                        password_hash="!")
            db.session.add(twin)
            db.session.flush()
            db.session.add(StaffMembership(user=twin, structure=structure, started_on=date(2024, 1, 1)))
            db.session.commit()
        db.session.remove()


def _team_file() -> tuple[bytes, list[str]]:
    ids = [str(uuid.uuid4()) for _ in range(3)]

    def activity(n, mediator, **fields):
        return {"id": ids[n], "date": date(2025, 3, 4 + n), "creation": datetime(2025, 3, 4 + n, 10, 15),
                "type": "Individuel", "typeLieu": "ADistance", "duree": 30, "thematiques": ["Email"],
                "tags": ["Quartier prioritaire"], "mediateur": mediator,
                "accompagnements": [{"beneficiaire": {"anonyme": True, "genre": "Feminin",
                                                      "trancheAge": "SoixanteDixPlus"}}], **fields}

    activities = [
        activity(0, {"firstName": "Karim", "lastName": "Benali", "isConseillerNumerique": True}),
        activity(1, {"firstName": "Léa", "lastName": "Moreau", "isConseillerNumerique": True},
                 typeLieu="LieuActivite", structure={"nom": "Café associatif du Vieux-Marché", "adresse": "2 rue Jeanne d’Arc",
                                                     "commune": "Rouen", "codePostal": "76000", "codeInsee": "76540"}),
        activity(2, {"firstName": "Paul", "lastName": "Inconnu"}),
    ]
    content = activities_workbook(activities, user={"firstName": "Camille", "lastName": "Durand",
                                                    "role": "Coordinateur"},
                                  mediateur={"firstName": "Équipe", "lastName": "", "scope": False})
    return content, ids


def test_a_coordinator_imports_a_team_export_choosing_names_then_reads_statistics(page, sign_in, live_server):
    live_server.app.config["MEDIATION_JOBS_BACKEND"] = "eager"
    try:
        _second_lea_moreau(live_server)
        journey(page, sign_in, live_server)
    finally:
        live_server.app.config["MEDIATION_JOBS_BACKEND"] = None


def journey(page, sign_in, live_server):
    content, ids = _team_file()
    sign_in(page, "coordination@demo.test")
    page.goto("/echanges/")
    check_a11y(page)
    submit(page.get_by_role("link", name="Importer les activités de votre équipe (La Coop)"))
    page.get_by_label("Export « Activités » de votre équipe (XLSX ou CSV)").set_input_files(
        {"name": "coop-numerique_accompagnements_equipe.xlsx",
         "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "buffer": content})
    submit(page.get_by_role("button", name="Analyser le fichier"))

    expect(page.get_by_role("heading", name="À choisir avant l'import (2)")).to_be_visible()
    expect(page.get_by_role("button", name="Importer", exact=True)).to_have_count(0)
    changes = page.get_by_role("table", name="Valeurs écartées ou modifiées, regroupées par colonne et par raison")
    expect(changes).to_contain_text("lieu absent de l’annuaire")
    homonym = page.get_by_label("« Léa Moreau » — plusieurs médiateurs portent ce nom", exact=False)
    homonym.select_option(label="Léa Moreau (Tiers-lieu La Fabrique)")
    unknown = page.get_by_label("« Paul Inconnu »", exact=False)
    unknown.select_option(label="Ne pas importer ses activités")
    submit(page.get_by_role("button", name="Valider mes choix"))

    expect(page.get_by_role("heading", name="Vos choix")).to_be_visible()
    expect(page.locator("dl.summary")).to_contain_text("Activités à créer")
    submit(page.get_by_role("button", name="Importer", exact=True))
    expect(page.get_by_text("Terminée")).to_be_visible()
    expect(page.locator("dl.summary")).to_contain_text("Activités créées")

    from mediation.auth.models import User
    from mediation.cases.models import Activity
    from mediation.extensions import db

    with live_server.app.app_context():
        by_id = {a.external_id: a for a in db.session.scalars(sa.select(Activity).where(Activity.external_id.in_(ids)))}
        assert set(by_id) == {ids[0], ids[1]}  # Paul Inconnu's row left out, by choice
        assert db.session.get(User, by_id[ids[1]].mediator_id).email == "lea.moreau2@demo.test"
        assert db.session.get(User, by_id[ids[0]].mediator_id).email == "mediateur@demo.test"
        assert by_id[ids[1]].place_structure.unlisted
        db.session.remove()

    page.goto("/statistiques/")
    check_a11y(page)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
