"""Links between the case pages and the exchange pages: export of the filtered activity list, a
person's right-of-access export, the probable-duplicate alert."""

from __future__ import annotations

import re

import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.cases.enums import ActivityType
from mediation.cases.models import Case
from tests.cases_exchange.conftest import read_csv, table_after_header


def _export_form(page: str) -> str:
    match = re.search(r'<form method="post" action="/echanges/export/activites".*?</form>', page, re.S)
    assert match, "no export form on the activity list"
    return match.group(0)


def _hidden(form: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def test_activity_list_exports_with_the_same_filters(client, login, network, log_activity):
    log_activity()
    log_activity(type=ActivityType.COLLECTIF, workshop_title="Tablettes")
    login(client, network.mediator)
    page = client.get("/activites?type=collectif&du=2000-01-01").get_data(as_text=True)
    form = _export_form(page)
    assert "Exporter (XLSX / CSV)" in form
    fields = _hidden(form)
    assert fields["type"] == "collectif" and fields["du"] == "2000-01-01" and "au" not in fields
    fields.pop("csrf_token", None)
    response = client.post("/echanges/export/activites", data={**fields, "format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    _, data = table_after_header(read_csv(response.get_data()), "Date")
    assert data and all(row[3] == "Atelier collectif" for row in data) and len(data) == 2  # only the workshop's rows


def test_activity_list_without_filters_exports_everything(client, login, network, log_activity):
    log_activity()
    login(client, network.coordinator)
    form = _export_form(client.get("/activites").get_data(as_text=True))
    assert set(_hidden(form)) <= {"csrf_token"}
    assert 'name="format" value="csv"' in form and 'name="format" value="xlsx" checked' in form


def test_case_page_links_to_the_right_of_access_export_for_mediators_only(app, client, login, network, session,
                                                                         make_beneficiary):
    person = make_beneficiary(first_name="Odile", last_name="Unique")
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == person.id))
    login(client, network.mediator)
    page = client.get(f"/dossiers/{case.id}").get_data(as_text=True)
    assert f'href="/echanges/beneficiaires/{person.id}/donnees"' in page and "Ses données (droit d’accès)" in page
    assert "Doublon potentiel" not in page
    assert client.get(f"/echanges/beneficiaires/{person.id}/donnees").status_code == 200
    coordinator = app.test_client()
    login(coordinator, network.coordinator)
    page = coordinator.get(f"/dossiers/{case.id}").get_data(as_text=True)
    assert "/donnees" not in page and "Doublon potentiel" not in page


def test_case_page_warns_of_a_probable_duplicate(client, login, network, session, make_beneficiary):
    first = make_beneficiary(first_name="Jeanne", last_name="Martin", phone="06 12 34 56 78")
    second = make_beneficiary(first_name="JEANNE", last_name="Mar-tin")
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == first.id))
    login(client, network.mediator)
    page = client.get(f"/dossiers/{case.id}").get_data(as_text=True)
    assert "Doublon potentiel" in page
    assert f'href="/echanges/doublons/{first.id}/{second.id}"' in page
    assert 'href="/echanges/doublons"' in page
    assert client.get(f"/echanges/doublons/{first.id}/{second.id}").status_code == 200
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action.like("%merge%"))) == 0  # a GET never writes
