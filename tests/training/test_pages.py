"""Training pages through the real forms: record a training with its certificate (multipart),
download it, refusals in French with nothing recorded, the skills table without JavaScript, the
coordination's alerts, and the aidant refused a mandate once the habilitation expired."""

from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa

from mediation.training import services
from mediation.training.demo import certificate_pdf
from mediation.training.models import TrainingRecord
from mediation.types import local_today
from tests.helpers import count_queries


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_a_coordinator_records_a_training_with_its_certificate(client, login, session, network):
    login(client, network.coordinator)
    session.commit()
    pdf = certificate_pdf("CCP", "Test")
    response = client.post(f"/formations/personnes/{network.mediator.id}", data={
        "kind": "ccp_remn", "obtained_on": "14/03/2025", "organisation": "Afpa",
        "certificate": (io.BytesIO(pdf), "attestation.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302
    entry = session.scalar(sa.select(TrainingRecord).where(TrainingRecord.user_id == network.mediator.id))
    assert entry.certificate_type == "application/pdf"
    page = _text(client.get(f"/formations/personnes/{network.mediator.id}"))
    assert "CCP « Responsable d’espace de médiation numérique » (REMN)" in page and "14 mars 2025" in page
    download = client.get(f"/formations/{entry.id}/attestation.pdf")
    assert download.status_code == 200 and download.data == pdf
    assert download.headers["Content-Type"].startswith("application/pdf")


def test_a_file_that_is_not_a_pdf_is_refused_and_nothing_is_recorded(client, login, session, network):
    login(client, network.coordinator)
    session.commit()
    response = client.post(f"/formations/personnes/{network.mediator.id}", data={
        "kind": "pix", "obtained_on": "2025-03-14",
        "certificate": (io.BytesIO(b"<html>hello</html>"), "attestation.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "ni un PDF, ni une image JPEG ou PNG" in _text(response)
    assert session.scalar(sa.select(sa.func.count()).select_from(TrainingRecord)
                          .where(TrainingRecord.user_id == network.mediator.id)) == 0


def test_the_skills_table_is_a_plain_table_with_gaps(client, login, session, network):
    network.structure_b.services = ["Aide aux démarches administratives"]
    login(client, network.coordinator)
    session.commit()
    page = _text(client.get("/formations/competences"))
    assert "<caption>Par commune" in page and "<strong>Personne</strong>" in page
    assert "Ville-Lointaine" not in page
    filtered = client.get("/formations/competences?service=Aide+aux+d%C3%A9marches+administratives")
    assert filtered.status_code == 200 and "France Services A" not in _text(filtered)
    export = client.get("/formations/competences.csv")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")


def test_staff_list_query_count_does_not_grow(client, login, session, network, make_user):
    login(client, network.coordinator)
    session.commit()

    def queries():
        with count_queries() as statements:
            assert client.get("/formations/").status_code == 200
        return len(statements)

    few = queries()
    for n in range(4):
        person = make_user(structures=[network.structure_b], email=f"extra{n}@test.example")
        services.record_training(session, network.coordinator, person, kind="pix",
                                 obtained_on=local_today() - timedelta(days=10))
    session.commit()
    assert queries() == few


def test_expired_habilitation_refuses_mandates_and_alerts_the_coordination(client, login, session, network,
                                                                            aidant_habilitation):
    aidant_habilitation.expires_on = local_today() - timedelta(days=2)
    services.send_reminders(session)
    session.commit()
    login(client, network.aidant)
    response = client.get("/mandats/nouveau")
    assert response.status_code == 403
    assert "Votre habilitation Aidants Connect a expiré le" in _text(response)
    own = _text(client.get(f"/formations/personnes/{network.aidant.id}"))
    assert "Habilitation d’aidant·e non valide" in own
    client.post("/deconnexion")
    login(client, network.coordinator)
    index = _text(client.get("/formations/"))
    assert "Habilitation d’aidant expirée" in index and network.aidant.full_name in index
    assert client.post("/formations/notifications/lues").status_code == 302
    assert "Habilitation d’aidant expirée" not in _text(client.get("/formations/"))


def test_a_certificate_is_attached_later_to_a_record_without_one(client, login, session, network):
    entry = services.record_training(session, network.mediator, network.mediator, kind="psc1",
                                     obtained_on=local_today() - timedelta(days=30))
    login(client, network.mediator)
    session.commit()
    page = _text(client.get("/formations/"))
    assert f'action="/formations/{entry.id}/attestation"' in page
    refused = client.post(f"/formations/{entry.id}/attestation", data={
        "certificate": (io.BytesIO(b"GIF89a"), "photo.gif")}, content_type="multipart/form-data")
    assert refused.status_code == 422 and "ni un PDF, ni une image JPEG ou PNG" in _text(refused)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    response = client.post(f"/formations/{entry.id}/attestation", data={
        "certificate": (io.BytesIO(png), "photo.png")}, content_type="multipart/form-data")
    assert response.status_code == 302
    image = client.get(f"/formations/{entry.id}/attestation.png")
    assert image.status_code == 200 and image.data == png and image.headers["Content-Type"] == "image/png"


def test_a_national_skills_table_is_filtered_by_territory_and_paged(client, login, session, network, monkeypatch):
    """An administrator's table covers every place of the network: a territory filter, one table at a
    time (per commune or per structure) and pages of rows; the export follows the filters."""
    from mediation.training import views

    monkeypatch.setattr(views, "SKILLS_ROWS", 1)
    login(client, network.admin)
    session.commit()
    page = _text(client.get("/formations/competences"))
    assert "<caption>Par commune" in page and "<caption>Par structure" not in page
    assert "Page 1 sur 3" in page and "Ville-A" in page and "Ville-B</th>" not in page
    page = _text(client.get("/formations/competences?page=2"))
    assert "Page 2 sur 3" in page and ">Ville-B</th>" in page
    page = _text(client.get(f"/formations/competences?vue=structures&territoire={network.other_territory.id}"))
    assert "<caption>Par structure" in page and ">CCAS Lointain</th>" in page and "Page 1 sur" not in page
    assert f'<option value="{network.other_territory.id}" selected>' in page
    export = _text(client.get(f"/formations/competences.csv?territoire={network.territory.id}"))
    assert "France Services A" in export and "Médiathèque B" in export and "CCAS Lointain" not in export
    # a coordinator's territory is theirs: the parameter changes nothing
    client.post("/deconnexion")
    login(client, network.coordinator)
    page = _text(client.get(f"/formations/competences?vue=structures&territoire={network.other_territory.id}"))
    assert "CCAS Lointain" not in page and 'name="territoire"' not in page
