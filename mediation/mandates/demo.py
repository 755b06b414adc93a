"""Demo mandates for ``aidant@demo.test``'s structure (France Services Rouen Grammont), in every
state: in force, partly revoked, revoked, expired, replaced by a renewal, about to expire (with
its notifications), with a journal of uses, a signed copy and a pending revocation request. The
CCAS de Sotteville restricts the démarches its aidants may use."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.cases import services as cases_services
from mediation.cases.models import Beneficiary
from mediation.mandates import services
from mediation.mandates.enums import (
    Demarche,
    IdentityCheck,
    MandateDuration,
    RevocationChannel,
    RevocationReason,
)
from mediation.types import utcnow

PEOPLE = [("Josiane", "Leclerc"), ("Mamadou", "Diallo"), ("Ginette", "Morel"), ("Youssef", "Haddad"),
          ("Odette", "Lemoine"), ("René", "Fournier")]


def _people(session: Session, structure, aidant) -> list[Beneficiary]:
    """Identified people followed in the structure (those of the cases demo, or a few created here)."""
    found = list(session.scalars(
        sa.select(Beneficiary).where(Beneficiary.owner_structure_id == structure.id,
                                     Beneficiary.anonymous.is_(False), Beneficiary.deleted_at.is_(None),
                                     Beneficiary.merged_into_id.is_(None))
        .order_by(Beneficiary.id).limit(len(PEOPLE))
    ))
    for first, last in PEOPLE[len(found):]:
        found.append(cases_services.create_beneficiary(
            session, aidant, structure.id, cases_services.BeneficiaryInput(first_name=first, last_name=last)))
    return found


def load_mandates_demo(session: Session, *, territory, structures, users, aidant_email: str = "aidant@demo.test",
                       **_ignored) -> None:
    structure = structures[0]  # France Services Rouen Grammont
    aidant = next(u for u in users if u.email == aidant_email)
    if len(structures) > 2:  # CCAS de Sotteville-lès-Rouen
        structures[2].allowed_mandate_scopes = [d.value for d in (Demarche.PAPIERS, Demarche.FAMILLE, Demarche.SOCIAL,
                                                                    Demarche.LOGEMENT, Demarche.ARGENT)]
    people = _people(session, structure, aidant)
    now = utcnow()

    def issue(person, demarches, duration, days_ago, identity=IdentityCheck.PIECE_IDENTITE, renewed_from=None):
        checked = services.CheckedDraft(structure, person, list(demarches), duration, identity, renewed_from)
        return services.issue_mandate(session, aidant, checked, now=now - timedelta(days=days_ago))

    def use(mandate, demarche, days_ago, text):
        auth = next(a for a in mandate.authorizations if a.demarche == demarche)
        services.record_use(session, aidant, auth, text, now=now - timedelta(days=days_ago))

    # In force for a year, used twice, signed copy attached, and the person asked (online) to revoke one scope.
    in_force = issue(people[0], [Demarche.PAPIERS, Demarche.SOCIAL, Demarche.LOGEMENT], MandateDuration.LONG, 20)
    use(in_force, Demarche.SOCIAL, 18, "Demande de complémentaire santé solidaire")
    use(in_force, Demarche.LOGEMENT, 6, "Mise à jour de la déclaration de ressources (aide au logement)")
    in_force.signed_scan = in_force.attestation_pdf
    in_force.signed_scan_type = "application/pdf"
    in_force.signed_scan_sha256 = in_force.attestation_sha256
    in_force.signed_scan_at = in_force.created_at + timedelta(hours=1)
    services.request_revocation(session, in_force, channel=RevocationChannel.PORTEFEUILLE,
                                demarches=[Demarche.LOGEMENT.value], now=now - timedelta(days=1))

    # Partly revoked: "Travail" revoked at the end of the accompaniment, "Argent" still in force.
    partly = issue(people[1], [Demarche.ARGENT, Demarche.TRAVAIL], MandateDuration.SEMESTER, 60)
    use(partly, Demarche.TRAVAIL, 45, "Actualisation mensuelle France Travail")
    use(partly, Demarche.ARGENT, 30, "Déclaration de revenus en ligne")
    services.revoke_authorizations(session, aidant, partly, [a for a in partly.authorizations
                                                             if a.demarche == Demarche.TRAVAIL],
                                   RevocationReason.FIN_ACCOMPAGNEMENT, now=now - timedelta(days=10))

    # Revoked entirely, at the person's request.
    revoked = issue(people[2], [Demarche.FAMILLE], MandateDuration.MONTH, 15)
    services.revoke_authorizations(session, aidant, revoked, list(revoked.authorizations),
                                   RevocationReason.DEMANDE_BENEFICIAIRE, now=now - timedelta(days=5))

    # Expired: a one-day mandate, used once.
    expired = issue(people[3], [Demarche.TRANSPORTS], MandateDuration.SHORT, 40)
    use(expired, Demarche.TRANSPORTS, 40, "Demande de certificat d'immatriculation")

    # Replaced: a one-year mandate renewed ten days before its end (the renewal is in force).
    old = issue(people[4], [Demarche.JUSTICE, Demarche.ETRANGER], MandateDuration.LONG, 355,
                identity=IdentityCheck.FRANCE_CONNECT)
    use(old, Demarche.ETRANGER, 200, "Renouvellement du titre de séjour")
    issue(people[4], [Demarche.ETRANGER, Demarche.JUSTICE], MandateDuration.LONG, 10,
          identity=IdentityCheck.DEJA_VERIFIEE, renewed_from=old)

    # About to expire (6-month mandate, 22 days left): the aidants are told in the app and by e-mail.
    issue(people[5], [Demarche.SOCIAL, Demarche.LOISIRS], MandateDuration.SEMESTER, 160)
    session.flush()
    services.notify_expiring(session, now=now)
