"""Issuing, revoking and reissuing Open Badges; issuer profiles, badge classes and endorsements.

Rules:
- one badge class per milestone that awards a badge (``Milestone.awards_badge``), issued by the
  network profile of the pathway's territory; partner structures endorse classes;
- a badge is issued for a milestone validation, automatically when the validation is recorded
  (unless the template's settings say otherwise: then by hand), at most one live badge per
  validation;
- the recipient is the person's wallet: the opaque URL of their wallet (Open Badges identity type
  ``url``), hashed with a per-assertion salt. Never a phone number (a salted hash of a French
  mobile number is found by brute force in seconds); the e-mail only when the person asks, from
  their wallet, to attach a badge to it (:func:`attach_email`, to carry it into another wallet);
  badges issued to a phone number before are replaced by :func:`reissue_phone_identities`;
- revocation needs a reason; a mistake is fixed by revoke-and-reissue (both audited).

Services flush, never commit; audit details hold ids only.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from babel.dates import format_date
from flask import current_app
from sqlalchemy.orm import Session, joinedload, selectinload

from mediation.audit.services import record
from mediation.badges import documents, policy
from mediation.badges.models import (
    Assertion,
    BadgeClass,
    BadgeKind,
    Endorsement,
    IssuerKind,
    IssuerProfile,
    PathwayBadgeSettings,
    RecipientType,
    Wallet,
)
from mediation.cases.models import Beneficiary
from mediation.directory.models import Structure, Territory
from mediation.errors import Conflict, DomainError, NotFound, ValidationFailed
from mediation.pathways.enums import FRAMEWORKS, MilestoneKind, proficiency_label
from mediation.pathways.models import Enrolment, Milestone, MilestoneValidation, PathwayTemplate
from mediation.text import de
from mediation.types import utcnow

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def new_uid() -> str:
    return secrets.token_hex(16)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def to_e164(phone: str | None) -> str | None:
    """A French or international number in E.164 (``+33612345678``), or None if it is not one."""
    value = re.sub(r"[\s.\-()/]", "", phone or "")
    if value.startswith("00"):
        value = "+" + value[2:]
    if re.fullmatch(r"0[1-9]\d{8}", value):
        value = "+33" + value[1:]
    return value if re.fullmatch(r"\+[1-9]\d{7,14}", value) else None


def phone_variants(e164: str) -> list[str]:
    """How the same number may be stored (E.164 or French national form)."""
    variants = [e164]
    if e164.startswith("+33") and len(e164) == 12:
        variants.append("0" + e164[3:])
    return variants


def default_email() -> str:
    configured = current_app.config.get("MEDIATION_BADGES_EMAIL")
    if configured:
        return configured
    host = urlsplit(documents.base_url()).hostname or "mediation.local"
    return f"badges@{host}"


# --- issuer profiles ----------------------------------------------------------------------------

def network_issuer(session: Session, territory_id: int | None) -> IssuerProfile:
    """The network's issuer profile for a territory (None: the network as a whole), created on
    first use with the configured name, e-mail and the public address."""
    query = sa.select(IssuerProfile).where(IssuerProfile.kind == IssuerKind.RESEAU)
    query = query.where(IssuerProfile.territory_id.is_(None) if territory_id is None
                        else IssuerProfile.territory_id == territory_id)
    profile = session.scalar(query.order_by(IssuerProfile.id).limit(1))
    if profile is not None:
        return profile
    network = current_app.config["MEDIATION_NETWORK_NAME"]
    territory = session.get(Territory, territory_id) if territory_id else None
    profile = IssuerProfile(
        kind=IssuerKind.RESEAU, territory_id=territory_id,
        name=f"{network} — {territory.name}" if territory else network,
        description="Les structures de médiation numérique du territoire, qui valident ensemble les étapes "
                    "des parcours vers l'autonomie numérique.",
        email=default_email(), url=documents.base_url())
    session.add(profile)
    session.flush()
    return profile


def structure_issuer(session: Session, structure: Structure) -> IssuerProfile:
    """A partner structure's profile (to endorse badge classes), created on first use from the
    directory (its e-mail, website and phone when known)."""
    profile = session.scalar(sa.select(IssuerProfile).where(IssuerProfile.structure_id == structure.id))
    if profile is not None:
        return profile
    emails = [e for e in (structure.courriels or []) if EMAIL_RE.match(e or "")]
    profile = IssuerProfile(
        kind=IssuerKind.STRUCTURE, structure_id=structure.id, name=structure.name,
        description=structure.presentation_resume, email=emails[0] if emails else default_email(),
        url=structure.site_web if (structure.site_web or "").startswith(("http://", "https://"))
        else documents.base_url(),
        telephone=to_e164(structure.telephone))
    session.add(profile)
    session.flush()
    return profile


@dataclass
class IssuerInput:
    name: str | None = None
    description: str | None = None
    email: str | None = None
    url: str | None = None
    telephone: str | None = None


def update_issuer(session: Session, actor, profile: IssuerProfile, data: IssuerInput) -> IssuerProfile:
    """Edit a profile. Name, e-mail and web address are required (Open Badges issuer); every error is
    reported at once (ValidationFailed)."""
    errors: dict[str, str] = {}
    name, email, url = _clean(data.name), _clean(data.email), _clean(data.url)
    if not name:
        errors["name"] = "Veuillez indiquer le nom de l'émetteur"
    elif len(name) > 250:
        errors["name"] = "250 caractères au maximum"
    if not email or not EMAIL_RE.match(email) or len(email) > 254:
        errors["email"] = "Indiquez une adresse e-mail valide, par exemple contact@structure.fr"
    if not url or not re.fullmatch(r"https?://[^\s/]+\S*", url) or len(url) > 300:
        errors["url"] = "Indiquez une adresse web complète, commençant par https://"
    telephone = None
    if _clean(data.telephone):
        telephone = to_e164(data.telephone)
        if telephone is None:
            errors["telephone"] = "Numéro de téléphone invalide (par exemple 02 35 00 00 00)"
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    profile.name, profile.email, profile.url = name, email, url
    profile.description, profile.telephone = _clean(data.description), telephone
    session.flush()
    record(session, "badge.issuer_updated", actor=actor, obj=profile, structure_id=profile.structure_id)
    return profile


# --- settings per pathway template ---------------------------------------------------------------

def auto_issue(session: Session, template_id: int) -> bool:
    settings = session.get(PathwayBadgeSettings, template_id)
    return True if settings is None else settings.auto_issue


def set_auto_issue(session: Session, actor, template: PathwayTemplate, value: bool) -> PathwayBadgeSettings:
    settings = session.get(PathwayBadgeSettings, template.id)
    if settings is None:
        settings = PathwayBadgeSettings(template_id=template.id)
        session.add(settings)
    settings.auto_issue = bool(value)
    settings.updated_by_id = actor.id
    session.flush()
    record(session, "badge.settings_updated", actor=actor, object_type="pathway_templates", object_id=template.id,
           details={"auto_issue": settings.auto_issue})
    return settings


# --- badge classes ------------------------------------------------------------------------------

KIND_OF = {MilestoneKind.STEP: BadgeKind.ETAPE, MilestoneKind.LEVEL: BadgeKind.NIVEAU,
           MilestoneKind.PATHWAY: BadgeKind.PARCOURS}


def _alignments(milestone: Milestone) -> list[dict]:
    items = []
    for a in milestone.alignments:
        framework = FRAMEWORKS.get(a.framework)
        if framework is None:
            continue
        competence = framework.competences.get(a.code)
        level = proficiency_label(a.framework, a.level)
        items.append({
            "targetName": competence.name if competence else f"{framework.label} {a.code}",
            "targetUrl": framework.url,
            "targetDescription": framework.label_of(a.code) + (f", {level}" if level else ""),
            "targetFramework": framework.label,
            "targetCode": a.code,
        })
    return items


def _class_texts(milestone: Milestone, template: PathwayTemplate) -> dict:
    kind = KIND_OF[MilestoneKind(milestone.kind)]
    level = milestone.level
    if kind == BadgeKind.ETAPE:
        level_label = f"Niveau {level.position} · Étape"
        description = (f"La personne a validé l'étape « {milestone.title} » du niveau {level.position} "
                       f"« {level.title} » du parcours « {template.name} ».")
        criteria = (f"{milestone.criteria or milestone.title}\n\nL'étape est observée et validée par un médiateur "
                    "numérique d'une structure du réseau, lors d'un accompagnement ou d'un atelier.")
    elif kind == BadgeKind.NIVEAU:
        level_label = f"Niveau {level.position} atteint"
        steps = ", ".join(f"« {s.title} »" for s in level.steps)
        description = (f"La personne a atteint le niveau {level.position} « {level.title} » du parcours "
                       f"« {template.name} » : toutes ses étapes sont validées.")
        criteria = (f"{milestone.criteria or ''}\n\nÉtapes du niveau : {steps}.").strip()
    else:
        level_label = "Parcours complet"
        description = (f"La personne a terminé le parcours « {template.name} » : tous ses niveaux sont "
                       "atteints. Elle est autonome au quotidien avec le numérique.")
        criteria = f"{milestone.criteria or ''}\n\n{template.description or ''}".strip()
    tags = ["inclusion numérique", "médiation numérique", kind.label.lower()]
    tags += [f"{FRAMEWORKS[a.framework].label} {a.code}" for a in milestone.alignments if a.framework in FRAMEWORKS]
    return {"kind": kind, "name": milestone.title[:200], "description": description, "criteria": criteria,
            "level_label": level_label, "pathway_name": template.name[:200],
            "alignments": _alignments(milestone), "tags": list(dict.fromkeys(tags))}


def badge_class_for(session: Session, milestone: Milestone) -> BadgeClass:
    """The milestone's badge class, created from the milestone on first use."""
    badge_class = session.scalar(sa.select(BadgeClass).where(BadgeClass.milestone_id == milestone.id))
    if badge_class is not None:
        return badge_class
    template = milestone.version.template
    issuer = network_issuer(session, template.territory_id)
    badge_class = BadgeClass(milestone_id=milestone.id, issuer_id=issuer.id, **_class_texts(milestone, template))
    session.add(badge_class)
    session.flush()
    _carry_endorsements(session, badge_class, milestone)
    return badge_class


