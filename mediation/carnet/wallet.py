"""The beneficiary's wallet (« mon carnet »): printed cards, one-time codes, throttling, contents.

- A card carries a QR code to ``/carnet/c/<token>`` (an opaque 256-bit token) and a short code of
  8 characters without ambiguous letters, typed on ``/carnet``. Only keyed hashes are stored: a
  lost card cannot be reprinted, it is revoked and a new one is printed.
- A person with an e-mail or a phone number may ask for a one-time code (6 digits, 15 minutes,
  used once), written to the outbox (e-mail) or to the SMS log.
- 5 wrong codes within 15 minutes lock the key (the client's address, or the contact) for 15
  minutes, with a French message. A right code forgives the client's wrong tries at most once per
  15 minutes per card or contact (:func:`mediation.ratelimit.record_success`).
- Wrong card codes are also counted from all client addresses together (:func:`card_codes_limit`,
  30 within 15 minutes by default): changing address gives no fresh tries.
- Asking for one-time codes is limited too: 3 requests for the same contact, or 20 from the same
  client address, within 15 minutes block further requests for 15 minutes (nothing is sent).
- Counters are kept by :mod:`mediation.ratelimit` (the database, or Redis when configured).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session, joinedload

from mediation import i18n, ratelimit
from mediation.audit.services import record
from mediation.badges import documents, services
from mediation.badges.models import Assertion, RecipientType, Wallet, WalletAttempt, WalletCard, WalletCode
from mediation.cases.models import Beneficiary, Case
from mediation.errors import DomainError, NotFound, ValidationFailed
from mediation.types import utcnow

log = logging.getLogger("mediation.wallet")

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no I, L, O, 0, 1
CODE_LENGTH = 8
MAX_FAILURES = 5
LOCK = timedelta(minutes=15)
ONE_TIME_VALIDITY = timedelta(minutes=15)
WRONG_CODES = ratelimit.Limit("wallet", MAX_FAILURES, LOCK, WalletAttempt, "key_hash")
# Requests for a one-time code: per contact (e-mail or phone) and per client address.
CODE_REQUESTS_PER_CONTACT = ratelimit.Limit("wallet-request-contact", 3, timedelta(minutes=15), WalletAttempt,
                                            "key_hash")
CODE_REQUESTS_PER_CLIENT = ratelimit.Limit("wallet-request-client", 20, timedelta(minutes=15), WalletAttempt,
                                           "key_hash")


def _minutes(remaining: timedelta) -> str:
    minutes = max(1, round(remaining.total_seconds() / 60))
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


class Locked(DomainError):
    status_code = 429

    def __init__(self, remaining: timedelta):
        super().__init__(_("Trop de codes erronés. Attendez %(minutes)s, puis essayez encore.",
                           minutes=_minutes(remaining)) + " "
                         + _("Vous avez perdu votre carte ? Demandez une nouvelle carte à la personne qui vous aide."))


class TooManyCodeRequests(DomainError):
    """Too many one-time codes asked for the same contact or from the same client: nothing is sent.
    The same answer whether or not the contact is known."""

    status_code = 429

    def __init__(self, remaining: timedelta):
        super().__init__(_("Trop de demandes de code. Attendez %(minutes)s avant de demander un code.",
                           minutes=_minutes(remaining)) + " "
                         + _("Un code reçu marche pendant 15 minutes."))


def _keyed(value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_code(code: str | None) -> str:
    """What people type: spaces, dashes and lower case are forgiven."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def new_card_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


# --- cards --------------------------------------------------------------------------------------

@dataclass
class PrintedCard:
    card: WalletCard
    token: str
    code: str

    @property
    def url(self) -> str:
        return documents.public_url(f"/carnet/c/{self.token}")


def print_card(session: Session, actor, beneficiary: Beneficiary, *, structure_id: int | None = None,
               code: str | None = None) -> PrintedCard:
    """A new card for the person (the previous one, if any, is revoked: it is a reprint). The token
    and code are returned once, for the PDF; only their hashes are kept."""
    wallet = services.wallet_for(session, beneficiary)
    reprint = False
    for card in wallet.cards:
        if card.revoked_at is None:
            card.revoked_at, card.revoked_by_id = utcnow(), getattr(actor, "id", None)
            reprint = True
    session.flush()
    token = secrets.token_urlsafe(32)
    code = normalise_code(code) if code else new_card_code()
    card = WalletCard(wallet_id=wallet.id, token_hash=token_hash(token), code_hash=_keyed("card:" + code),
                      created_by_id=getattr(actor, "id", None), structure_id=structure_id)
    session.add(card)
    session.flush()
    session.expire(wallet, ["cards"])
    record(session, "wallet.card_reprinted" if reprint else "wallet.card_printed", actor=actor, obj=card,
           structure_id=structure_id, details={"beneficiary_id": beneficiary.id, "wallet_id": wallet.id})
    return PrintedCard(card, token, code)


