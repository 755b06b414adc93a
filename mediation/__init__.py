"""mediation — the back office of digital-inclusion networks."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from mediation.config import INSTANCE, ROOT, check_renamed, from_environment


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(INSTANCE),
    )
    app.config.update(from_environment())
    if config:
        check_renamed(config)
        app.config.update(config)
    configure_logging(app)
    configure_proxies(app)
    app.url_map.converters["int"] = DatabaseIdConverter
    allow_demo_email_domains(app)
    register_extensions(app)
    register_blueprints(app)
    register_cli(app)
    from mediation import web

    web.init_app(app)
    check_every_route_declares_access(app)
    return app


def configure_logging(app: Flask) -> None:
    # Log lines carry ids and routes, never names, e-mails or notes.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def configure_proxies(app: Flask) -> None:
    """Behind MEDIATION_TRUSTED_PROXIES reverse proxies (0 by default: none trusted), take the
    client's address from X-Forwarded-For as they set it, so that per-address rate limits see
    each client, not the proxy. Never trusted by default: the header could be forged."""
    count = app.config.get("MEDIATION_TRUSTED_PROXIES") or 0
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count)


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` in URLs: ids beyond a 64-bit integer cannot exist, so they are 404, not 500."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > 2**63 - 1:
            raise NotFound()  # the same answer whatever the method (a failed match could say 405)
        return number


def allow_demo_email_domains(app: Flask) -> None:
    """Demo and test accounts use the reserved ``.test`` domain; production keeps the full check."""
    if app.config["MEDIATION_ENV"] != "production":
        import email_validator

        if "test" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
            email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("test")


def register_extensions(app: Flask) -> None:
    from mediation.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        from mediation.extensions import configure_psycopg, configure_sqlite

        configure_sqlite(db.engine)
        if db.engine.dialect.name == "postgresql":
            configure_psycopg()
    from mediation import replica

    replica.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    from mediation import i18n

    i18n.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    # Import every model so that Alembic and relationships see the whole schema.
    import mediation.models  # noqa: F401


def register_blueprints(app: Flask) -> None:
    from mediation.api import bp as api_bp
    from mediation.appointments.guide_views import bp as guide_bp
    from mediation.appointments.views import bp as appointments_bp
    from mediation.audit.views import bp as audit_bp
    from mediation.auth.views import bp as auth_bp
    from mediation.badges.views import bp as badges_bp
    from mediation.badges.views import ob as ob_bp
    from mediation.carnet import staff_views as _card_routes  # noqa: F401 (routes on the badges blueprint)
    from mediation.carnet.views import bp as wallet_bp
    from mediation.cases.exchange_views import bp as cases_exchange_bp
    from mediation.cases.views import bp as cases_bp
    from mediation.coordination.views import bp as coordination_bp
    from mediation.directory.views import bp as directory_bp
    from mediation.equipment.views import bp as equipment_bp
    from mediation.evaluation.views import bp as evaluation_bp
    from mediation.home import bp as home_bp
    from mediation.jobs.views import bp as jobs_bp
    from mediation.mandates.views import bp as mandates_bp
    from mediation.pathways.views import bp as pathways_bp
    from mediation.stats.views import bp as stats_bp
    from mediation.training.views import bp as training_bp

    _register_api_modules()
    app.register_blueprint(home_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(directory_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(cases_exchange_bp)
    app.register_blueprint(coordination_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(mandates_bp)
    app.register_blueprint(equipment_bp)
    app.register_blueprint(evaluation_bp)
    app.register_blueprint(pathways_bp)
    app.register_blueprint(ob_bp)
    app.register_blueprint(badges_bp)
    app.register_blueprint(wallet_bp)
    app.register_blueprint(stats_bp)
    app.register_blueprint(training_bp)
    app.register_blueprint(appointments_bp)
    app.register_blueprint(guide_bp)


def _register_api_modules() -> None:
    """Each domain's ``api.py`` adds its routes to the API blueprint when imported (here, at the top
    of the layers: ``mediation.api`` itself is the shared toolkit the domains build on)."""
    from mediation.appointments import api as _appointments_api  # noqa: F401
    from mediation.auth import api as _auth_api  # noqa: F401
    from mediation.badges import api as _badges_api  # noqa: F401
    from mediation.carnet import api as _carnet_api  # noqa: F401
    from mediation.cases import api as _cases_api  # noqa: F401
    from mediation.coordination import api as _coordination_api  # noqa: F401
    from mediation.directory import api as _directory_api  # noqa: F401
    from mediation.equipment import api as _equipment_api  # noqa: F401
    from mediation.evaluation import api as _evaluation_api  # noqa: F401
    from mediation.mandates import api as _mandates_api  # noqa: F401
    from mediation.pathways import api as _pathways_api  # noqa: F401
    from mediation.training import api as _training_api  # noqa: F401


def register_cli(app: Flask) -> None:
    from mediation.cli import register

    register(app)


def check_every_route_declares_access(app: Flask) -> None:
    """Refuse to start when a view does not say who may reach it (see mediation.policy.access)."""
    missing = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        and not hasattr(app.view_functions[rule.endpoint], "access_roles")
    ]
    if missing:
        raise RuntimeError(f"routes without an access declaration: {', '.join(sorted(missing))}")
