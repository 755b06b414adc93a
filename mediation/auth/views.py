"""Sign-in, second factor and sign-out. Handlers stay thin: rules are in auth.services."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from mediation.auth import devices, services, sessions
from mediation.auth.forms import (
    ApiTokenForm,
    ConfirmPasswordForm,
    ConfirmTotpForm,
    EmptyForm,
    LoginForm,
    PasswordChangeForm,
    PasswordForgottenForm,
    PasswordResetForm,
    TotpForm,
    TotpSetupForm,
)
from mediation.auth.models import User
from mediation.errors import DomainError, NotFound
from mediation.extensions import db
from mediation.forms import UNPROCESSABLE, show_domain_error
from mediation.policy import AUTHENTICATED, PUBLIC, access
from mediation.redirects import safe_target
from mediation.transaction import keep_despite_error

bp = Blueprint("auth", __name__)

PENDING_KEY = "pending_2fa_user"


def _safe_next(target: str | None) -> str:
    return safe_target(target, url_for("home.index"))


def qr_svg(data: str) -> Markup:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    svg = svg[svg.index("<svg"):]
    return Markup(svg.replace("<svg", '<svg role="img" aria-label="QR code à scanner"', 1))  # noqa: S704


@bp.route("/connexion", methods=["GET", "POST"])
@access(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(db.session, form.email.data, form.password.data)
        except DomainError as error:
            keep_despite_error()  # the failed attempt feeds throttling
            form.form_errors.append(error.message)
            return render_template("auth/login.html", form=form), 429 if error.status_code == 429 else UNPROCESSABLE
        if user.totp_enabled:
            session[PENDING_KEY] = user.id
            session["next"] = _safe_next(request.args.get("next"))
            return redirect(url_for("auth.login_second_factor"))
        services.complete_login(db.session, user, method="password")
        session.clear()
        login_user(user)
        sessions.start(user)
        return devices.remember(redirect(_safe_next(request.args.get("next"))), user.email)
    return render_template("auth/login.html", form=form)


@bp.route("/connexion/verification", methods=["GET", "POST"])
@access(PUBLIC)
def login_second_factor():
    user_id = session.get(PENDING_KEY)
    user = db.session.get(User, user_id) if user_id else None
    if user is None:
        return redirect(url_for("auth.login"))
    form = TotpForm()
    status = 200
    if form.validate_on_submit():
        remaining = services.lock_remaining(db.session, user.email)
        code = form.code.data.strip()
        method = None
        if remaining:
            form.code.errors.append(services.locked_message(remaining))
        elif services.verify_totp(db.session, user, code):
            method = "totp"
        elif services.use_recovery_code(db.session, user, code):
            method = "recovery_code"
            flash("Vous avez utilisé un code de secours. Il ne servira plus.", "warning")
        else:
            remaining = services.record_failed_second_factor(db.session, user)
            keep_despite_error()  # the failed attempt feeds throttling
            form.code.errors.append(services.locked_message(remaining) if remaining
                                    else "Code incorrect ou déjà utilisé.")
            status = UNPROCESSABLE
        if method:
            target = session.get("next")
            services.complete_login(db.session, user, method=method)
            session.clear()
            login_user(user)
            sessions.start(user)
            return devices.remember(redirect(_safe_next(target)), user.email)
        if remaining:
            return render_template("auth/second_factor.html", form=form), 429
    return render_template("auth/second_factor.html", form=form), status


@bp.route("/deconnexion", methods=["POST"])
@access(AUTHENTICATED)
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        from mediation.audit.services import record

        record(db.session, "auth.logout", actor=current_user, obj=current_user)
        sessions.end_current()  # every copy of this browser's cookie stops working
        flash("Vous êtes déconnecté·e.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/compte/deconnexion-partout", methods=["POST"])
@access(AUTHENTICATED)
def logout_everywhere():
    """« Se déconnecter de tous les appareils »: every browser session of the account ends,
    this one included (API tokens are not concerned)."""
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("auth.account"))
    from mediation.audit.services import record

    user = current_user._get_current_object()
    ended = services.end_user_sessions(db.session, user, "all_devices")
    record(db.session, "auth.logout_everywhere", actor=user, obj=user, details={"sessions": ended})
    logout_user()
    session.clear()
    flash("Vous êtes déconnecté·e de tous vos appareils.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/compte/double-authentification", methods=["GET", "POST"])
@access(AUTHENTICATED)
def totp_setup():
    if current_user.totp_enabled:
        return render_template("auth/totp_enabled.html")
    secret = session.get("totp_setup_secret") or services.new_totp_secret()
    session["totp_setup_secret"] = secret
    form = TotpSetupForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = services.enable_totp(db.session, current_user, secret, form.code.data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            session.pop("totp_setup_secret", None)
            _sign_in_again("totp")  # new session id with the 2nd factor, other sessions end
            db.session.commit()
            return render_template("auth/recovery_codes.html", codes=codes, regenerated=False)
    uri = services.totp_uri(current_user, secret)
    return render_template("auth/totp_setup.html", form=form, qr=qr_svg(uri), secret=secret), status


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@access(PUBLIC)
def password_forgotten():
    form = PasswordForgottenForm()
    if form.validate_on_submit():
        services.request_password_reset(db.session, form.email.data)
        flash("Si un compte existe avec cette adresse, un e-mail contenant un lien de réinitialisation "
              "vient d'être envoyé. Le lien est valable une heure.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/password_forgotten.html", form=form)


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
@access(PUBLIC)
def password_reset(token: str):
    try:
        user = services.user_for_reset_token(db.session, token)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("auth.password_forgotten"))
    form = PasswordResetForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.reset_password(db.session, user, form.password.data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash("Votre mot de passe a été modifié. Vous pouvez vous connecter.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/password_reset.html", form=form), status


def _refused(form, error: DomainError) -> None:
    """Show a service's refusal on the form. A wrong current password or code was recorded as a
    failed sign-in: keep that record (it feeds throttling); otherwise commit nothing."""
    if isinstance(error, (services.ReauthenticationFailed, services.LoginLocked)):
        keep_despite_error()
    show_domain_error(form, error)


def _form_status(error: DomainError | None) -> int:
    if error is None:
        return 200
    return 429 if isinstance(error, services.LoginLocked) else UNPROCESSABLE


def _sign_in_again(reason: str) -> None:
    """After a change of password or second factor, every other session of the account ends
    (their server records are revoked) and this one is signed in again (the Flask-Login id embeds
    a fingerprint of the password and second factor)."""
    user = current_user._get_current_object()
    services.end_user_sessions(db.session, user, reason, keep=sessions.current_secret())
    login_user(user)


@bp.route("/compte")
@access(AUTHENTICATED)
def account():
    user = current_user._get_current_object()
    return render_template(
        "auth/account.html",
        memberships=services.current_memberships(db.session, user),
        totp_optional=not user.requires_totp,
        api_tokens_allowed=user.role in services.API_TOKEN_ROLES,
    )


@bp.route("/compte/mot-de-passe", methods=["GET", "POST"])
@access(AUTHENTICATED)
def password_change():
    form = PasswordChangeForm()
    error = None
    if form.validate_on_submit():
        try:
            services.change_password(db.session, current_user._get_current_object(),
                                     form.current_password.data, form.password.data,
                                     keep_session=sessions.current_secret())
        except DomainError as exc:
            error = exc
            _refused(form, error)
        else:
            _sign_in_again("password")
            flash("Votre mot de passe a été modifié. Vos autres sessions ont été fermées.", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/password_change.html", form=form), _form_status(error)


@bp.route("/compte/codes-de-secours", methods=["GET", "POST"])
@access(AUTHENTICATED)
def recovery_codes():
    if not current_user.totp_enabled:
        return redirect(url_for("auth.totp_setup"))
    form = ConfirmTotpForm()
    error = None
    if form.validate_on_submit():
        try:
            codes = services.regenerate_recovery_codes(db.session, current_user._get_current_object(),
                                                       form.code.data)
        except DomainError as exc:
            error = exc
            _refused(form, error)
        else:
            return render_template("auth/recovery_codes.html", codes=codes, regenerated=True)
    return render_template("auth/recovery_codes_regenerate.html", form=form), _form_status(error)


@bp.route("/compte/double-authentification/desactivation", methods=["GET", "POST"])
@access(AUTHENTICATED)
def totp_disable():
    if not current_user.totp_enabled:
        return redirect(url_for("auth.account"))
    if current_user.requires_totp:
        flash("La double authentification est obligatoire pour votre rôle : elle ne peut pas être "
              "désactivée.", "error")
        return redirect(url_for("auth.account"))
    form = ConfirmPasswordForm()
    error = None
    if form.validate_on_submit():
        try:
            services.disable_own_totp(db.session, current_user._get_current_object(),
                                      form.current_password.data)
        except DomainError as exc:
            error = exc
            _refused(form, error)
        else:
            _sign_in_again("totp")
            flash("La double authentification est désactivée. Vous pouvez la réactiver à tout moment.",
                  "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/totp_disable.html", form=form), _form_status(error)


# --- personal API tokens -------------------------------------------------------------------

TOKEN_ROLES = sorted(services.API_TOKEN_ROLES)


@bp.route("/compte/jetons")
@access(*TOKEN_ROLES)
def token_list():
    return render_template(
        "auth/token_list.html",
        tokens=services.own_api_tokens(db.session, current_user),
        scopes=services.API_SCOPES,
        revoke_form=EmptyForm(),
    )


@bp.route("/compte/jetons/nouveau", methods=["GET", "POST"])
@access(*TOKEN_ROLES)
def token_new():
    form = ApiTokenForm()
    status = 200
    if current_user.role in services.ROLE_API_SCOPES:
        form.scopes.choices = [c for c in form.scopes.choices if c.value in services.ROLE_API_SCOPES[current_user.role]]
    if form.validate_on_submit():
        try:
            token, raw = services.create_api_token(db.session, current_user, form.name.data,
                                                   form.scopes.data, days=form.days.data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            return render_template("auth/token_created.html", token=token, raw=raw,
                                   scopes=services.API_SCOPES)
    return render_template("auth/token_new.html", form=form), status


@bp.route("/compte/jetons/<int:token_id>/revocation", methods=["POST"])
@access(*TOKEN_ROLES)
def token_revoke(token_id: int):
    try:
        token = services.own_api_token(db.session, current_user, token_id)
    except NotFound:
        abort(404)
    if EmptyForm().validate_on_submit():
        services.revoke_api_token(db.session, token, actor=current_user)
        flash(f"Le jeton « {token.name} » est révoqué : il ne permet plus d'accéder à l'API.", "success")
    return redirect(url_for("auth.token_list"))