def record_language(session: Session, actor, beneficiary: Beneficiary, language: str | None) -> Beneficiary:
    """Record the language the person reads their carnet and card in (French is recorded as none).
    Chosen by the person in their carnet (``actor`` None) or by a mediator printing the card.
    Raises ``ValidationFailed`` (field ``language``) for a language we do not offer."""
    code = i18n.known(language)
    if code is None:
        raise ValidationFailed(_("Choisissez une langue de la liste."), field="language")
    stored = None if code == i18n.DEFAULT else code
    if beneficiary.language != stored:
        beneficiary.language = stored
        session.flush()
        record(session, "beneficiary.language_chosen", actor=actor, obj=beneficiary,
               details={"language": code, "by": "staff" if actor is not None else "person"})
    return beneficiary


def revoke_card(session: Session, actor, card: WalletCard) -> WalletCard:
    """A lost card stops opening the wallet at once."""
    if card.revoked_at is not None:
        raise DomainError("Cette carte est déjà désactivée.")
    card.revoked_at, card.revoked_by_id = utcnow(), getattr(actor, "id", None)
    session.flush()
    record(session, "wallet.card_revoked", actor=actor, obj=card,
           details={"beneficiary_id": card.wallet.beneficiary_id, "wallet_id": card.wallet_id})
    return card


def card_by_token(session: Session, token: str) -> WalletCard | None:
    if not token or len(token) > 100:
        return None
    card = session.scalar(sa.select(WalletCard).where(WalletCard.token_hash == token_hash(token),
                                                      WalletCard.revoked_at.is_(None)))
    if card is not None:
        card.last_used_at = utcnow()
        session.flush()
    return card


# --- throttling ---------------------------------------------------------------------------------

def attempt_key(kind: str, value: str) -> str:
    return ratelimit.key(f"attempt:{kind}", value)


Check = tuple[ratelimit.Limit, str]  # a limit and the key it counts


def card_codes_limit() -> ratelimit.Limit:
    """Wrong card codes from every client address together (the space of all card codes):
    ``MEDIATION_WALLET_CARD_CODES_MAX_FAILURES`` within ``MEDIATION_WALLET_CARD_CODES_WINDOW_MINUTES`` lock card-code
    entry for everyone for that long (the QR code and one-time codes still open wallets), with a
    WARNING log line. Never cleared by a success."""
    cfg = current_app.config
    return ratelimit.Limit("wallet-card-codes", cfg["MEDIATION_WALLET_CARD_CODES_MAX_FAILURES"],
                           timedelta(minutes=cfg["MEDIATION_WALLET_CARD_CODES_WINDOW_MINUTES"]), WalletAttempt, "key_hash",
                           alert=True)


def _check_lock(session: Session, checks: list[Check]) -> None:
    """5 wrong codes within 15 minutes (see :func:`_record_success`) lock for 15 minutes after the
    last; so does the limit over all card codes. The same answer whichever limit holds."""
    for limit, key in checks:
        remaining = ratelimit.lock_remaining(session, limit, key)
        if remaining is not None:
            raise Locked(remaining)


def _record_success(session: Session, client_key: str, owner: str) -> None:
    """Right code: the client's wrong tries are forgiven once per window for this card or contact
    (``owner``), so that alternating wrong codes with one's own valid card gives no fresh count.
    The contact's own counter is cleared by its own success; the count over all card codes never."""
    ratelimit.record_success(session, WRONG_CODES, client_key, owner=owner)


def _wrong(session: Session, checks: list[Check], message: str) -> None:
    """Record a wrong try (the caller keeps it with mediation.transaction.keep_despite_error); the try
    that locks says so at once, the next ones are refused with Locked (429)."""
    locks = [ratelimit.record_failure(session, limit, key) for limit, key in checks]
    remaining = max((lock for lock in locks if lock is not None), default=None)
    if remaining is not None:
        raise ValidationFailed(Locked(remaining).message, field="code")
    raise ValidationFailed(message, field="code")


