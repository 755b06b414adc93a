"""Open Badges 2.0: issuer profiles, badge classes, endorsements, assertions; the beneficiary's
wallet (« mon carnet »: printed cards, one-time codes, throttled attempts); external badges
verified and imported into a case.

Hosted documents are built from these rows by :mod:`mediation.badges.documents`; their ``id``
URLs come from ``MEDIATION_PUBLIC_BASE_URL``, never from a stored absolute URL.

Assertion lifecycle: *valide* → *révoquée* (with a reason; the hosted assertion then answers 410
with a stub and its baked image is no longer served). A mistake is fixed by revoke-and-reissue:
the new assertion points to the revoked one (``reissue_of_id``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.errors import DomainError
from mediation.extensions import db
from mediation.types import LabelledEnum, UTCDateTime, enum_column, utcnow

__all__ = [
    "Assertion",
    "BadgeClass",
    "BadgeKind",
    "Endorsement",
    "ExternalBadge",
    "IssuerKind",
    "IssuerProfile",
    "PathwayBadgeSettings",
    "RecipientType",
    "Wallet",
    "WalletAttempt",
    "WalletCard",
    "WalletCode",
]


def _fk(target: str, *, nullable: bool = False, index: bool = True):
    return mapped_column(sa.ForeignKey(target, ondelete="RESTRICT"), index=index, nullable=nullable)


class IssuerKind(LabelledEnum):
    RESEAU = ("reseau", "Réseau du territoire")
    STRUCTURE = ("structure", "Structure partenaire")


class BadgeKind(LabelledEnum):
    """What a badge class proves: a step, a level reached, or the whole pathway."""

    ETAPE = ("etape", "Étape")
    NIVEAU = ("niveau", "Niveau atteint")
    PARCOURS = ("parcours", "Parcours terminé")


class RecipientType(LabelledEnum):
    """The recipient identity: ``url`` (the person's wallet, opaque) by default; ``email`` only when
    the person attached the badge to their e-mail; ``telephone`` only on badges issued before (a
    hashed phone number is found by brute force: ``flask badges reissue-phone-identities``)."""

    EMAIL = ("email", "Adresse e-mail")
    TELEPHONE = ("telephone", "Numéro de téléphone")
    URL = ("url", "Carnet de badges (identifiant opaque)")


class IssuerProfile(db.Model):
    """An Open Badges issuer ``Profile``: the territory's network (issues the pathway badges) or a
    partner structure (endorses badge classes). ``email`` and ``url`` are required by the spec."""

    __tablename__ = "badge_issuers"
    __table_args__ = (
        sa.CheckConstraint("(kind = 'structure') = (structure_id IS NOT NULL)", name="structure_kind"),
        sa.CheckConstraint("kind = 'reseau' OR territory_id IS NULL", name="territory_only_network"),
        sa.Index("uq_badge_issuers_network", "territory_id", unique=True,
                 sqlite_where=sa.text("kind = 'reseau'"), postgresql_where=sa.text("kind = 'reseau'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[IssuerKind] = mapped_column(enum_column(IssuerKind, 20))
    territory_id: Mapped[int | None] = _fk("territories.id", nullable=True, index=False)
    structure_id: Mapped[int | None] = mapped_column(sa.ForeignKey("structures.id", ondelete="RESTRICT"),
                                                     unique=True, nullable=True)
    name: Mapped[str] = mapped_column(sa.String(250))
    description: Mapped[str | None] = mapped_column(sa.Text)
    email: Mapped[str] = mapped_column(sa.String(254))
    url: Mapped[str] = mapped_column(sa.String(300))
    telephone: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    territory = relationship("Territory")
    structure = relationship("Structure")

    def __str__(self) -> str:
        return self.name


class PathwayBadgeSettings(db.Model):
    """Per pathway template: are badges issued automatically when a milestone is validated?
    (absent row: yes). When not, mediators issue them by hand (alone or for a whole workshop)."""

    __tablename__ = "pathway_badge_settings"

    template_id: Mapped[int] = mapped_column(sa.ForeignKey("pathway_templates.id", ondelete="RESTRICT"),
                                             primary_key=True)
    auto_issue: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = _fk("users.id", nullable=True)


class BadgeClass(db.Model):
    """One badge class per milestone that awards a badge (step, level reached, pathway), built from
    the milestone when first needed; its text is then its own (a hosted class must stay stable)."""

    __tablename__ = "badge_classes"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(sa.ForeignKey("milestones.id", ondelete="RESTRICT"), unique=True)
    issuer_id: Mapped[int] = _fk("badge_issuers.id")
    kind: Mapped[BadgeKind] = mapped_column(enum_column(BadgeKind, 20))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    criteria: Mapped[str] = mapped_column(sa.Text)
    level_label: Mapped[str] = mapped_column(sa.String(60))
    pathway_name: Mapped[str] = mapped_column(sa.String(200))
    alignments: Mapped[list] = mapped_column(sa.JSON, default=list)
    tags: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    issuer: Mapped[IssuerProfile] = relationship()
    milestone = relationship("Milestone")
    endorsements: Mapped[list[Endorsement]] = relationship(
        back_populates="badge_class", order_by="Endorsement.issued_at")

    @property
    def live_endorsements(self) -> list[Endorsement]:
        return [e for e in self.endorsements if e.revoked_at is None]

    @property
    def image_alt(self) -> str:
        return f"Badge « {self.name} » ({self.level_label}), délivré par {self.issuer.name}"

    def __str__(self) -> str:
        return self.name


class Endorsement(db.Model):
    """A partner structure (or the network) endorses a badge class: it recognises what it proves.
    Hosted by the app (an Open Badges ``Endorsement``)."""

    __tablename__ = "badge_endorsements"
    __table_args__ = (
        sa.Index("uq_badge_endorsements_live", "badge_class_id", "endorser_id", unique=True,
                 sqlite_where=sa.text("revoked_at IS NULL"), postgresql_where=sa.text("revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(32), unique=True)
    badge_class_id: Mapped[int] = _fk("badge_classes.id")
    endorser_id: Mapped[int] = _fk("badge_issuers.id")
    comment: Mapped[str] = mapped_column(sa.Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    badge_class: Mapped[BadgeClass] = relationship(back_populates="endorsements")
    endorser: Mapped[IssuerProfile] = relationship()


class Assertion(db.Model):
    """A badge awarded to a person. The recipient identity is hashed with a per-assertion salt: the
    opaque URL of the person's wallet, or their e-mail (normalised) when they attached the badge to
    it (see :class:`RecipientType`). Evidence names the validating structure and the activity."""

    __tablename__ = "badge_assertions"
    __table_args__ = (
        sa.Index("uq_badge_assertions_live_validation", "validation_id", unique=True,
                 sqlite_where=sa.text("revoked_at IS NULL"), postgresql_where=sa.text("revoked_at IS NULL")),
        sa.Index("ix_badge_assertions_beneficiary", "beneficiary_id", "issued_at"),
        sa.CheckConstraint("(revoked_at IS NULL) = (revocation_reason IS NULL)", name="revoked_has_reason"),
        sa.CheckConstraint("identity_hash LIKE 'sha256$%'", name="hashed_identity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(32), unique=True)
    badge_class_id: Mapped[int] = _fk("badge_classes.id")
    beneficiary_id: Mapped[int] = _fk("beneficiaries.id", index=False)  # ix_badge_assertions_beneficiary
    validation_id: Mapped[int | None] = _fk("milestone_validations.id", nullable=True, index=False)
    structure_id: Mapped[int | None] = _fk("structures.id", nullable=True)
    activity_id: Mapped[int | None] = _fk("activities.id", nullable=True)
    issued_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    automatic: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    recipient_type: Mapped[RecipientType] = mapped_column(enum_column(RecipientType, 20))
    salt: Mapped[str] = mapped_column(sa.String(64))
    identity_hash: Mapped[str] = mapped_column(sa.String(80))
    evidence: Mapped[str] = mapped_column(sa.Text)
    reissue_of_id: Mapped[int | None] = _fk("badge_assertions.id", nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(sa.String(300))

    badge_class: Mapped[BadgeClass] = relationship()
    beneficiary = relationship("Beneficiary")
    validation = relationship("MilestoneValidation")
    structure = relationship("Structure")
    activity = relationship("Activity")
    issued_by = relationship("User", foreign_keys=[issued_by_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])
    reissue_of: Mapped[Assertion | None] = relationship(remote_side=[id])

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def state_label(self) -> str:
        return "Révoqué" if self.is_revoked else "Valide"

    def revoke(self, reason: str, by_id: int | None) -> None:
        """valide → révoquée; raises DomainError on an already revoked badge or without a reason."""
        if self.is_revoked:
            raise DomainError("Ce badge est déjà révoqué.")
        reason = (reason or "").strip()
        if not reason:
            raise DomainError("Indiquez le motif de la révocation.", field="reason")
        if len(reason) > 300:
            raise DomainError("300 caractères au maximum.", field="reason")
        self.revoked_at = utcnow()
        self.revoked_by_id = by_id
        self.revocation_reason = reason


class Wallet(db.Model):
    """The person's badge wallet (« mon carnet »). ``uid`` is the stable opaque identity used as the
    recipient of badges (unless the person attached one to their e-mail); cards come and go."""

    __tablename__ = "wallets"

    id: Mapped[int] = mapped_column(primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(sa.ForeignKey("beneficiaries.id", ondelete="RESTRICT"),
                                                unique=True)
    uid: Mapped[str] = mapped_column(sa.String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    beneficiary = relationship("Beneficiary")
    cards: Mapped[list[WalletCard]] = relationship(back_populates="wallet", order_by="WalletCard.created_at")

    @property
    def live_card(self) -> WalletCard | None:
        return next((c for c in self.cards if c.revoked_at is None), None)


class WalletCard(db.Model):
    """A printed card: a QR code to a URL carrying an opaque token, and a short code to type.
    Only hashes are stored; a lost card is revoked (and a new one printed)."""

    __tablename__ = "wallet_cards"
    __table_args__ = (
        sa.Index("uq_wallet_cards_live", "wallet_id", unique=True,
                 sqlite_where=sa.text("revoked_at IS NULL"), postgresql_where=sa.text("revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet_id: Mapped[int] = _fk("wallets.id", index=False)  # uq_wallet_cards_live and the next index
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    structure_id: Mapped[int | None] = _fk("structures.id", nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    wallet: Mapped[Wallet] = relationship(back_populates="cards")


class WalletCode(db.Model):
    """A one-time code sent by e-mail or SMS to open the wallet (valid 15 minutes, used once)."""

    __tablename__ = "wallet_codes"
    __table_args__ = (sa.Index("ix_wallet_codes_contact", "contact_hash", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wallet_id: Mapped[int] = _fk("wallets.id")
    contact_hash: Mapped[str] = mapped_column(sa.String(64))
    channel: Mapped[RecipientType] = mapped_column(enum_column(RecipientType, 20))
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    wallet: Mapped[Wallet] = relationship()


class WalletAttempt(db.Model):
    """One try at a card code or a one-time code, or one request for a one-time code, keyed by a
    keyed hash (of the client address or of the contact); 5 wrong tries in 15 minutes lock the key
    for 15 minutes. Database storage of :mod:`mediation.ratelimit` (unused when Redis keeps them)."""

    __tablename__ = "wallet_attempts"
    __table_args__ = (sa.Index("ix_wallet_attempts_key_at", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    success: Mapped[bool] = mapped_column(default=False)


class ExternalBadge(db.Model):
    """A badge from elsewhere, checked with the Open Badges validator by a partner structure and
    kept in the person's case as evidence (what it says, who issued it, when it was checked)."""

    __tablename__ = "external_badges"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = _fk("cases.id")
    structure_id: Mapped[int] = _fk("structures.id")
    imported_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assertion_url: Mapped[str] = mapped_column(sa.String(500))
    badge_name: Mapped[str] = mapped_column(sa.String(300))
    badge_description: Mapped[str | None] = mapped_column(sa.Text)
    issuer_name: Mapped[str] = mapped_column(sa.String(300))
    issued_on: Mapped[str | None] = mapped_column(sa.String(40))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    report: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    case = relationship("Case")
    structure = relationship("Structure")
