"""French labels for the audit log page: object types, detail keys and values. Anything not listed
is shown as it is stored (never hidden), so a new domain's events stay readable, only less nicely."""

from __future__ import annotations

import re
from datetime import date, datetime

OBJECT_LABELS: dict[str, str] = {
    "activities": "Activité", "api_tokens": "Jeton d'API", "assessments": "Diagnostic",
    "badge_assertions": "Badge délivré", "badge_classes": "Modèle de badge", "badge_endorsements": "Approbation de badge",
    "badge_issuers": "Émetteur de badges", "beneficiaries": "Bénéficiaire", "beneficiary_merges": "Fusion de bénéficiaires",
    "case_notes": "Note de dossier", "case_transfers": "Réaffectation de dossier", "cases": "Dossier",
    "communes": "Commune", "consents": "Consentement", "evaluation_reports": "Rapport d'impact",
    "external_badges": "Badge externe", "follow_ups": "Relance", "funders": "Financeur", "import_uploads": "Import",
    "jobs": "Tâche", "mandate_authorizations": "Autorisation de mandat",
    "mandate_revocation_requests": "Demande de révocation de mandat", "mandate_uses": "Utilisation de mandat",
    "mandates": "Mandat", "mediator_loans": "Mise à disposition", "milestone_validations": "Validation d'étape",
    "milestones": "Étape de parcours", "pathway_badge_settings": "Réglages des badges d'un parcours",
    "pathway_enrolments": "Inscription à un parcours", "pathway_templates": "Parcours", "pathway_versions": "Version de parcours",
    "programmes": "Programme de financement", "referrals": "Orientation", "staff_memberships": "Rattachement",
    "structures": "Structure", "system": "Application", "territories": "Territoire", "users": "Compte",
    "wallet_cards": "Carte de carnet", "wallets": "Carnet de badges",
}

DETAIL_LABELS: dict[str, str] = {
    "activity_id": "activité", "after": "après", "assessment_id": "diagnostic", "auto_issue": "délivrance automatique",
    "automatic": "automatique", "badge_class_id": "modèle de badge", "based_on": "d'après", "batch": "lot",
    "before": "avant", "beneficiary_id": "bénéficiaire", "case_id": "dossier", "change": "changement",
    "channel": "canal", "classes": "modèles", "commune": "commune", "commune_id": "commune", "consent": "consentement",
    "count": "nombre", "days": "jours", "decline_reason": "motif du refus", "delay_days": "délai (jours)",
    "demarche": "démarche", "demarches": "démarches", "destination_id": "destination", "duration": "durée",
    "ended_at": "fin", "ended_on": "fin", "ends_on": "fin", "enrolment_id": "inscription", "expires_at": "expiration",
    "fields": "champs", "format": "format", "from": "de", "from_mediator_id": "médiateur·rice d'origine",
    "from_structure_id": "structure d'origine", "funder_id": "financeur", "identity_check": "vérification d'identité",
    "kind": "type", "levels": "niveaux", "mandate_id": "mandat", "mediator_id": "médiateur·rice",
    "mediators": "médiateur·rices", "merge_id": "fusion", "method": "méthode", "milestone_id": "étape",
    "moment": "moment", "months": "mois", "on": "le", "params": "paramètres", "participants": "participant·es",
    "previous_funder_id": "financeur précédent", "reason": "motif", "recipient_type": "destinataire",
    "recipients": "destinataires", "referral_id": "orientation", "reissue_of": "nouvelle délivrance de",
    "remaining": "restant", "renewed_from": "renouvelle le mandat", "replaced_by": "remplacé par", "role": "rôle",
    "scope": "portée", "scopes": "portées", "search": "recherche", "source": "source", "source_id": "origine",
    "started_on": "début", "starts_on": "début", "status": "statut", "step": "étape", "structure_id": "structure",
    "structures": "structures", "template": "modèle", "template_id": "parcours", "territory": "territoire",
    "territory_id": "territoire", "to": "vers", "to_mediator_id": "médiateur·rice d'accueil",
    "to_structure_id": "structure d'accueil", "transfer_id": "réaffectation", "transfer_reason": "motif de la réaffectation",
    "type": "type", "use_id": "utilisation", "user": "compte", "validation_id": "validation", "version": "version",
    "wallet_id": "carnet", "attestation_sha256": "empreinte de l'attestation",
}

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def object_label(object_type: str | None, object_id: str | None) -> str:
    label = OBJECT_LABELS.get(object_type or "", object_type or "—")
    return f"{label} n° {object_id}" if object_id else label


def detail_label(key: str) -> str:
    return DETAIL_LABELS.get(key, key.replace("_", " "))


def detail_value(value, format_datetime=None, format_date=None) -> str:
    """None → « — », booleans → oui/non, lists joined, ISO dates in French when formatters are given."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list | tuple):
        return ", ".join(detail_value(v, format_datetime, format_date) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{detail_label(k)} : {detail_value(v, format_datetime, format_date)}" for k, v in value.items())
    if isinstance(value, str) and format_datetime and _ISO_DATETIME.match(value):
        try:
            return format_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return value
    if isinstance(value, str) and format_date and _ISO_DATE.match(value):
        return format_date(date.fromisoformat(value))
    return str(value)