def _carry_endorsements(session: Session, badge_class: BadgeClass, milestone: Milestone) -> None:
    """The badge class of a step in a new pathway version keeps the endorsements of the same step's
    badge class in the version it was copied from (the nearest earlier version that has a class):
    each live endorsement is endorsed again, same endorser and comment, audited once."""
    source_id = milestone.copied_from_id
    previous = None
    while source_id is not None and previous is None:
        previous = session.scalar(sa.select(BadgeClass).where(BadgeClass.milestone_id == source_id))
        source_id = session.scalar(sa.select(Milestone.copied_from_id).where(Milestone.id == source_id))
    if previous is None:
        return
    carried = []
    for old in previous.live_endorsements:
        endorsement = Endorsement(uid=new_uid(), badge_class_id=badge_class.id, endorser_id=old.endorser_id,
                                  comment=old.comment, created_by_id=old.created_by_id)
        session.add(endorsement)
        carried.append(old.id)
    if carried:
        session.flush()
        session.expire(badge_class, ["endorsements"])
        record(session, "badge.endorsements_carried_over", obj=badge_class,
               details={"from_badge_class_id": previous.id, "endorsements": carried})


def publish_classes(session: Session, actor, template: PathwayTemplate) -> list[BadgeClass]:
    """Create the badge classes of the template's current version (to endorse them before anyone
    earns them)."""
    version = template.current_version
    classes = [badge_class_for(session, m) for m in version.milestones if m.awards_badge]
    record(session, "badge.classes_published", actor=actor, object_type="pathway_templates", object_id=template.id,
           details={"version": version.number, "classes": [c.id for c in classes]})
    return classes


