"""Sign-in, second factor and sign-out. Handlers stay thin: rules are in auth.services."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from mediation.auth import services
from mediation.auth.forms import (
    EmptyForm,
    LoginForm,
    PasswordForgottenForm,
    PasswordResetForm,
    TotpForm,
    TotpSetupForm,
)
from mediation.auth.models import User
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.policy import AUTHENTICATED, PUBLIC, access

bp = Blueprint("auth", __name__)

PENDING_KEY = "pending_2fa_user"


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home.index")


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
            db.session.commit()  # keep the failed attempt: it feeds throttling
            form.form_errors.append(error.message)
            return render_template("auth/login.html", form=form), error.status_code if error.status_code == 429 else 200
        if user.totp_enabled:
            session[PENDING_KEY] = user.id
            session["next"] = _safe_next(request.args.get("next"))
            return redirect(url_for("auth.login_second_factor"))
        services.complete_login(db.session, user, method="password")
        session.clear()
        login_user(user)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.route("/connexion/verification", methods=["GET", "POST"])
@access(PUBLIC)
def login_second_factor():
    user_id = session.get(PENDING_KEY)
    user = db.session.get(User, user_id) if user_id else None
    if user is None:
        return redirect(url_for("auth.login"))
    form = TotpForm()
    if form.validate_on_submit():
        remaining = services.lock_remaining(db.session, user.email)
        code = form.code.data.strip()
        if remaining:
            form.code.errors.append(services._locked_message(remaining))
        elif services.verify_totp(db.session, user, code):
            method = "totp"
        elif services.use_recovery_code(db.session, user, code):
            method = "recovery_code"
            flash("Vous avez utilisé un code de secours. Il ne servira plus.", "warning")
        else:
            method = None
            services.record_failed_second_factor(db.session, user)
            db.session.commit()
            form.code.errors.append("Code incorrect ou déjà utilisé.")
        if not form.code.errors and method:
            target = session.get("next")
            services.complete_login(db.session, user, method=method)
            session.clear()
            login_user(user)
            return redirect(_safe_next(target))
    return render_template("auth/second_factor.html", form=form)


@bp.route("/deconnexion", methods=["POST"])
@access(AUTHENTICATED)
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        from mediation.audit.services import record

        record(db.session, "auth.logout", actor=current_user, obj=current_user)
        logout_user()
        session.clear()
        flash("Vous êtes déconnecté·e.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/compte/double-authentification", methods=["GET", "POST"])
@access(AUTHENTICATED)
def totp_setup():
    if current_user.totp_enabled:
        return render_template("auth/totp_enabled.html")
    secret = session.get("totp_setup_secret") or services.new_totp_secret()
    session["totp_setup_secret"] = secret
    form = TotpSetupForm()
    if form.validate_on_submit():
        try:
            codes = services.enable_totp(db.session, current_user, secret, form.code.data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            session.pop("totp_setup_secret", None)
            db.session.commit()
            login_user(current_user._get_current_object())  # new session id with the 2nd factor
            return render_template("auth/recovery_codes.html", codes=codes)
    uri = services.totp_uri(current_user, secret)
    return render_template("auth/totp_setup.html", form=form, qr=qr_svg(uri), secret=secret)


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
    if form.validate_on_submit():
        try:
            services.set_password(db.session, user, form.password.data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash("Votre mot de passe a été modifié. Vous pouvez vous connecter.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/password_reset.html", form=form)


@bp.route("/compte")
@access(AUTHENTICATED)
def account():
    return render_template("auth/account.html")
