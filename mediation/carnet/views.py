"""The public wallet (« mon carnet »): no staff login. Opened by the card's QR code URL, by the
card's short code, or by a one-time code sent to the person's e-mail or phone. Works without
JavaScript; large, plain French.

The opened wallet is remembered in the browser session (``wallet``: wallet id, the card used if
any, last activity) for 30 minutes of inactivity; a revoked card closes it at once.
"""

from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from mediation import i18n
from mediation.badges import documents, ob3, ob3_di, services
from mediation.badges.forms import (
    CardCodeForm,
    ContactForm,
    EmptyForm,
    OneTimeCodeForm,
    WalletFollowUpForm,
    WalletRevocationForm,
)
from mediation.badges.models import Wallet, WalletCard
from mediation.carnet import cards, labels, wallet
from mediation.errors import DomainError
from mediation.evaluation import services as evaluation_services
from mediation.extensions import db
from mediation.forms import show_domain_error
from mediation.policy import PUBLIC, access
from mediation.redirects import safe_target
from mediation.transaction import keep_despite_error

bp = Blueprint("wallet", __name__, url_prefix="/carnet")
SESSION_KEY = "wallet"
IDLE_SECONDS = 30 * 60


bp.add_app_template_filter(labels.demarche, "demarche_local")


def _client() -> str:
    return request.remote_addr or "inconnu"


def _open(wallet_id: int, card_id: int | None) -> None:
    """Remember the opened wallet, with the person's recorded language (see mediation.i18n)."""
    found = db.session.get(Wallet, wallet_id)
    language = found.beneficiary.language if found is not None else None
    session[SESSION_KEY] = {"id": wallet_id, "card": card_id, "at": int(time.time()), "lang": language}


def current_wallet() -> Wallet | None:
    """The wallet opened in this browser, if still allowed (card live, not idle for too long)."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict) or time.time() - data.get("at", 0) > IDLE_SECONDS:
        session.pop(SESSION_KEY, None)
        return None
    found = db.session.get(Wallet, data.get("id"))
    if found is None:
        session.pop(SESSION_KEY, None)
        return None
    if data.get("card"):
        card = db.session.get(WalletCard, data["card"])
        if card is None or card.revoked_at is not None or card.wallet_id != found.id:
            session.pop(SESSION_KEY, None)
            return None
    data["at"] = int(time.time())
    session[SESSION_KEY] = data
    return found


@bp.after_request
def private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the card's token never leaks to other sites
    return response


@bp.route("/", methods=["GET", "POST"])
@access(PUBLIC)
def enter():
    """Type the card's code."""
    if request.method == "GET" and current_wallet() is not None:
        return redirect(url_for("wallet.home"))
    form = CardCodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            card = wallet.open_by_code(db.session, form.code.data, _client())
        except wallet.Locked as error:
            return render_template("wallet/enter.html", form=form, locked=error.message), 429
        except DomainError as error:
            keep_despite_error()  # the wrong try is counted (wallet.WRONG_CODES)
            status = show_domain_error(form, error)
        else:
            _open(card.wallet_id, card.id)
            return redirect(url_for("wallet.home"))
    return render_template("wallet/enter.html", form=form, locked=None), status


@bp.route("/c/<token>")
@access(PUBLIC)
def by_card(token: str):
    """The URL of the card's QR code."""
    card = wallet.card_by_token(db.session, token)
    if card is None:
        return render_template("wallet/card_invalid.html"), 404
    _open(card.wallet_id, card.id)
    return redirect(url_for("wallet.home"))


@bp.route("/code", methods=["GET", "POST"])
@access(PUBLIC)
def code_request():
    form = ContactForm()
    status = 200
    if form.validate_on_submit():
        try:
            wallet.request_code(db.session, form.contact.data, _client())
        except wallet.TooManyCodeRequests as error:
            return render_template("wallet/code_request.html", form=form, locked=error.message), 429
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            session["wallet_contact"] = form.contact.data.strip()
            flash(_("Si nous connaissons cet e-mail ou ce numéro, nous venons de vous envoyer un code.") + " "
                  + _("Le code marche pendant 15 minutes."), "info")
            return redirect(url_for("wallet.code_enter"))
    return render_template("wallet/code_request.html", form=form, locked=None), status