@dataclass
class BadgeClassInput:
    description: str | None = None
    criteria: str | None = None
    tags: str | None = None


def update_badge_class(session: Session, actor, badge_class: BadgeClass, data: BadgeClassInput) -> BadgeClass:
    """Edit what the badge says (description, criteria, tags); its name follows the milestone."""
    errors = {}
    description, criteria = _clean(data.description), _clean(data.criteria)
    if not description:
        errors["description"] = "Décrivez ce que ce badge atteste"
    if not criteria:
        errors["criteria"] = "Décrivez les critères d'obtention"
    tags = [t.strip() for t in (data.tags or "").split(",") if t.strip()]
    if any(len(t) > 60 for t in tags):
        errors["tags"] = "60 caractères au maximum par mot-clé"
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    badge_class.description, badge_class.criteria, badge_class.tags = description, criteria, tags
    session.flush()
    record(session, "badge.class_updated", actor=actor, obj=badge_class)
    return badge_class


def endorse(session: Session, actor, badge_class: BadgeClass, structure: Structure, comment: str | None) -> Endorsement:
    """A partner structure endorses a badge class (once while live). Raises Conflict when it already
    does, ValidationFailed without a comment."""
    comment = _clean(comment)
    if not comment:
        raise ValidationFailed("Indiquez ce que la structure reconnaît dans ce badge", field="comment")
    if len(comment) > 1000:
        raise ValidationFailed("1 000 caractères au maximum", field="comment")
    endorser = structure_issuer(session, structure)
    live = session.scalar(sa.select(Endorsement.id).where(Endorsement.badge_class_id == badge_class.id,
                                                          Endorsement.endorser_id == endorser.id,
                                                          Endorsement.revoked_at.is_(None)))
    if live:
        raise Conflict("Cette structure approuve déjà ce badge.")
    endorsement = Endorsement(uid=new_uid(), badge_class_id=badge_class.id, endorser_id=endorser.id,
                              comment=comment, created_by_id=actor.id)
    session.add(endorsement)
    session.flush()
    session.expire(badge_class, ["endorsements"])
    record(session, "badge.endorsed", actor=actor, obj=endorsement, structure_id=structure.id,
           details={"badge_class_id": badge_class.id})
    return endorsement