def open_by_code(session: Session, code: str | None, client: str) -> WalletCard:
    """The live card whose short code is ``code``. Raises Locked (too many wrong codes from this
    client, or from all clients together) or ValidationFailed (wrong code; the try is recorded:
    the caller must commit)."""
    client_key = attempt_key("client", client)
    checks = [(WRONG_CODES, client_key), (card_codes_limit(), ratelimit.space_key("wallet-card-codes"))]
    _check_lock(session, checks)
    value = normalise_code(code)
    if len(value) != CODE_LENGTH:
        raise ValidationFailed(_("Le code de la carte a 8 lettres et chiffres. Par exemple : ABCD-2345."),
                               field="code")
    card = session.scalar(sa.select(WalletCard).where(WalletCard.code_hash == _keyed("card:" + value),
                                                      WalletCard.revoked_at.is_(None)))
    if card is None:
        _wrong(session, checks, _("Ce code ne correspond à aucune carte. Vérifiez les lettres et les chiffres."))
    _record_success(session, client_key, attempt_key("card", str(card.id)))
    card.last_used_at = utcnow()
    session.flush()
    return card


# --- one-time codes -----------------------------------------------------------------------------

def _contact(value: str | None) -> tuple[RecipientType, str] | None:
    value = (value or "").strip()
    if "@" in value:
        email = documents.normalise_email(value)
        return (RecipientType.EMAIL, email) if services.EMAIL_RE.match(email or "") else None
    phone = services.to_e164(value)
    return (RecipientType.TELEPHONE, phone) if phone else None


def _beneficiary_for(session: Session, channel: RecipientType, value: str) -> Beneficiary | None:
    query = sa.select(Beneficiary).where(Beneficiary.deleted_at.is_(None), Beneficiary.merged_into_id.is_(None),
                                         ~Beneficiary.anonymous)
    if channel == RecipientType.EMAIL:
        query = query.where(sa.func.lower(sa.func.trim(Beneficiary.email)) == value)
    else:
        query = query.where(Beneficiary.phone.in_(services.phone_variants(value)))
    return session.scalar(query.order_by(Beneficiary.updated_at.desc(), Beneficiary.id.desc()).limit(1))