@bp.route("/code/saisir", methods=["GET", "POST"])
@access(PUBLIC)
def code_enter():
    form = OneTimeCodeForm()
    status = 200
    if request.method == "GET":
        form.contact.data = session.get("wallet_contact", "")
    if form.validate_on_submit():
        try:
            found = wallet.open_by_one_time_code(db.session, form.contact.data, form.code.data, _client())
        except wallet.Locked as error:
            return render_template("wallet/code_enter.html", form=form, locked=error.message), 429
        except DomainError as error:
            keep_despite_error()  # the wrong try is counted (wallet.WRONG_CODES)
            status = show_domain_error(form, error)
        else:
            session.pop("wallet_contact", None)
            _open(found.id, None)
            return redirect(url_for("wallet.home"))
    return render_template("wallet/code_enter.html", form=form, locked=None), status


@bp.route("/mon-carnet")
@access(PUBLIC)
def home():
    found = current_wallet()
    if found is None:
        flash(_("Pour ouvrir votre carnet, scannez le code QR de votre carte. Ou tapez son code."), "info")
        return redirect(url_for("wallet.enter"))
    data = wallet.contents(db.session, found)
    return render_template("wallet/home.html", data=data, button=EmptyForm(),
                           follow_ups=evaluation_services.pending_follow_ups_for(db.session, found.beneficiary_id),
                           baked_url=lambda a: documents.baked_url(a, "png") + "?telecharger=1",
                           share_url=documents.verify_page_url)


@bp.route("/badges/<uid>/adresse-email", methods=["POST"])
@access(PUBLIC)
def attach_email(uid: str):
    """The person attaches one of their badges to their e-mail (to add it to another badge
    wallet): it is issued again to the e-mail, the previous one is revoked (audited)."""
    found = current_wallet()
    if found is None:
        flash(_("Pour ouvrir votre carnet, scannez le code QR de votre carte. Ou tapez son code."), "info")
        return redirect(url_for("wallet.enter"))
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.attach_email(db.session, found, uid)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(_("Ce badge est maintenant lié à votre e-mail. Téléchargez-le encore une fois.") + " "
              + _("L’ancien lien ne marchera plus."), "success")
    return redirect(url_for("wallet.home"))


@bp.route("/badges/<uid>/emporter")
@access(PUBLIC)
def carry(uid: str):
    """Take a badge to another application (Open Badges 3.0): the credential file to download and a
    QR code of its address. Only a live badge of the opened wallet."""
    found = current_wallet()
    if found is None:
        flash(_("Pour ouvrir votre carnet, scannez le code QR de votre carte. Ou tapez son code."), "info")
        return redirect(url_for("wallet.enter"))
    badge = next((a for a in services.assertions_of(db.session, found.beneficiary_id, live_only=True)
                  if a.uid == uid), None)
    if badge is None:
        flash(_("Ce badge n’est pas dans votre carnet, ou il n’est plus valable."), "info")
        return redirect(url_for("wallet.home"))
    url = ob3_di.json_url(badge)  # the Data Integrity form (JSON), the most widely read
    return render_template("wallet/carry.html", assertion=badge, credential_url=url,
                           download_url=url + "?telecharger=1",
                           jwt_url=ob3.credential_url(badge) + "?telecharger=1", qr=cards.qr_data_uri(url))


@bp.route("/questionnaire/<int:follow_up_id>", methods=["GET", "POST"])
@access(PUBLIC)
def follow_up(follow_up_id: int):
    """The person answers their own follow-up questionnaire (only a due, open one of theirs)."""
    found = current_wallet()
    if found is None:
        flash(_("Pour ouvrir votre carnet, scannez le code QR de votre carte. Ou tapez son code."), "info")
        return redirect(url_for("wallet.enter"))
    pending = next((f for f in evaluation_services.pending_follow_ups_for(db.session, found.beneficiary_id)
                    if f.id == follow_up_id), None)
    if pending is None:
        flash(_("Vous avez déjà répondu à ce questionnaire."), "info")
        return redirect(url_for("wallet.home"))
    form = WalletFollowUpForm()
    status = 200
    if form.validate_on_submit():
        comfort = form.comfort_now.data
        answers = evaluation_services.FollowUpAnswers(
            online_alone=form.yes_no("online_alone"), job_or_training=form.yes_no("job_or_training"),
            less_isolated=form.yes_no("less_isolated"), comfort_now=int(comfort) if comfort else None)
        try:
            evaluation_services.answer_from_wallet(db.session, found.beneficiary_id, pending.id, answers)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(_("Merci ! Nous avons bien vos réponses."), "success")
            return redirect(url_for("wallet.home"))
    return render_template("wallet/follow_up.html", form=form, follow_up=pending), status