def withdraw_endorsement(session: Session, actor, endorsement: Endorsement) -> Endorsement:
    if endorsement.revoked_at is not None:
        raise DomainError("Cette approbation est déjà retirée.")
    endorsement.revoked_at = utcnow()
    session.flush()
    session.expire(endorsement.badge_class, ["endorsements"])
    record(session, "badge.endorsement_withdrawn", actor=actor, obj=endorsement,
           structure_id=endorsement.endorser.structure_id)
    return endorsement


# --- recipients ---------------------------------------------------------------------------------

def wallet_for(session: Session, beneficiary: Beneficiary) -> Wallet:
    wallet = session.scalar(sa.select(Wallet).where(Wallet.beneficiary_id == beneficiary.id))
    if wallet is None:
        wallet = Wallet(beneficiary_id=beneficiary.id, uid=new_uid())
        session.add(wallet)
        session.flush()
    return wallet


def recipient_identity(session: Session, beneficiary: Beneficiary) -> tuple[RecipientType, str]:
    """The opaque URL of the person's wallet: public badges never carry a hash of a phone number,
    nor of an e-mail the person did not choose to attach (see :func:`attach_email`)."""
    return RecipientType.URL, documents.wallet_identity_url(wallet_for(session, beneficiary).uid)


def attachable_email(beneficiary: Beneficiary) -> str | None:
    """The person's e-mail as a badge recipient (normalised), if it is a valid one."""
    email = documents.normalise_email(beneficiary.email)
    return email if email and EMAIL_RE.match(email) else None


# --- issuing ------------------------------------------------------------------------------------

def _date_fr(value) -> str:
    from mediation.types import to_paris

    return format_date(to_paris(value).date() if hasattr(value, "tzinfo") else value, format="long", locale="fr_FR")


def evidence_text(validation: MilestoneValidation) -> str:
    """Public evidence: the validating structure and the activity (never the mediator's notes)."""
    structure = validation.structure.name if validation.structure else "une structure du réseau"
    milestone = validation.milestone
    if milestone.kind == MilestoneKind.STEP:
        text = f"Étape validée le {_date_fr(validation.validated_at)} par un médiateur numérique {de(structure)}"
    elif milestone.kind == MilestoneKind.LEVEL:
        text = (f"Niveau atteint le {_date_fr(validation.validated_at)} : toutes ses étapes sont validées "
                f"(dernière validation : {structure})")
    else:
        text = (f"Parcours terminé le {_date_fr(validation.validated_at)} : tous ses niveaux sont atteints "
                f"(dernière validation : {structure})")
    activity = validation.activity
    if activity is not None:
        if activity.is_workshop:
            title = f" « {activity.workshop_title} »" if activity.workshop_title else ""
            text += f", lors de l'atelier collectif{title} du {_date_fr(activity.date)}"
        else:
            text += f", lors d'un accompagnement individuel du {_date_fr(activity.date)}"
        if activity.structure_id != validation.structure_id and activity.structure is not None:
            text += f" à {activity.structure.name}"
    return text + "."