def send_sms(phone: str, body: str) -> None:
    """SMS are not sent from here: they are written to the SMS log next to the outbox."""
    current_app.extensions.setdefault("sms_outbox", []).append({"to": phone, "body": body})
    if not current_app.testing:
        folder = Path(current_app.config["MEDIATION_OUTBOX_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        name = f"sms-{utcnow():%Y%m%dT%H%M%S%f}.txt"
        (folder / name).write_text(f"To: {phone}\n\n{body}\n", encoding="utf-8")
        log.info("sms written to outbox: %s", name)


def request_code(session: Session, contact: str | None, client: str) -> RecipientType:
    """Send a one-time code to a known e-mail or phone. Whether the contact is known is never told
    (same answer either way: requests are counted for unknown contacts too). Raises
    ValidationFailed if ``contact`` is neither, TooManyCodeRequests (nothing sent, nothing
    recorded) after 3 requests for this contact or 20 from this client within 15 minutes."""
    from mediation.mail import send_mail

    parsed = _contact(contact)
    if parsed is None:
        raise ValidationFailed(_("Tapez votre e-mail ou votre numéro de portable."), field="contact")
    channel, value = parsed
    limits = [(CODE_REQUESTS_PER_CONTACT, ratelimit.key("request:contact", value)),
              (CODE_REQUESTS_PER_CLIENT, ratelimit.key("request:client", client))]
    for limit, key in limits:
        remaining = ratelimit.lock_remaining(session, limit, key)
        if remaining is not None:
            log.info("one-time code refused: too many requests (%s)", limit.name)
            raise TooManyCodeRequests(remaining)
    for limit, key in limits:
        ratelimit.record_failure(session, limit, key)
    beneficiary = _beneficiary_for(session, channel, value)
    if beneficiary is None:
        return channel
    wallet = services.wallet_for(session, beneficiary)
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = utcnow()
    session.add(WalletCode(wallet_id=wallet.id, contact_hash=_keyed("contact:" + value), channel=channel,
                           code_hash=_keyed(f"otp:{value}:{code}"), created_at=now,
                           expires_at=now + ONE_TIME_VALIDITY))
    session.flush()
    text = "\n".join((_("Votre code pour ouvrir votre carnet : %(code)s", code=code),
                      _("Il marche pendant 15 minutes, une seule fois. Tapez-le sur %(url)s",
                        url=documents.public_url("/carnet/code")),
                      _("Vous n’avez rien demandé ? Ne faites rien.")))
    if channel == RecipientType.EMAIL:
        send_mail(value, _("Votre code pour ouvrir votre carnet"), text)
    else:
        send_sms(value, text)
    record(session, "wallet.code_sent", object_type="wallets", object_id=wallet.id,
           details={"channel": channel.value})
    return channel


def open_by_one_time_code(session: Session, contact: str | None, code: str | None, client: str) -> Wallet:
    """The wallet a valid, unused, unexpired one-time code opens (the code is then used). Raises
    Locked or ValidationFailed (the wrong try is recorded: the caller must commit)."""
    parsed = _contact(contact)
    if parsed is None:
        raise ValidationFailed(_("Tapez l’e-mail ou le numéro de portable où vous avez reçu le code."),
                               field="contact")
    channel, value = parsed
    client_key, contact_key = attempt_key("client", client), attempt_key("contact", value)
    checks = [(WRONG_CODES, client_key), (WRONG_CODES, contact_key)]
    _check_lock(session, checks)
    digits = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(digits) != 6:
        raise ValidationFailed(_("Le code reçu a 6 chiffres."), field="code")
    now = utcnow()
    found = session.scalar(
        sa.select(WalletCode).where(WalletCode.contact_hash == _keyed("contact:" + value),
                                    WalletCode.code_hash == _keyed(f"otp:{value}:{digits}"),
                                    WalletCode.used_at.is_(None), WalletCode.expires_at > now)
        .order_by(WalletCode.id.desc()).limit(1))
    if found is None:
        _wrong(session, checks, _("Ce code n’est pas valable. Il est faux, trop vieux ou déjà utilisé.") + " "
               + _("Vous pouvez demander un nouveau code."))
    found.used_at = now
    ratelimit.record_success(session, WRONG_CODES, contact_key)  # the contact's own counter
    _record_success(session, client_key, contact_key)
    return found.wallet


# --- contents -----------------------------------------------------------------------------------

@dataclass
class WalletBadge:
    assertion: Assertion

    @property
    def badge_class(self):
        return self.assertion.badge_class

    @property
    def endorsers(self) -> list[str]:
        return [e.endorser.name for e in self.badge_class.live_endorsements]


@dataclass
class WalletContents:
    wallet: Wallet
    first_name: str | None
    badges: list[WalletBadge]
    progresses: list = field(default_factory=list)
    referrals: list = field(default_factory=list)
    mandates: list = field(default_factory=list)
    mandates_available: bool = False
    loans: list = field(default_factory=list)  # devices on loan, soonest due first (equipment)
    email: str | None = None  # where the person may attach a badge (services.attach_email)

    @property
    def masked_email(self) -> str | None:
        if not self.email:
            return None
        name, _, domain = self.email.partition("@")
        return f"{name[0]}…@{domain}"


def contents(session: Session, wallet: Wallet) -> WalletContents:
    """What the person sees: live badges, pathway progress and next step, live referrals, mandates
    in force (when the mandates domain is there)."""
    from mediation.equipment.services import current_loans_of
    from mediation.pathways.enums import LIVE_REFERRAL_STATUSES, EnrolmentState
    from mediation.pathways.models import Enrolment, Referral
    from mediation.pathways.services import compute_progress

    beneficiary = wallet.beneficiary
    badges = [WalletBadge(a) for a in services.assertions_of(session, beneficiary.id, live_only=True)]
    cases = sa.select(Case.id).where(Case.beneficiary_id == beneficiary.id)
    enrolments = session.scalars(
        sa.select(Enrolment).where(Enrolment.case_id.in_(cases), Enrolment.state != EnrolmentState.ABANDONNE)
        .options(joinedload(Enrolment.template))
        .order_by(Enrolment.state != EnrolmentState.EN_COURS, Enrolment.enrolled_at.desc())).all()
    progresses = [compute_progress(session, e) for e in enrolments]
    referrals = session.scalars(
        sa.select(Referral).where(Referral.case_id.in_(cases), Referral.status.in_(LIVE_REFERRAL_STATUSES))
        .options(joinedload(Referral.to_structure)).order_by(Referral.due_on)).all()
    result = WalletContents(wallet, None if beneficiary.anonymous else beneficiary.first_name, badges,
                            progresses, list(referrals), email=services.attachable_email(beneficiary),
                            loans=current_loans_of(session, beneficiary.id))
    try:
        from mediation.mandates.services import mandates_in_force
    except ImportError:  # the mandates domain is optional here
        return result
    result.mandates_available = True
    result.mandates = mandates_in_force(session, beneficiary)
    return result


def get_card(session: Session, wallet: Wallet, card_id: int) -> WalletCard:
    card = session.scalar(sa.select(WalletCard).where(WalletCard.id == card_id, WalletCard.wallet_id == wallet.id))
    if card is None:
        raise NotFound("Carte introuvable.")
    return card