@bp.route("/mandats/<int:mandate_id>/revocation", methods=["GET", "POST"])
@access(PUBLIC)
def mandate_revocation(mandate_id: int):
    """The person asks the structure holding a mandate of theirs to revoke it (all or some
    démarches). The request is tracked until an aidant of the structure acts on it."""
    from mediation.cases.models import Beneficiary
    from mediation.mandates import services as mandate_services
    from mediation.mandates.enums import RevocationChannel

    found = current_wallet()
    if found is None:
        flash(_("Pour ouvrir votre carnet, scannez le code QR de votre carte. Ou tapez son code."), "info")
        return redirect(url_for("wallet.enter"))
    beneficiary = db.session.get(Beneficiary, found.beneficiary_id)
    mandate = next((m for m in mandate_services.mandates_in_force(db.session, beneficiary) if m.id == mandate_id),
                   None)
    if mandate is None:
        flash(_("Ce mandat est déjà arrêté."), "info")
        return redirect(url_for("wallet.home"))
    live = mandate.live_authorizations()
    form = WalletRevocationForm()
    status = 200
    form.demarches.choices = [(a.demarche.value, labels.demarche(a.demarche)) for a in live]
    if request.method == "GET":
        form.demarches.data = [a.demarche.value for a in live]
    if form.validate_on_submit():
        try:
            mandate_services.request_revocation(db.session, mandate, channel=RevocationChannel.PORTEFEUILLE,
                                                demarches=form.demarches.data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(_("Votre demande est envoyée à %(place)s.", place=mandate.structure.name) + " "
                  + _("Une personne de ce lieu arrête le mandat. Elle vous donne un papier qui le prouve."),
                  "success")
            return redirect(url_for("wallet.home"))
    return render_template("wallet/mandate_revocation.html", form=form, mandate=mandate), status


@bp.route("/quitter", methods=["POST"])
@access(PUBLIC)
def leave():
    if not EmptyForm().validate_on_submit():
        abort(400)
    session.pop(SESSION_KEY, None)
    flash(_("Votre carnet est fermé sur cet appareil."), "info")
    return redirect(url_for("wallet.enter"))


def _preference(cookie: str, value: str):
    """Back to the page the person was on, with the preference remembered for a year (a cookie:
    nothing to sign in to, and it works without JavaScript)."""
    response = redirect(safe_target(request.form.get("next"), url_for("wallet.enter")))
    response.set_cookie(cookie, value, max_age=i18n.COOKIE_SECONDS, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


@bp.route("/langue", methods=["POST"])
@access(PUBLIC)
def choose_language():
    """The language of the person's pages: remembered in this browser and, when their carnet is
    open, recorded for them (their next card is printed in it)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    code = i18n.known(request.form.get("lang"))
    if code is None:
        abort(400)
    found = current_wallet()
    if found is not None:
        wallet.record_language(db.session, None, found.beneficiary, code)
        session[SESSION_KEY] = {**session[SESSION_KEY], "lang": code}
    return _preference(i18n.COOKIE, code)


@bp.route("/grands-caracteres", methods=["POST"])
@access(PUBLIC)
def large_type():
    """Large type on the person's pages, or back to normal; remembered in this browser."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    return _preference(i18n.LARGE_COOKIE, "1" if request.form.get("large") == "1" else "0")
# --- « Mes rendez-vous » (mediation.appointments) ----------------------------------------------

@bp.route("/mes-rendez-vous")
@access(PUBLIC)
def my_appointments():
    """The person's upcoming appointments, each with its calendar file and a way to cancel."""
    from mediation.appointments import services as appointment_services

    found = current_wallet()
    if found is None:
        return redirect(url_for("wallet.enter"))
    items = appointment_services.of_beneficiary(db.session, found.beneficiary_id, upcoming_only=True)
    return render_template("wallet/appointments.html", items=items, button=EmptyForm())


@bp.route("/mes-rendez-vous/<int:appointment_id>/annuler", methods=["POST"])
@access(PUBLIC)
def cancel_appointment(appointment_id: int):
    from mediation.appointments import services as appointment_services

    found = current_wallet()
    if found is None:
        return redirect(url_for("wallet.enter"))
    mine = {a.id: a for a in appointment_services.of_beneficiary(db.session, found.beneficiary_id, upcoming_only=True)}
    if appointment_id not in mine:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    appointment_services.cancel(db.session, None, mine[appointment_id], by_person=True)
    flash("Votre rendez-vous est annulé : le lieu est prévenu.", "success")
    return redirect(url_for("wallet.my_appointments"))