def _issue(session: Session, actor, validation: MilestoneValidation, *, automatic: bool,
           reissue_of: Assertion | None = None,
           recipient: tuple[RecipientType, str] | None = None) -> Assertion:
    milestone = validation.milestone
    if not milestone.awards_badge:
        raise DomainError(f"L'étape « {milestone.title} » ne délivre pas de badge.")
    live = session.scalar(sa.select(Assertion.id).where(Assertion.validation_id == validation.id,
                                                        Assertion.revoked_at.is_(None)))
    if live:
        raise Conflict("Un badge a déjà été délivré pour cette validation.")
    beneficiary = validation.enrolment.case.beneficiary
    badge_class = badge_class_for(session, milestone)
    recipient_type, identity = recipient or recipient_identity(session, beneficiary)
    salt = secrets.token_hex(16)
    assertion = Assertion(
        uid=new_uid(), badge_class_id=badge_class.id, beneficiary_id=beneficiary.id, validation_id=validation.id,
        structure_id=validation.structure_id, activity_id=validation.activity_id,
        issued_by_id=getattr(actor, "id", None), issued_at=utcnow(), automatic=automatic,
        recipient_type=recipient_type, salt=salt, identity_hash=documents.hash_identity(identity, salt),
        evidence=evidence_text(validation), reissue_of_id=reissue_of.id if reissue_of else None)
    session.add(assertion)
    session.flush()
    record(session, "badge.reissued" if reissue_of else "badge.issued", actor=actor, obj=assertion,
           structure_id=validation.structure_id,
           details={"badge_class_id": badge_class.id, "validation_id": validation.id,
                    "beneficiary_id": beneficiary.id, "recipient_type": recipient_type.value,
                    "automatic": automatic, **({"reissue_of": reissue_of.id} if reissue_of else {})})
    return assertion


def issue_for_validation(session: Session, actor, validation: MilestoneValidation, *,
                         force: bool = False) -> list[Assertion]:
    """Hook called by the pathways service right after a step is validated: when the template issues
    badges automatically (or ``force``: by hand, for a workshop), issue the step's badge and those of
    the level/pathway completions that this validation triggered (automatic validations recorded
    after it). Validations that already had a badge are left alone."""
    enrolment = validation.enrolment
    if not force and not auto_issue(session, enrolment.template_id):
        return []
    triggered = session.scalars(
        sa.select(MilestoneValidation).where(MilestoneValidation.enrolment_id == enrolment.id,
                                             MilestoneValidation.automatic,
                                             MilestoneValidation.id > validation.id)
        .order_by(MilestoneValidation.id)).all()
    issued = []
    for v in [validation, *triggered]:
        if v.milestone.awards_badge and not _has_assertion(session, v):
            issued.append(_issue(session, actor, v, automatic=not force))
    return issued


def _has_assertion(session: Session, validation: MilestoneValidation) -> bool:
    return session.scalar(sa.select(Assertion.id).where(Assertion.validation_id == validation.id).limit(1)) is not None


def pending_validations(session: Session, case) -> list[MilestoneValidation]:
    """The case's validations of badge-awarding milestones that never had a badge."""
    issued = sa.select(Assertion.validation_id).where(Assertion.validation_id.is_not(None))
    return list(session.scalars(
        sa.select(MilestoneValidation)
        .join(Enrolment, Enrolment.id == MilestoneValidation.enrolment_id)
        .join(Milestone, Milestone.id == MilestoneValidation.milestone_id)
        .where(Enrolment.case_id == case.id, Milestone.awards_badge, MilestoneValidation.id.not_in(issued))
        .options(joinedload(MilestoneValidation.milestone))
        .order_by(MilestoneValidation.validated_at, MilestoneValidation.id)))


