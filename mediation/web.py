"""Request-wide behaviour: one commit per request, security headers, errors, template helpers.

A request commits once, at its end, only if it succeeded: an exception (whatever handles it), an
error status (>= 400) or a refusal told to the user (a message flashed with category "error")
rolls everything back, so handlers never roll back themselves. A form re-rendered after a
``DomainError`` answers 422 (:func:`mediation.forms.show_domain_error`). The only way to keep a
write despite an error is :func:`mediation.transaction.keep_despite_error` (failed attempts that
feed throttling)."""

from __future__ import annotations

import contextlib
import logging
from datetime import date, datetime

import sqlalchemy as sa
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from flask import (
    Flask,
    flash,
    g,
    jsonify,
    make_response,
    message_flashed,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from mediation import replica
from mediation.errors import DomainError
from mediation.extensions import db, login_manager
from mediation.types import LOCAL_TIMEZONE, to_paris

log = logging.getLogger("mediation")
PARIS = LOCAL_TIMEZONE  # the one time zone of the service (mediation.types)

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

# Endpoints a signed-in user who must enrol a second factor may still reach.
TOTP_ENROLMENT_ENDPOINTS = {"auth.totp_setup", "auth.logout", "static"}


def init_app(app: Flask) -> None:
    @login_manager.user_loader
    def load_user(session_id: str):
        # The server-side session row (one indexed read): revoked, idle or past 12 h → None.
        from mediation.auth.sessions import load_user

        return load_user(session_id)

    @app.before_request
    def session_lifetime():
        # Revoked sessions, idle timeout (PERMANENT_SESSION_LIFETIME) and 12 h maximum, with a message.
        from mediation.auth.sessions import enforce_lifetime

        return enforce_lifetime()

    @app.before_request
    def enforce_second_factor():
        if (
            current_user.is_authenticated
            and current_user.requires_totp
            and not current_user.totp_enabled
            and request.endpoint not in TOTP_ENROLMENT_ENDPOINTS
            and not request.path.startswith("/api/")
        ):
            flash("Votre rôle exige une double authentification : activez-la pour continuer.", "warning")
            return redirect(url_for("auth.totp_setup"))
        return None

    message_flashed.connect(_note_refusal, app)

    @app.after_request
    def commit_or_rollback(response):
        if g.get("request_failed") or g.get("refused") or response.status_code >= 400:
            with contextlib.suppress(sa.exc.OperationalError, sa.exc.InterfaceError):
                db.session.rollback()
        else:
            try:
                db.session.commit()
            except (sa.exc.OperationalError, sa.exc.InterfaceError):  # the database went away: not saved
                log.error("database unavailable at commit")
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    db.session.rollback()
                return database_unavailable_response()
            replica.remember_write()
        return response

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        try:
            signed_in = bool(current_user and current_user.is_authenticated)
        except sa.exc.SQLAlchemyError:  # the user's row cannot be reloaded (database down): be safe
            signed_in = True
        if signed_in:
            headers.setdefault("Cache-Control", "no-store")
        return response

    register_error_handlers(app)
    register_template_helpers(app)


def _note_refusal(sender, message, category, **extra) -> None:
    """A message of category "error" tells the user the action was refused: nothing is saved."""
    if category == "error":
        g.refused = True


UNAVAILABLE = ("Service indisponible", "La base de données est momentanément indisponible ; rien n'a été "
               "enregistré. Réessayez dans un instant.")
UNAVAILABLE_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — Médiation numérique</title><link rel="stylesheet" href="/static/css/app.css"></head>
<body><main id="contenu"><h1>{title}</h1><p>{message}</p><p><a href="/">Retour à l'accueil</a></p></main></body>
</html>"""


def database_unavailable_response():
    """503 built without the database: no layout (it reads the signed-in user), no query."""
    title, message = UNAVAILABLE
    if request.path.startswith("/api/"):
        response = make_response(jsonify({"error": {"status": 503, "title": title, "message": message}}), 503)
    else:
        response = make_response(UNAVAILABLE_PAGE.format(title=title, message=message.replace("'", "&#39;")), 503)
        response.mimetype = "text/html"
    response.headers["Retry-After"] = "5"
    response.headers["Cache-Control"] = "no-store"
    return response


def _request_failed() -> None:
    """An exception reached the error handlers: nothing the request wrote is committed."""
    g.request_failed = True
    with contextlib.suppress(sa.exc.SQLAlchemyError):
        db.session.rollback()


def _error_response(status: int, title: str, message: str):
    if request.path.startswith("/api/"):
        body = jsonify({"error": {"status": status, "title": title, "message": message}})
    else:
        body = render_template("errors/error.html", status=status, title=title, message=message)
    return make_response(body, status)


def register_error_handlers(app: Flask) -> None:
    messages = {
        400: ("Requête invalide", "La requête n'a pas pu être traitée."),
        401: ("Authentification requise", "Connectez-vous ou fournissez un jeton d'API valide."),
        403: ("Accès refusé", "Vous n'avez pas les droits nécessaires pour cette page."),
        404: ("Page introuvable", "Cette page n'existe pas ou n'est pas accessible avec votre compte."),
        405: ("Méthode non autorisée", "Cette action n'est pas possible ainsi."),
        413: ("Fichier trop volumineux", "Le fichier envoyé dépasse la taille autorisée."),
        429: ("Trop de tentatives", "Trop de tentatives : réessayez dans quelques minutes."),
        500: ("Erreur interne", "Une erreur est survenue ; rien n'a été enregistré. Réessayez."),
        503: ("Service indisponible", "La base de données est momentanément indisponible ; rien n'a été "
              "enregistré. Réessayez dans un instant."),
    }

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        _request_failed()
        return _error_response(
            400, "Formulaire expiré", "Le formulaire a expiré ou n'est pas valide : rechargez la page et "
            "recommencez."
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        _request_failed()
        return _error_response(error.status_code, "Action impossible", error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        _request_failed()
        title, message = messages.get(error.code, (error.name, error.description or ""))
        if error.code == 400 and error.description and "browser (or proxy)" not in error.description:
            message = error.description
        response = _error_response(error.code or 500, title, message)
        if getattr(error, "valid_methods", None):  # 405: say which methods are allowed
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    def database_down(error):
        log.error("database unavailable: %s", type(error).__name__)
        _request_failed()
        return database_unavailable_response()

    @app.errorhandler(Exception)
    def unexpected(error):
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unexpected error on %s %s", request.method, request.endpoint)
        _request_failed()
        return _error_response(500, *messages[500])


def register_template_helpers(app: Flask) -> None:
    from mediation import text

    app.jinja_env.filters.update(text.FILTERS)
    @app.template_filter("date_fr")
    def date_fr(value, fmt: str = "medium"):
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = to_paris(value).date()
        if isinstance(value, date):
            return format_date(value, format=fmt, locale="fr_FR")
        return value

    @app.template_filter("datetime_fr")
    def datetime_fr(value, fmt: str = "d MMM y 'à' HH:mm"):
        if value is None:
            return "—"
        return format_datetime(to_paris(value), format=fmt, locale="fr_FR", tzinfo=PARIS)

    @app.template_filter("number_fr")
    def number_fr(value, digits: int = 0):
        if value is None:
            return "—"
        fmt = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=fmt, locale="fr_FR")

    @app.context_processor
    def inject_globals():
        return {"network_name": app.config["MEDIATION_NETWORK_NAME"]}
