"""Accounts, roles, second factor, login attempts and personal API tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.extensions import db
from mediation.types import LabelledEnum, UTCDateTime, enum_column, utcnow


class Role(LabelledEnum):
    ADMIN = ("admin", "Administrateur·rice")
    COORDINATOR = ("coordinator", "Coordinateur·rice")
    MEDIATOR = ("mediator", "Médiateur·rice numérique")
    FUNDER = ("funder", "Financeur")
    BENEFICIARY = ("beneficiary", "Bénéficiaire")


# Accounts that can act for someone or see a whole territory must use a second factor.
ROLES_REQUIRING_TOTP = {Role.ADMIN, Role.COORDINATOR}


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role <> 'coordinator' OR territory_id IS NOT NULL", name="coordinator_has_territory"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[Role] = mapped_column(enum_column(Role), index=True)
    territory_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("territories.id", ondelete="RESTRICT"), index=True
    )
    organisation: Mapped[str | None] = mapped_column(sa.String(200))
    funder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("funders.id", ondelete="RESTRICT"), index=True)
    is_conseiller_numerique: Mapped[bool] = mapped_column(default=False)
    # Designated by the structure to act as an aidant (Aidants Connect): asks for a second factor and
    # opens the mandates' menu. Acting under a mandate also needs a habilitation in force, derived from
    # the training records (mediation.training.habilitation), never from this flag alone.
    is_aidant: Mapped[bool] = mapped_column(default=False)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    recovery_codes: Mapped[list] = mapped_column(sa.JSON, default=list)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    territory = relationship("Territory")
    memberships = relationship("StaffMembership", back_populates="user")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def get_id(self) -> str:  # Flask-Login: the id changes with the password and second factor
        from mediation.auth.services import session_id_for

        return session_id_for(self)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def requires_totp(self) -> bool:
        return self.role in ROLES_REQUIRING_TOTP or self.is_aidant

    @property
    def role_label(self) -> str:
        """The account's role, as given (an aidant or a conseiller numérique is a mediator)."""
        return self.role.label

    @property
    def role_mentions(self) -> list[str]:
        """What the account is besides its role: conseiller·ère numérique, aidant·e habilité·e."""
        mentions = []
        if self.role == Role.MEDIATOR and self.is_conseiller_numerique:
            mentions.append("conseiller·ère numérique")
        if self.role == Role.MEDIATOR and self.is_aidant:
            mentions.append("aidant·e habilité·e")
        return mentions

    @property
    def role_description(self) -> str:
        """« Médiateur·rice numérique (conseiller·ère numérique, aidant·e habilité·e) »."""
        mentions = self.role_mentions
        return self.role_label + (f" ({', '.join(mentions)})" if mentions else "")

    def __str__(self) -> str:
        return self.full_name


class LoginAttempt(db.Model):
    """One sign-in try. ``key`` is an HMAC of the e-mail with SECRET_KEY, never the address itself.
    Database storage of :mod:`mediation.ratelimit` (unused when Redis keeps the counters)."""

    __tablename__ = "login_attempts"
    __table_args__ = (sa.Index("ix_login_attempts_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    success: Mapped[bool] = mapped_column(default=False)


class TokenStatus(LabelledEnum):
    ACTIVE = ("active", "Actif")
    EXPIRED = ("expired", "Expiré")
    REVOKED = ("revoked", "Révoqué")


class ApiToken(db.Model):
    """A personal API token: shown once, stored as a SHA-256 hash, scoped and revocable."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(12))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def status(self) -> TokenStatus:
        if self.revoked_at is not None:
            return TokenStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= utcnow():
            return TokenStatus.EXPIRED
        return TokenStatus.ACTIVE


class UserSession(db.Model):
    """A signed-in browser session, kept on the server so that it can be ended from anywhere.

    The session cookie holds a random secret; only its SHA-256 (``token_hash``) is stored. Every
    request looks the row up by that hash (one indexed read) and refuses the session when it is
    revoked (``revoked_at``: sign-out, password change, role change...), past ``expires_at`` (the
    absolute maximum after sign-in) or idle since ``last_seen_at`` for longer than the idle
    timeout. ``last_seen_at`` is written at most once per ``MEDIATION_SESSION_TOUCH_SECONDS``. Rows are
    shared by every app server since they live in the database; nothing personal is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(40))

    user: Mapped[User] = relationship()