def issue_manually(session: Session, actor, case, validation_id: int) -> Assertion:
    """A mediator issues the badge of one of the case's validations. Raises NotFound (not a
    validation of this case), Conflict (already issued), DomainError (milestone awards none)."""
    if not policy.can_issue(actor):
        raise NotFound("Dossier introuvable.")
    validation = session.scalar(
        sa.select(MilestoneValidation).join(Enrolment, Enrolment.id == MilestoneValidation.enrolment_id)
        .where(MilestoneValidation.id == validation_id, Enrolment.case_id == case.id))
    if validation is None:
        raise NotFound("Cette validation n'appartient pas à ce dossier.")
    if _has_assertion(session, validation):
        raise Conflict("Un badge a déjà été délivré pour cette validation : révoquez-le et délivrez-le à nouveau "
                       "en cas d'erreur.")
    return _issue(session, actor, validation, automatic=False)


def revoke(session: Session, actor, assertion: Assertion, reason: str | None) -> Assertion:
    """Revoke with a reason: the hosted assertion answers 410, its baked image is gone and it joins
    the issuer's revocation list."""
    assertion.revoke(reason or "", getattr(actor, "id", None))
    session.flush()
    record(session, "badge.revoked", actor=actor, obj=assertion, structure_id=assertion.structure_id,
           details={"badge_class_id": assertion.badge_class_id, "beneficiary_id": assertion.beneficiary_id})
    return assertion


def reissue(session: Session, actor, assertion: Assertion, reason: str | None) -> Assertion:
    """Revoke-and-reissue: fixes an issuing mistake (wrong contact, corrected evidence). The new
    badge has a new salt and identity and points to the revoked one: the wallet's opaque URL, or
    the person's current e-mail when they had attached the badge to their e-mail."""
    if assertion.validation_id is None:
        raise DomainError("Ce badge n'est lié à aucune validation : il ne peut pas être délivré à nouveau.")
    if not assertion.is_revoked:
        revoke(session, actor, assertion, reason)
    email = attachable_email(assertion.beneficiary)
    recipient = (RecipientType.EMAIL, email) if assertion.recipient_type == RecipientType.EMAIL and email else None
    return _issue(session, actor, assertion.validation, automatic=False, reissue_of=assertion, recipient=recipient)


def _replace(session: Session, actor, old: Assertion, reason: str, recipient: tuple[RecipientType, str],
             action: str) -> Assertion:
    """Revoke ``old`` with ``reason`` and issue the same badge (class, evidence, validation) to
    ``recipient`` with a new salt, pointing to ``old``. Audited as ``action``."""
    recipient_type, identity = recipient
    revoke(session, actor, old, reason)
    salt = secrets.token_hex(16)
    new = Assertion(
        uid=new_uid(), badge_class_id=old.badge_class_id, beneficiary_id=old.beneficiary_id,
        validation_id=old.validation_id, structure_id=old.structure_id, activity_id=old.activity_id,
        issued_by_id=getattr(actor, "id", None), issued_at=utcnow(), automatic=old.automatic,
        recipient_type=recipient_type, salt=salt, identity_hash=documents.hash_identity(identity, salt),
        evidence=old.evidence, reissue_of_id=old.id)
    session.add(new)
    session.flush()
    record(session, action, actor=actor, obj=new, structure_id=old.structure_id,
           details={"badge_class_id": old.badge_class_id, "beneficiary_id": old.beneficiary_id,
                    "recipient_type": recipient_type.value, "reissue_of": old.id})
    return new


EMAIL_ATTACHED_REASON = ("Badge délivré à nouveau, rattaché à l'adresse e-mail de la personne à sa demande "
                         "(pour l'ajouter à un autre portefeuille de badges).")
PHONE_IDENTITY_REASON = ("Badge délivré à nouveau au carnet de la personne : l'identité du titulaire ne repose "
                         "plus sur son numéro de téléphone (protection des données personnelles).")


