"""Mandate rules through the real services and database: creation with code and consent, the
single live authorization, use, revocation, renewal, transfer, requests from the person."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.auth.models import LoginAttempt, Role
from mediation.auth.services import ReauthenticationFailed
from mediation.directory.notifications import NotificationKind
from mediation.errors import Conflict, Forbidden, ValidationFailed
from mediation.mandates import attestation, services
from mediation.mandates.enums import (
    AuthorizationStatus,
    Demarche,
    IdentityCheck,
    MandateDuration,
    MandateStatus,
    RevocationChannel,
    RevocationReason,
    RevocationRequestStatus,
)
from mediation.mandates.models import Authorization, Mandate, MandateNotification, MandateUse
from mediation.training.models import TrainingRecord
from mediation.types import local_today, utcnow
from tests.mandates.conftest import pdf_text, squash


def _actions(session, since_id=0):
    return list(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.id > since_id)
                                .order_by(AuditEvent.id)))


def _last_audit_id(session):
    return session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.id), 0)))


# --- creation -------------------------------------------------------------------------------

def test_creation_with_code_and_consent_writes_everything_in_one_go(session, network, draft, code, person):
    before = _last_audit_id(session)
    start = utcnow()
    mandate = services.create_mandate(session, network.aidant, draft(duration="semester"),
                                      totp_code=code(network.aidant), consent=True)

    assert mandate.structure_id == network.structure_a.id  # owned by the structure, not the aidant
    assert mandate.created_by_id == network.aidant.id
    assert start <= mandate.created_at <= utcnow()
    assert mandate.expires_at - mandate.created_at == timedelta(days=182)  # exact time, not end of day
    assert mandate.template_version == attestation.CURRENT_TEMPLATE_VERSION
    assert mandate.attestation_sha256 == attestation.sha256(mandate.attestation_pdf)
    assert [a.demarche for a in mandate.authorizations] == [Demarche.PAPIERS, Demarche.SOCIAL]
    assert all(a.is_live() and a.expires_at == mandate.expires_at for a in mandate.authorizations)
    assert mandate.status() == MandateStatus.EN_VIGUEUR
    assert _actions(session, before) == ["mandate.created", "mandate.authorization_created",
                                         "mandate.authorization_created"]
    created = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "mandate.created",
                                                         AuditEvent.id > before))
    assert created.details["attestation_sha256"] == mandate.attestation_sha256
    assert created.details["demarches"] == ["papiers", "social"]
    assert person.last_name not in str(created.details)  # no personal data in the journal


def test_the_attestation_pdf_says_who_what_until_when_and_how_to_verify(session, network, make_mandate, person):
    mandate = make_mandate(demarches=[Demarche.ARGENT, Demarche.LOGEMENT], duration=MandateDuration.LONG)
    text = squash(pdf_text(mandate.attestation_pdf))
    assert "Josiane Leclerc" in text
    assert "France Services A" in text
    assert network.aidant.full_name in text
    assert "Argent - Impôts - Consommation" in text and "Logement" in text
    assert "Papiers - Citoyenneté" not in text
    assert "Mandat long – 12 mois" in text
    assert "articles 1984 et suivants du Code civil" in text
    assert "surendettement" in text  # the argent warning is printed
    assert mandate.reference in text
    assert "https://mediation.example.org/mandats/verifier/" in text
    assert mandate.public_token in text.replace(" ", "")
    assert "Projet" not in text  # the final attestation is not a draft


def test_a_wrong_code_creates_nothing_and_counts_as_a_failed_sign_in(session, network, draft):
    with pytest.raises(ReauthenticationFailed) as error:
        services.create_mandate(session, network.aidant, draft(), totp_code="000000", consent=True)
    assert error.value.field == "totp_code"
    assert session.scalar(sa.select(sa.func.count()).select_from(Mandate)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 3  # one failure, three counters (per account and address, address, account)


def test_consent_is_required_before_the_code_is_even_checked(session, network, draft, code):
    with pytest.raises(ValidationFailed) as error:
        services.create_mandate(session, network.aidant, draft(), totp_code="000000", consent=False)
    assert error.value.field == "consent"
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 0


def test_every_wrong_choice_is_named(session, network, code):
    bad = services.MandateDraft(structure_id=network.structure_far.id, beneficiary_id=None,
                                demarches=["voyages"], duration="forever", identity_check=None)
    with pytest.raises(ValidationFailed) as error:
        services.create_mandate(session, network.aidant, bad, totp_code=code(network.aidant), consent=True)
    assert set(error.value.errors) == {"structure_id", "beneficiary_id", "demarches", "duration", "identity_check"}


def test_a_structure_may_restrict_the_demarches(session, network, draft, code):
    network.structure_a.allowed_mandate_scopes = ["papiers", "logement"]
    session.flush()
    with pytest.raises(ValidationFailed) as error:
        services.create_mandate(session, network.aidant, draft(demarches=["papiers", "argent"]),
                                totp_code=code(network.aidant), consent=True)
    assert "« Argent - Impôts - Consommation »" in error.value.errors["demarches"]
    assert services.allowed_demarches(network.structure_a) == [Demarche.PAPIERS, Demarche.LOGEMENT]
    mandate = services.create_mandate(session, network.aidant, draft(demarches=["logement"]),
                                      totp_code=code(network.aidant), consent=True)
    assert mandate.demarches == [Demarche.LOGEMENT]


@pytest.mark.parametrize("change", ["not_aidant", "no_training", "training_expired", "no_totp", "deactivated",
                                    "left_structure"])
def test_only_habilitated_aidants_of_the_structure_create(session, network, draft, code, change):
    aidant = network.aidant
    habilitation = session.scalar(sa.select(TrainingRecord).where(TrainingRecord.user_id == aidant.id))
    if change == "not_aidant":
        aidant.is_aidant = False
    elif change == "no_training":
        session.delete(habilitation)
    elif change == "training_expired":
        habilitation.expires_on = local_today() - timedelta(days=1)
    elif change == "no_totp":
        aidant.totp_enabled_at = None
    elif change == "deactivated":
        aidant.is_active_account = False
    else:
        aidant.memberships[0].ended_on = local_today() - timedelta(days=1)
    session.flush()
    with pytest.raises((Forbidden, ValidationFailed)):
        services.create_mandate(session, aidant, draft(), totp_code=code(aidant), consent=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Mandate)) == 0


def test_a_plain_mediator_cannot_create(session, network, draft, code):
    with pytest.raises(Forbidden):
        services.create_mandate(session, network.mediator, draft(), totp_code="123456", consent=True)


# --- the single live authorization ----------------------------------------------------------

def test_an_overlapping_mandate_replaces_the_older_live_authorization(session, network, make_mandate, draft,
                                                                       code):
    old = make_mandate(demarches=[Demarche.PAPIERS, Demarche.SOCIAL], days_ago=3)
    new = services.create_mandate(session, network.aidant, draft(demarches=["social", "logement"]),
                                  totp_code=code(network.aidant), consent=True)
    session.refresh(old)
    old_papiers, old_social = old.authorizations
    assert old_papiers.is_live()  # not covered by the new mandate
    assert old_social.status() == AuthorizationStatus.REMPLACEE
    assert old_social.revoked_at == new.created_at == old_social.closed_at
    assert old_social.revocation_reason == RevocationReason.REMPLACEE
    assert old_social.replaced_by_id == new.authorizations[0].id
    assert old.status() == MandateStatus.PARTIELLEMENT_REVOQUE
    live = session.scalars(sa.select(Authorization).where(
        Authorization.beneficiary_id == new.beneficiary_id, Authorization.demarche == Demarche.SOCIAL,
        Authorization.closed_at.is_(None))).all()
    assert [a.mandate_id for a in live] == [new.id]


def test_a_fully_replaced_mandate_is_closed_and_says_so(session, make_mandate):
    old = make_mandate(demarches=[Demarche.SOCIAL], days_ago=3)
    new = make_mandate(demarches=[Demarche.SOCIAL, Demarche.PAPIERS])
    session.refresh(old)
    assert old.closed_at == new.created_at
    assert old.status() == MandateStatus.REMPLACE


def test_expired_authorizations_are_closed_before_a_new_one_takes_their_place(session, make_mandate):
    old = make_mandate(demarches=[Demarche.SOCIAL], duration=MandateDuration.SHORT, days_ago=5)
    assert old.authorizations[0].closed_at is None  # expired, not yet closed
    new = make_mandate(demarches=[Demarche.SOCIAL])
    session.refresh(old)
    auth = old.authorizations[0]
    assert auth.closed_at == new.created_at and auth.revoked_at is None
    assert auth.status() == AuthorizationStatus.EXPIREE
    assert old.status() == MandateStatus.EXPIRE


def test_another_structure_may_hold_its_own_mandate_for_the_same_person(session, network, make_mandate, person,
                                                                         make_user):
    aidant_b = make_user(Role.MEDIATOR, structures=[network.structure_b], is_aidant=True,
                         aidant_trained_on=date(2025, 1, 1))
    a = make_mandate(demarches=[Demarche.SOCIAL])
    b = make_mandate(demarches=[Demarche.SOCIAL], structure=network.structure_b, actor=aidant_b)
    assert a.authorizations[0].is_live() and b.authorizations[0].is_live()


# --- use ------------------------------------------------------------------------------------

def test_a_use_is_journaled(session, network, make_mandate):
    mandate = make_mandate()
    before = _last_audit_id(session)
    use = services.use_authorization(session, network.aidant, mandate, "social", "  Demande de CSS  ")
    assert use.description == "Demande de CSS"
    assert use.structure_id == network.structure_a.id and use.used_by_id == network.aidant.id
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.id > before))
    assert event.action == "mandate.used"
    assert event.details == {"mandate_id": mandate.id, "demarche": "social", "use_id": use.id}


def test_an_expired_authorization_cannot_be_used(session, network, make_mandate):
    mandate = make_mandate(duration=MandateDuration.SHORT, days_ago=2)
    with pytest.raises(services.UnusableAuthorization) as error:
        services.use_authorization(session, network.aidant, mandate, "papiers", "Passeport")
    assert error.value.message.startswith("Ce mandat a expiré le ")
    assert "renouveler" in error.value.message
    assert session.scalar(sa.select(sa.func.count()).select_from(MandateUse)) == 0


def test_a_revoked_authorization_cannot_be_used(session, network, make_mandate):
    mandate = make_mandate()
    services.revoke_authorizations(session, network.aidant, mandate, [mandate.authorizations[0]],
                                   RevocationReason.DEMANDE_BENEFICIAIRE)
    with pytest.raises(services.UnusableAuthorization) as error:
        services.use_authorization(session, network.aidant, mandate, "papiers", "Passeport")
    assert "« Papiers - Citoyenneté - Élections » a été révoquée le " in error.value.message
    services.use_authorization(session, network.aidant, mandate, "social", "Carte vitale")  # the other still works


def test_a_replaced_authorization_points_to_the_new_mandate(session, network, make_mandate):
    old = make_mandate(demarches=[Demarche.SOCIAL], days_ago=1)
    make_mandate(demarches=[Demarche.SOCIAL])
    session.refresh(old)
    with pytest.raises(services.UnusableAuthorization) as error:
        services.use_authorization(session, network.aidant, old, "social", "Carte vitale")
    assert "remplacée" in error.value.message and "nouveau mandat" in error.value.message


def test_a_use_needs_a_covered_demarche_and_a_description(session, network, make_mandate):
    mandate = make_mandate()
    with pytest.raises(ValidationFailed, match="ne couvre pas"):
        services.use_authorization(session, network.aidant, mandate, "justice", "Plainte")
    with pytest.raises(ValidationFailed) as error:
        services.use_authorization(session, network.aidant, mandate, "social", "   ")
    assert error.value.field == "description"


def test_an_aidant_of_another_structure_cannot_use_it(session, make_mandate, aidant_far):
    mandate = make_mandate()
    with pytest.raises(Forbidden):
        services.use_authorization(session, aidant_far, mandate, "social", "Carte vitale")


# --- revocation -----------------------------------------------------------------------------

def test_revoking_one_demarche_with_the_code(session, network, make_mandate, code):
    mandate = make_mandate()
    before = _last_audit_id(session)
    revoked = services.revoke(session, network.aidant, mandate, ["social"], "fin_accompagnement",
                              totp_code=code(network.aidant))
    assert [a.demarche for a in revoked] == [Demarche.SOCIAL]
    assert revoked[0].revoked_by_id == network.aidant.id
    assert mandate.status() == MandateStatus.PARTIELLEMENT_REVOQUE and mandate.closed_at is None
    assert _actions(session, before) == ["mandate.authorization_revoked"]
    text = squash(pdf_text(services.revocation_pdf(mandate)))
    assert "Je soussigné·e, Josiane Leclerc, révoque en partie le mandat" in text
    assert "Social - Santé" in text and "Fin de l'accompagnement" in text
    assert "Papiers - Citoyenneté - Élections" not in text


def test_revoking_the_whole_mandate(session, network, make_mandate, code):
    mandate = make_mandate()
    before = _last_audit_id(session)
    services.revoke(session, network.aidant, mandate, None, "demande_beneficiaire", totp_code=code(network.aidant))
    assert mandate.status() == MandateStatus.REVOQUE and mandate.closed_at is not None
    assert _actions(session, before) == ["mandate.authorization_revoked"] * 2 + ["mandate.revoked"]
    text = squash(pdf_text(services.revocation_pdf(mandate)))
    assert "révoque le mandat" in text
    with pytest.raises(ValidationFailed, match="rien à révoquer"):
        services.revoke(session, network.aidant, mandate, None, "autre", totp_code=code(network.aidant))


def test_revocation_needs_the_code_and_a_reason(session, network, make_mandate, code):
    mandate = make_mandate()
    with pytest.raises(ValidationFailed) as error:
        services.revoke(session, network.aidant, mandate, ["social"], None, totp_code=code(network.aidant))
    assert error.value.field is None and "reason" in error.value.errors
    with pytest.raises(ValidationFailed):  # "remplacee" is for the application only
        services.revoke(session, network.aidant, mandate, ["social"], "remplacee", totp_code=code(network.aidant))
    with pytest.raises(ReauthenticationFailed):
        services.revoke(session, network.aidant, mandate, ["social"], "autre", totp_code="000000")
    assert all(a.is_live() for a in mandate.authorizations)


def test_an_aidant_of_another_structure_cannot_revoke(session, make_mandate, aidant_far, code):
    mandate = make_mandate()
    with pytest.raises(Forbidden):
        services.revoke(session, aidant_far, mandate, None, "autre", totp_code=code(aidant_far))
    assert all(a.is_live() for a in mandate.authorizations)


# --- renewal --------------------------------------------------------------------------------

def test_renewal_creates_a_new_mandate_and_replaces_the_old_scopes(session, network, make_mandate, code):
    old = make_mandate(duration=MandateDuration.MONTH, days_ago=25)
    assert services.is_renewable(old)
    renewal = services.renewal_draft(old)
    renewal.demarches = ["social"]
    renewal.duration = "long"
    new = services.create_mandate(session, network.aidant, renewal, totp_code=code(network.aidant), consent=True)
    session.refresh(old)
    assert new.renewed_from_id == old.id and new.duration == MandateDuration.LONG
    assert old.authorizations[1].status() == AuthorizationStatus.REMPLACEE
    assert old.authorizations[0].is_live()  # papiers was not renewed: it runs until its own end
    assert session.scalar(sa.select(AuditEvent.action).where(AuditEvent.object_type == "mandates",
                                                             AuditEvent.object_id == str(new.id))) == "mandate.renewed"


def test_what_can_be_renewed(session, network, make_mandate, make_person):
    expired = make_mandate(duration=MandateDuration.SHORT, days_ago=10)
    assert services.is_renewable(expired)
    long_gone = make_mandate(beneficiary=make_person(), duration=MandateDuration.SHORT, days_ago=400)
    assert not services.is_renewable(long_gone)
    revoked = make_mandate(beneficiary=make_person())
    services.revoke_authorizations(session, network.aidant, revoked, list(revoked.authorizations),
                                   RevocationReason.AUTRE)
    assert not services.is_renewable(revoked)


# --- transfer -------------------------------------------------------------------------------

def test_transfer_logs_the_real_previous_and_new_structure(session, network, make_mandate, code):
    mandate = make_mandate()
    services.transfer(session, network.coordinator, mandate, network.structure_b.id,
                      totp_code=code(network.coordinator))
    assert mandate.structure_id == network.structure_b.id
    assert {a.structure_id for a in mandate.authorizations} == {network.structure_b.id}
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "mandate.transferred"))
    assert event.details["from_structure_id"] == network.structure_a.id
    assert event.details["to_structure_id"] == network.structure_b.id
    assert event.actor_id == network.coordinator.id


def test_transfer_rules(session, network, make_mandate, code, make_user):
    mandate = make_mandate(demarches=[Demarche.SOCIAL])
    with pytest.raises(Forbidden):  # outside the coordinator's territory
        services.transfer(session, network.other_coordinator, mandate, network.structure_far.id,
                          totp_code=code(network.other_coordinator))
    with pytest.raises(ValidationFailed):  # target outside the territory
        services.transfer(session, network.coordinator, mandate, network.structure_far.id,
                          totp_code=code(network.coordinator))
    with pytest.raises(Forbidden):
        services.transfer(session, network.aidant, mandate, network.structure_b.id, totp_code=code(network.aidant))
    network.structure_b.allowed_mandate_scopes = ["papiers"]
    session.flush()
    with pytest.raises(ValidationFailed, match="n'autorise pas"):
        services.transfer(session, network.admin, mandate, network.structure_b.id, totp_code=code(network.admin))
    network.structure_b.allowed_mandate_scopes = None
    aidant_b = make_user(Role.MEDIATOR, structures=[network.structure_b], is_aidant=True,
                         aidant_trained_on=date(2025, 1, 1))
    make_mandate(demarches=[Demarche.SOCIAL], structure=network.structure_b, actor=aidant_b)
    with pytest.raises(Conflict, match="révoquez-le avant le transfert"):
        services.transfer(session, network.admin, mandate, network.structure_b.id, totp_code=code(network.admin))
    assert mandate.structure_id == network.structure_a.id


# --- the person's requests, the wallet ------------------------------------------------------

def test_mandates_in_force_for_the_wallet(session, network, make_mandate, person, make_person):
    in_force = make_mandate(demarches=[Demarche.SOCIAL])
    make_mandate(demarches=[Demarche.PAPIERS], duration=MandateDuration.SHORT, days_ago=3)  # expired
    revoked = make_mandate(demarches=[Demarche.LOGEMENT])
    services.revoke_authorizations(session, network.aidant, revoked, list(revoked.authorizations),
                                   RevocationReason.AUTRE)
    make_mandate(beneficiary=make_person(), demarches=[Demarche.SOCIAL])  # someone else
    assert services.mandates_in_force(session, person) == [in_force]


def test_a_revocation_request_is_tracked_until_acted_on(session, network, make_mandate, code, make_user):
    colleague = make_user(Role.MEDIATOR, structures=[network.structure_a], is_aidant=True,
                          aidant_trained_on=date(2025, 1, 1))
    make_user(Role.MEDIATOR, structures=[network.structure_a])  # not an aidant: not told
    mandate = make_mandate()
    request = services.request_revocation(session, mandate, channel=RevocationChannel.PORTEFEUILLE,
                                          demarches=["social"])
    assert request.status == RevocationRequestStatus.EN_ATTENTE
    notified = session.scalars(sa.select(MandateNotification.user_id).where(
        MandateNotification.kind == NotificationKind.DEMANDE_REVOCATION)).all()
    assert sorted(notified) == sorted([network.aidant.id, colleague.id])
    assert services.pending_requests(session, mandate) == [request]

    services.revoke(session, network.aidant, mandate, ["social"], "demande_beneficiaire",
                    totp_code=code(network.aidant), request=request)
    assert request.status == RevocationRequestStatus.TRAITEE
    assert request.handled_by_id == network.aidant.id and request.handled_at is not None
    assert services.pending_requests(session, mandate) == []


def test_a_request_can_be_closed_with_an_explanation(session, network, make_mandate):
    mandate = make_mandate()
    request = services.request_revocation(session, mandate, channel="accueil")
    with pytest.raises(ValidationFailed):
        services.close_request(session, network.aidant, request, "  ")
    services.close_request(session, network.aidant, request, "La personne a changé d'avis.")
    assert request.status == RevocationRequestStatus.CLOSE
    with pytest.raises(Conflict):
        services.close_request(session, network.aidant, request, "encore")


def test_nothing_to_request_on_an_ended_mandate(session, make_mandate):
    mandate = make_mandate(duration=MandateDuration.SHORT, days_ago=2)
    with pytest.raises(ValidationFailed, match="plus en vigueur"):
        services.request_revocation(session, mandate, channel="portefeuille")


# --- signed copy ----------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_signed_scan_is_checked_by_its_first_bytes(session, network, make_mandate):
    mandate = make_mandate()
    services.attach_signed_scan(session, network.aidant, mandate, PNG)
    assert mandate.signed_scan_type == "image/png" and mandate.signed_scan == PNG
    services.attach_signed_scan(session, network.aidant, mandate, b"%PDF-1.7 ...")
    assert mandate.signed_scan_type == "application/pdf"
    with pytest.raises(ValidationFailed, match="ni un PDF"):
        services.attach_signed_scan(session, network.aidant, mandate, b"<html>not a scan</html>")
    with pytest.raises(ValidationFailed, match="dépasse 5 Mo"):
        services.attach_signed_scan(session, network.aidant, mandate, b"%PDF-" + b"0" * services.SCAN_MAX_BYTES)
    with pytest.raises(ValidationFailed):
        services.attach_signed_scan(session, network.aidant, mandate, b"")
    assert mandate.signed_scan_type == "application/pdf"


# --- notifications and retention ------------------------------------------------------------

def test_expiry_notice_goes_once_to_the_active_aidants(session, network, make_mandate, make_person, make_user,
                                                       outbox):
    colleague = make_user(Role.MEDIATOR, structures=[network.structure_a], is_aidant=True,
                          aidant_trained_on=date(2025, 1, 1), email="collegue@test.example")
    gone = make_user(Role.MEDIATOR, structures=[network.structure_a], is_aidant=True,
                     aidant_trained_on=date(2025, 1, 1), email="parti@test.example")
    gone.is_active_account = False
    soon = make_mandate(duration=MandateDuration.SEMESTER, days_ago=170)  # 12 days left
    make_mandate(beneficiary=make_person(), duration=MandateDuration.SEMESTER, days_ago=100)  # 82 days left
    make_mandate(beneficiary=make_person(), duration=MandateDuration.MONTH, days_ago=20)  # short ones: no notice

    assert services.notify_expiring(session) == 1
    recipients = sorted(m["To"] for m in outbox)
    assert recipients == sorted([network.aidant.email, colleague.email])
    body = outbox[0].get_content()
    assert soon.reference in body and "Leclerc" not in body and "Josiane" not in body
    assert f"https://mediation.example.org/mandats/{soon.id}" in body
    kinds = session.scalars(sa.select(MandateNotification.user_id).where(
        MandateNotification.kind == NotificationKind.EXPIRATION_PROCHE)).all()
    assert sorted(kinds) == sorted([network.aidant.id, colleague.id])
    assert services.notify_expiring(session) == 0  # once only
    assert len(outbox) == 2


def test_mandates_are_anonymised_six_years_after_they_end(session, network, make_mandate, make_person):
    old = make_mandate(duration=MandateDuration.LONG, days_ago=365 * 7 + 2)  # ended ~6 years and 2 days ago
    services.record_use(session, network.aidant, old.authorizations[0], "Passeport", now=old.created_at)
    recent = make_mandate(beneficiary=make_person(), duration=MandateDuration.LONG, days_ago=365 * 6)
    before = _last_audit_id(session)

    assert services.anonymise_ended(session) == 1
    assert old.anonymised_at is not None and old.beneficiary_id is None and old.attestation_pdf is None
    assert all(a.beneficiary_id is None and a.closed_at is not None for a in old.authorizations)
    assert session.scalar(sa.select(MandateUse.description).where(MandateUse.mandate_id == old.id)) is None
    assert old.status() == MandateStatus.ANONYMISE
    assert old.attestation_sha256  # the proof of what was signed stays
    assert recent.anonymised_at is None
    assert _actions(session, before) == ["mandate.anonymised"]
    assert services.anonymise_ended(session) == 0


# --- per-structure démarches ----------------------------------------------------------------

def test_admin_and_coordinator_choose_the_structure_s_demarches(session, network):
    structure = network.structure_a
    services.set_allowed_demarches(session, network.coordinator, structure, ["social", "papiers"])
    assert structure.allowed_mandate_scopes == ["papiers", "social"]
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "mandate.structure_scopes"))
    assert event.details == {"before": None, "after": ["papiers", "social"]}
    services.set_allowed_demarches(session, network.admin, structure, [d.value for d in Demarche])
    assert structure.allowed_mandate_scopes is None  # all ten: no restriction
    with pytest.raises(ValidationFailed, match="au moins une démarche"):
        services.set_allowed_demarches(session, network.admin, structure, [])
    with pytest.raises(Forbidden):
        services.set_allowed_demarches(session, network.other_coordinator, structure, ["social"])
    with pytest.raises(Forbidden):
        services.set_allowed_demarches(session, network.aidant, structure, ["social"])


@pytest.mark.parametrize(("signed", "expected", "change"), [
    # signed at 15:41 in winter, 182 days later Paris is on summer time: 16:41 that day
    (datetime(2026, 12, 2, 14, 41, tzinfo=UTC), "le 2 juin 2027 à 16:41, heure de Paris", "l'heure d'été"),
    # signed in summer, expires in winter: an hour earlier on the clock
    (datetime(2027, 7, 1, 13, 41, tzinfo=UTC), "le 30 décembre 2027 à 14:41, heure de Paris", "l'heure d'hiver"),
    # no clock change in between: same hour, no explanation
    (datetime(2027, 4, 1, 14, 41, tzinfo=UTC), "le 30 septembre 2027 à 16:41, heure de Paris", None),
])
def test_expiry_is_the_instant_of_signature_plus_the_duration_explained_in_paris_time(
        session, network, person, signed, expected, change):
    checked = services.CheckedDraft(network.structure_a, person, [Demarche.SOCIAL], MandateDuration.SEMESTER,
                                    IdentityCheck.PIECE_IDENTITE, None)
    mandate = services.issue_mandate(session, network.aidant, checked, now=signed)
    assert mandate.expires_at == signed + timedelta(days=182)  # exact instant, in UTC
    text = squash(pdf_text(mandate.attestation_pdf))
    assert f"expire 182 jours (6 mois) après sa signature, soit {expected}" in text
    if change:
        assert f"à cause du passage à {change}" in text
    else:
        assert "à cause du passage" not in text
