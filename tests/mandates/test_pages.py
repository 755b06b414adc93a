"""Mandate pages through the test client: the creation wizard with the code, the attestation PDF,
use, revocation, the public verification page, the inactivity step-up, scope (404 for another
structure), transfer, signed copy, notifications and the CLI commands."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.auth.models import LoginAttempt
from mediation.mandates import services
from mediation.mandates.enums import Demarche, MandateDuration, RevocationChannel, RevocationReason
from mediation.mandates.models import Authorization, Mandate, MandateNotification, MandateUse
from mediation.mandates.views import ACTIVE_AT_KEY
from tests.helpers import count_queries
from tests.mandates.conftest import pdf_text, squash


@pytest.fixture
def aidant_client(client, login, network, session):
    login(client, network.aidant)
    session.commit()  # releases the test's savepoint only: a refused request's rollback keeps the setup
    return client


def _text(response) -> str:
    return response.get_data(as_text=True)


# --- creation -------------------------------------------------------------------------------

def test_create_a_mandate_with_preview_code_and_consent(aidant_client, session, network, person, code):
    client = aidant_client
    page = client.get("/mandats/nouveau")
    assert page.status_code == 200
    html = _text(page)
    for label in ("Papiers - Citoyenneté - Élections", "Mandat court – expire demain", "Mandat d&#39;un mois",
                  "Mandat de 6 mois", "Mandat long – 12 mois", "surendettement", "Josiane Leclerc"):
        assert label in html

    response = client.post("/mandats/nouveau", data={
        "structure_id": network.structure_a.id, "beneficiary_id": person.id, "demarches": ["argent", "social"],
        "duration": "long", "identity_check": "piece_identite"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/mandats/nouveau/confirmation")

    preview = _text(client.get("/mandats/nouveau/confirmation"))
    assert "Projet — sans valeur juridique" in preview
    assert "Josiane Leclerc" in preview and "Argent - Impôts - Consommation" in preview
    assert "Code de la consommation" in preview  # the over-indebtedness warning

    refused = client.post("/mandats/nouveau/confirmation", data={"consent": "y", "totp_code": "000000"})
    assert refused.status_code == 422
    assert "Code incorrect ou déjà utilisé" in _text(refused)
    assert session.scalar(sa.select(sa.func.count()).select_from(Mandate)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt).where(~LoginAttempt.success)) == 3  # one failure, three counters (per account and address, address, account)

    no_consent = client.post("/mandats/nouveau/confirmation", data={"totp_code": code(network.aidant)})
    assert "Confirmez que la personne a été informée" in _text(no_consent)
    session.commit()

    created = client.post("/mandats/nouveau/confirmation", data={"consent": "y", "totp_code": code(network.aidant)})
    assert created.status_code == 302
    mandate = session.scalar(sa.select(Mandate))
    assert created.headers["Location"].endswith(f"/mandats/{mandate.id}")
    assert mandate.demarches == [Demarche.ARGENT, Demarche.SOCIAL] and mandate.duration == MandateDuration.LONG

    detail = _text(client.get(f"/mandats/{mandate.id}"))
    assert "Imprimez l&#39;attestation en deux exemplaires" in detail
    assert mandate.attestation_sha256 in detail

    pdf = client.get(f"/mandats/{mandate.id}/attestation.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert services.attestation.sha256(pdf.data) == mandate.attestation_sha256  # the frozen copy
    text = squash(pdf_text(pdf.data))
    assert "Josiane Leclerc" in text and "Argent - Impôts - Consommation" in text and "Social - Santé" in text
    assert "Mandat long – 12 mois" in text and mandate.reference in text
    assert "Projet" not in text


def test_step_one_names_each_missing_choice(aidant_client, network):
    response = aidant_client.post("/mandats/nouveau", data={"structure_id": network.structure_a.id})
    html = _text(response)
    assert response.status_code == 422
    assert "Choisissez la personne accompagnée" in html
    assert "Choisissez au moins une démarche." in html
    assert "Choisissez la durée du mandat." in html
    assert "Indiquez comment vous avez vérifié l&#39;identité" in html


def test_only_the_structure_s_demarches_are_offered(aidant_client, session, network):
    network.structure_a.allowed_mandate_scopes = ["papiers", "social"]
    session.commit()
    html = _text(aidant_client.get("/mandats/nouveau"))
    assert 'value="papiers"' in html and 'value="social"' in html
    assert 'value="justice"' not in html and 'value="argent"' not in html


def test_an_old_draft_is_not_confirmed(aidant_client, network, person):
    with aidant_client.session_transaction() as browser:
        browser["mandate_draft"] = {"structure_id": network.structure_a.id, "beneficiary_id": person.id,
                                    "demarches": ["social"], "duration": "month",
                                    "identity_check": "piece_identite", "at": int(time.time()) - 3600}
    response = aidant_client.get("/mandats/nouveau/confirmation")
    assert response.status_code == 302 and response.headers["Location"].endswith("/mandats/nouveau")


# --- use and revocation -----------------------------------------------------------------------

def test_use_then_revoke_one_demarche_then_print_the_revocation(aidant_client, session, network, make_mandate,
                                                                code):
    client = aidant_client
    mandate = make_mandate(demarches=[Demarche.SOCIAL, Demarche.LOGEMENT])
    session.commit()
    used = client.post(f"/mandats/{mandate.id}/utiliser", data={"demarche": "social",
                                                                "description": "Demande de CSS"})
    assert used.status_code == 302
    assert "Demande de CSS" in _text(client.get(f"/mandats/{mandate.id}"))

    form = _text(client.get(f"/mandats/{mandate.id}/revoquer"))
    assert "Social - Santé" in form and "Motif" in form
    revoked = client.post(f"/mandats/{mandate.id}/revoquer", data={
        "demarches": ["logement"], "reason": "demande_beneficiaire", "totp_code": code(network.aidant)})
    assert revoked.status_code == 302
    session.refresh(mandate)
    assert mandate.authorizations[1].revoked_at is not None and mandate.authorizations[0].is_live()

    refused = client.post(f"/mandats/{mandate.id}/utiliser", data={"demarche": "logement",
                                                                   "description": "Fin de bail"})
    assert refused.status_code == 409
    assert "« Logement » a été révoquée le " in _text(refused)

    pdf = client.get(f"/mandats/{mandate.id}/revocation.pdf")
    assert pdf.status_code == 200
    text = squash(pdf_text(pdf.data))
    assert "Je soussigné·e, Josiane Leclerc, révoque en partie le mandat" in text
    assert "Logement" in text and "À la demande de la personne" in text


def test_an_expired_mandate_cannot_be_used_from_the_page(aidant_client, session, make_mandate):
    mandate = make_mandate(duration=MandateDuration.SHORT, days_ago=3)
    session.commit()
    response = aidant_client.post(f"/mandats/{mandate.id}/utiliser", data={"demarche": "papiers",
                                                                           "description": "Passeport"})
    assert response.status_code == 409
    assert "Ce mandat a expiré le " in _text(response)
    assert session.scalar(sa.select(sa.func.count()).select_from(MandateUse)) == 0


def test_revocation_with_a_wrong_code_changes_nothing(aidant_client, session, make_mandate):
    mandate = make_mandate()
    session.commit()
    response = aidant_client.post(f"/mandats/{mandate.id}/revoquer", data={
        "demarches": ["social"], "reason": "autre", "totp_code": "111111"})
    assert response.status_code == 422 and "Code incorrect" in _text(response)
    session.refresh(mandate)
    assert all(a.is_live() for a in mandate.authorizations)


def test_the_person_s_request_is_handled_from_the_revocation_page(aidant_client, session, network, make_mandate,
                                                                   code):
    mandate = make_mandate()
    request = services.request_revocation(session, mandate, channel=RevocationChannel.PORTEFEUILLE,
                                          demarches=["papiers"])
    session.commit()
    index = _text(aidant_client.get("/mandats/"))
    assert "Demandes de révocation à traiter (1)" in index
    form = _text(aidant_client.get(f"/mandats/{mandate.id}/revoquer?demande={request.id}"))
    assert f'value="{request.id}"' in form
    response = aidant_client.post(f"/mandats/{mandate.id}/revoquer", data={
        "demarches": ["papiers"], "reason": "demande_beneficiaire", "request_id": request.id,
        "totp_code": code(network.aidant)})
    assert response.status_code == 302
    session.refresh(request)
    assert request.status.value == "traitee"


# --- public verification --------------------------------------------------------------------

def test_public_verification_page_shows_the_state_and_initials_only(client, session, network, make_mandate,
                                                                    make_person):
    valid = make_mandate(demarches=[Demarche.SOCIAL, Demarche.LOGEMENT])
    services.revoke_authorizations(session, network.aidant, valid, [valid.authorizations[1]], RevocationReason.AUTRE)
    expired = make_mandate(beneficiary=make_person(), duration=MandateDuration.SHORT, days_ago=2)
    revoked = make_mandate(beneficiary=make_person())
    services.revoke_authorizations(session, network.aidant, revoked, list(revoked.authorizations),
                                   RevocationReason.AUTRE)
    session.commit()

    page = client.get(f"/mandats/verifier/{valid.public_token}")
    html = _text(page)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Mandat valide" in html and "J. L." in html
    assert "Josiane" not in html and "Leclerc" not in html
    assert "Social - Santé" in html and "Révoquée" in html and "En vigueur" in html
    assert "Mandat expiré" in _text(client.get(f"/mandats/verifier/{expired.public_token}"))
    assert "Mandat révoqué" in _text(client.get(f"/mandats/verifier/{revoked.public_token}"))
    assert client.get("/mandats/verifier/" + "x" * 32).status_code == 404


# --- access ---------------------------------------------------------------------------------

def test_idle_aidant_re_enters_the_code_before_any_mandate_action(aidant_client, session, network, code):
    with aidant_client.session_transaction() as browser:
        browser[ACTIVE_AT_KEY] = int(time.time()) - 16 * 60
    response = aidant_client.get("/mandats/nouveau")
    assert response.status_code == 302
    assert "/mandats/verification?next=/mandats/nouveau" in response.headers["Location"]
    blocked = aidant_client.post("/mandats/nouveau", data={})
    assert blocked.status_code == 302 and "/mandats/verification" in blocked.headers["Location"]

    wrong = aidant_client.post("/mandats/verification?next=/mandats/nouveau", data={"code": "000000"})
    assert wrong.status_code == 422 and "Code incorrect" in _text(wrong)
    ok = aidant_client.post("/mandats/verification?next=/mandats/nouveau", data={"code": code(network.aidant)})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/mandats/nouveau")
    assert aidant_client.get("/mandats/nouveau").status_code == 200
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "mandate.activity_check")) == 1


def test_the_check_page_only_sends_back_to_mandate_pages(aidant_client, network, code):
    response = aidant_client.post("/mandats/verification?next=https://ailleurs.example/", data={
        "code": code(network.aidant)})
    assert response.headers["Location"].endswith("/mandats/")


def test_an_aidant_of_another_structure_neither_sees_nor_revokes(client, login, session, make_mandate,
                                                                  aidant_far, code):
    mandate = make_mandate()
    login(client, aidant_far)
    session.commit()
    assert mandate.reference not in _text(client.get("/mandats/?etat=tous"))
    for url in (f"/mandats/{mandate.id}", f"/mandats/{mandate.id}/attestation.pdf", f"/mandats/{mandate.id}/revoquer",
                f"/mandats/{mandate.id}/utiliser", f"/mandats/{mandate.id}/renouveler"):
        assert client.get(url).status_code == 404, url
    response = client.post(f"/mandats/{mandate.id}/revoquer", data={
        "demarches": ["social"], "reason": "autre", "totp_code": code(aidant_far)})
    assert response.status_code == 404
    session.refresh(mandate)
    assert all(a.is_live() for a in mandate.authorizations)


def test_who_else_is_refused(client, login, session, network, make_mandate):
    mandate = make_mandate()
    session.commit()
    login(client, network.mediator)  # a mediator who is not an aidant
    response = client.get("/mandats/")
    assert response.status_code == 403 and "Seuls les aidants habilités" in _text(response)
    assert client.get(f"/mandats/{mandate.id}").status_code == 403
    assert client.get("/mandats/nouveau").status_code == 403


# --- transfer -------------------------------------------------------------------------------

def test_coordinator_transfers_a_mandate_without_seeing_names(client, login, session, network, make_mandate, code):
    mandate = make_mandate()
    login(client, network.coordinator)
    session.commit()
    index = _text(client.get("/mandats/"))
    assert mandate.reference in index and f"Bénéficiaire n° {mandate.beneficiary_id}" in index
    assert "Leclerc" not in index
    form = _text(client.get(f"/mandats/{mandate.id}/transfert"))
    assert "Médiathèque B" in form and "CCAS Lointain" not in form
    response = client.post(f"/mandats/{mandate.id}/transfert", data={
        "structure_id": network.structure_b.id, "totp_code": code(network.coordinator)})
    assert response.status_code == 302
    session.refresh(mandate)
    assert mandate.structure_id == network.structure_b.id
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "mandate.transferred"))
    assert (event.details["from_structure_id"], event.details["to_structure_id"]) == (
        network.structure_a.id, network.structure_b.id)
    assert client.get(f"/mandats/{mandate.id}").status_code == 403  # names stay for aidants


# --- signed copy, notifications -------------------------------------------------------------

def test_signed_copy_upload_checks_the_file(aidant_client, session, make_mandate):
    import io

    mandate = make_mandate()
    session.commit()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    ok = aidant_client.post(f"/mandats/{mandate.id}/mandat-signe", content_type="multipart/form-data",
                            data={"scan": (io.BytesIO(png), "mandat.png")})
    assert ok.status_code == 302
    download = aidant_client.get(f"/mandats/{mandate.id}/mandat-signe")
    assert download.data == png and download.headers["Content-Type"] == "image/png"
    bad = aidant_client.post(f"/mandats/{mandate.id}/mandat-signe", content_type="multipart/form-data",
                             data={"scan": (io.BytesIO(b"MZ\x90\x00 not a scan"), "mandat.pdf")})
    assert bad.status_code == 422 and "ni un PDF, ni une image JPEG ou PNG" in _text(bad)
    session.refresh(mandate)
    assert mandate.signed_scan == png


def test_notifications_are_listed_and_marked_read(aidant_client, session, network, make_mandate, outbox):
    mandate = make_mandate(duration=MandateDuration.LONG, days_ago=350)
    services.notify_expiring(session)
    session.commit()
    index = _text(aidant_client.get("/mandats/"))
    assert "Mandat bientôt expiré" in index and mandate.reference in index
    notification = session.scalar(sa.select(MandateNotification).where(
        MandateNotification.user_id == network.aidant.id))
    assert aidant_client.post(f"/mandats/notifications/{notification.id}/lue").status_code == 302
    session.refresh(notification)
    assert notification.read_at is not None


def test_renewal_from_the_detail_page(aidant_client, session, network, make_mandate, code):
    old = make_mandate(duration=MandateDuration.MONTH, days_ago=28)
    session.commit()
    form = _text(aidant_client.get(f"/mandats/{old.id}/renouveler"))
    assert f"Renouveler le mandat {old.reference}" in form
    response = aidant_client.post(f"/mandats/{old.id}/renouveler", data={
        "demarches": ["papiers", "social"], "duration": "semester", "identity_check": "deja_verifiee"})
    assert response.status_code == 302
    created = aidant_client.post("/mandats/nouveau/confirmation", data={"consent": "y",
                                                                        "totp_code": code(network.aidant)})
    assert created.status_code == 302
    new = session.scalar(sa.select(Mandate).where(Mandate.renewed_from_id == old.id))
    assert new.duration == MandateDuration.SEMESTER
    assert session.scalar(sa.select(sa.func.count()).select_from(Authorization).where(
        Authorization.closed_at.is_(None), Authorization.beneficiary_id == old.beneficiary_id)) == 2


# --- CLI ------------------------------------------------------------------------------------

def test_cli_commands(app, session, network, make_mandate, make_person, outbox):
    make_mandate(duration=MandateDuration.SEMESTER, days_ago=170)
    make_mandate(beneficiary=make_person(), duration=MandateDuration.SHORT, days_ago=365 * 6 + 5)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mandates", "notify-expiring"])
    assert result.exit_code == 0, result.output
    assert "1 mandat(s) bientôt expiré(s) signalé(s)" in result.output
    result = runner.invoke(args=["mandates", "anonymise"])
    assert "1 mandat(s) anonymisé(s)." in result.output
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Journal d'audit intègre" in result.output


def test_a_mandate_ended_less_than_a_year_ago_is_listed_as_ended(aidant_client, session, make_mandate,
                                                                  make_person):
    ended = make_mandate(duration=MandateDuration.SHORT, days_ago=30)
    long_ago = make_mandate(beneficiary=make_person(), duration=MandateDuration.SHORT, days_ago=500)
    session.commit()
    current = _text(aidant_client.get("/mandats/"))
    assert ended.reference not in current
    recent = _text(aidant_client.get("/mandats/?etat=termines"))
    assert ended.reference in recent and long_ago.reference not in recent
    assert long_ago.reference in _text(aidant_client.get("/mandats/?etat=tous"))


def test_list_query_count_does_not_grow_with_mandates(aidant_client, session, make_mandate, make_person):
    def list_queries():
        with count_queries() as statements:
            assert aidant_client.get("/mandats/").status_code == 200
        return len(statements)

    make_mandate()
    session.commit()
    few = list_queries()
    for _ in range(4):
        make_mandate(beneficiary=make_person(), demarches=[Demarche.SOCIAL, Demarche.JUSTICE])
    session.commit()
    assert list_queries() == few


@pytest.mark.parametrize("path", ["/mandats/nouveau", "/mandats/"])
def test_aidant_without_structure_is_told(client, login, session, network, path):
    network.aidant.memberships[0].ended_on = network.aidant.memberships[0].started_on + timedelta(days=1)
    login(client, network.aidant)
    session.commit()
    response = client.get(path)
    assert response.status_code in (200, 403)
    if path == "/mandats/nouveau":
        assert response.status_code == 403 and "aucune structure" in _text(response)


def test_coordinator_restricts_a_structure_s_demarches(client, login, session, network):
    login(client, network.coordinator)
    session.commit()
    index = _text(client.get("/mandats/"))
    assert "France Services A" in index and "Toutes" in index  # the aidant's structure
    assert "Médiathèque B" not in index.split("Démarches autorisées par structure")[1]  # no aidant there
    form = _text(client.get(f"/mandats/structures/{network.structure_a.id}/demarches"))
    assert form.count('checked') == 10
    response = client.post(f"/mandats/structures/{network.structure_a.id}/demarches",
                           data={"demarches": ["social", "logement"]})
    assert response.status_code == 302
    session.refresh(network.structure_a)
    assert network.structure_a.allowed_mandate_scopes == ["social", "logement"]
    empty = client.post(f"/mandats/structures/{network.structure_a.id}/demarches", data={})
    assert "Cochez au moins une démarche" in _text(empty)
    assert client.get(f"/mandats/structures/{network.structure_far.id}/demarches").status_code == 404


def test_the_person_of_a_mandate_is_chosen_with_the_person_picker(aidant_client, session, network):
    """Homonyms are told apart by birth year and commune; a search saves no draft."""
    from mediation.cases import services as cases_services

    def person(year):
        return cases_services.create_beneficiary(session, network.aidant, network.structure_a.id,
                                                 cases_services.BeneficiaryInput(
                                                     first_name="Claude", last_name="Bertrand", birth_year=year,
                                                     residence_commune_id=network.commune_a.id))

    young, old = person(2004), person(1948)
    session.commit()
    html = _text(aidant_client.post("/mandats/nouveau", data={
        "structure_id": network.structure_a.id, "duration": "long", "beneficiary_id_recherche": "claude 2004",
        "rechercher_personne": "beneficiary_id"}))
    assert "1 personne trouvée pour « claude 2004 »" in html
    assert f'id="beneficiary_id-{young.id}"' in html and f'id="beneficiary_id-{old.id}"' not in html
    assert "Claude Bertrand <span class=\"hint\">(2004 · Ville-A)</span>" in html
    assert "Choisissez la personne" not in html  # a search is not a failed submission
    with aidant_client.session_transaction() as browser:
        assert "mandate_draft" not in browser
    html = _text(aidant_client.get("/mandats/nouveau"))
    assert "(2004 · Ville-A)" in html and "(1948 · Ville-A)" in html
    response = aidant_client.post("/mandats/nouveau", data={
        "structure_id": network.structure_a.id, "beneficiary_id": young.id, "demarches": ["social"],
        "duration": "long", "identity_check": "piece_identite"})
    assert response.status_code == 302
    with aidant_client.session_transaction() as browser:
        assert browser["mandate_draft"]["beneficiary_id"] == young.id