def attach_email(session: Session, wallet: Wallet, uid: str) -> Assertion:
    """The person, from their wallet, attaches one of their live badges to their e-mail (the one
    their mediator recorded), to add it to another badge wallet: the badge is issued again with
    the e-mail as hashed recipient and the previous one is revoked with a reason. Audited. Raises
    NotFound (not a live badge of this wallet), DomainError (no valid e-mail, already attached)."""
    assertion = session.scalar(sa.select(Assertion).where(Assertion.uid == uid,
                                                          Assertion.beneficiary_id == wallet.beneficiary_id,
                                                          Assertion.revoked_at.is_(None)))
    if assertion is None:
        raise NotFound("Ce badge n'est pas dans votre carnet.")
    email = attachable_email(wallet.beneficiary)
    if email is None:
        raise DomainError("Votre médiateur n'a pas enregistré d'adresse e-mail valide : demandez-lui de l'ajouter.")
    if assertion.recipient_type == RecipientType.EMAIL and documents.hash_identity(email, assertion.salt) \
            == assertion.identity_hash:
        raise DomainError("Ce badge est déjà rattaché à votre adresse e-mail.")
    return _replace(session, None, assertion, EMAIL_ATTACHED_REASON, (RecipientType.EMAIL, email),
                    "badge.email_attached")


def reissue_phone_identities(session: Session, actor=None) -> list[tuple[Assertion, Assertion]]:
    """Every live badge whose hashed recipient is a phone number is issued again to the person's
    wallet (opaque URL) and revoked with :data:`PHONE_IDENTITY_REASON` (shown by the revoked
    assertion and the revocation list). Returns (old, new) pairs; audited one by one and as a whole."""
    found = session.scalars(sa.select(Assertion).where(Assertion.recipient_type == RecipientType.TELEPHONE,
                                                       Assertion.revoked_at.is_(None)).order_by(Assertion.id)).all()
    pairs = []
    for old in found:
        recipient = recipient_identity(session, old.beneficiary)
        pairs.append((old, _replace(session, actor, old, PHONE_IDENTITY_REASON, recipient,
                                    "badge.reissued_without_phone")))
    record(session, "badge.phone_identities_reissued", actor=actor, object_type="badge_assertions",
           object_id=None, details={"count": len(pairs), "assertions": [new.id for _old, new in pairs]})
    return pairs


# --- reading ------------------------------------------------------------------------------------

def assertions_of(session: Session, beneficiary_id: int, *, live_only: bool = False) -> list[Assertion]:
    query = (sa.select(Assertion).where(Assertion.beneficiary_id == beneficiary_id)
             .options(selectinload(Assertion.badge_class).selectinload(BadgeClass.issuer),
                      selectinload(Assertion.badge_class).selectinload(BadgeClass.endorsements)
                      .selectinload(Endorsement.endorser),
                      selectinload(Assertion.structure))
             .order_by(Assertion.issued_at.desc(), Assertion.id.desc()))
    if live_only:
        query = query.where(Assertion.revoked_at.is_(None))
    return list(session.scalars(query))


def get_public_assertion(session: Session, uid: str) -> Assertion | None:
    return session.scalar(sa.select(Assertion).where(Assertion.uid == uid)
                          .options(joinedload(Assertion.badge_class).joinedload(BadgeClass.issuer)))


def revoked_assertions(session: Session, profile: IssuerProfile) -> list[Assertion]:
    return list(session.scalars(
        sa.select(Assertion).join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
        .where(BadgeClass.issuer_id == profile.id, Assertion.revoked_at.is_not(None))
        .order_by(Assertion.revoked_at, Assertion.id)))


def recipient_matches(assertion: Assertion, value: str | None) -> bool:
    """Does ``value`` (an e-mail or a phone number typed by a verifier) match the hashed recipient?"""
    value = _clean(value)
    if not value:
        return False
    recipient_type = RecipientType(assertion.recipient_type)
    if recipient_type == RecipientType.EMAIL:
        candidate = documents.normalise_email(value)
    elif recipient_type == RecipientType.TELEPHONE:
        candidate = to_e164(value)
    else:
        candidate = value
    return bool(candidate) and documents.hash_identity(candidate, assertion.salt) == assertion.identity_hash


def bake_assertion_png(assertion: Assertion) -> bytes:
    from mediation.badges import baking, images

    png = images.badge_png(assertion.badge_class, current_app.config["MEDIATION_NETWORK_NAME"])
    return baking.bake_png(png, documents.dumps(documents.assertion_document(assertion)))


def bake_assertion_svg(assertion: Assertion) -> str:
    from mediation.badges import baking, images

    svg = images.badge_svg(assertion.badge_class, current_app.config["MEDIATION_NETWORK_NAME"])
    return baking.bake_svg(svg, documents.dumps(documents.assertion_document(assertion)),
                           documents.assertion_url(assertion))
