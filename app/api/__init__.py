"""The HTTP face of idgraph: ``create_app(settings)`` builds the Flask app over one service."""

from __future__ import annotations

from flask import Flask, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from app.api import adnuntius, health, history, native, omnidesk, synerise, viewer
from app.api.auth import install_auth
from app.api.cors import install_cors
from app.api.errors import ErrorSchema, register_error_handlers
from app.api.headers import install_security_headers
from app.api.jsonbody import Request
from app.api.logs import configure_logging, install_request_logs
from app.api.lookups import LeanLookups
from app.api.metrics import Metrics, install_metrics
from app.settings import Settings
from graph.keys import ApiKeys
from graph.model import utc_now
from graph.rules import load_rulebook
from graph.service import IdentityService
from graph.service.writer import LinkingProcess
from graph.store import open_store

API_VERSION = "0.1.0"


class IdgraphApi(Api):
    """flask-smorest's Api with our error shape in handlers and in the OpenAPI document."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        register_error_handlers(self._app)


def create_app(settings: Settings | None = None, service: IdentityService | None = None) -> Flask:
    """Build the app. Raises RulesError or StoreError when the configuration cannot work."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    metrics = Metrics.for_this_process()
    if service is None:
        store = metrics.timed(open_store(settings.store, **settings.store_options))
        rulebook = load_rulebook(settings.rules)
        service = IdentityService(store, rulebook, on_outcomes=metrics.count_outcomes)
        if settings.writer == "process":
            service.linking = LinkingProcess(
                store, rulebook, utc_now,
                store_url=settings.store, store_options=settings.store_options,
                rules=settings.rules, on_outcomes=metrics.count_outcomes,
                on_transaction=metrics.observe_transaction,
            )  # fmt: skip
    app = Flask(__name__)
    app.request_class = Request  # a chunked body over MAX_CONTENT_LENGTH is a 413 too
    app.config.update(
        API_TITLE="idgraph",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",
        API_SPEC_OPTIONS={
            "security": [{"bearerAuth": []}],
            "info": {"description": "Graph-based identity resolution. Errors share one shape."},
        },
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
    )
    app.extensions["idgraph.service"] = service
    app.extensions["idgraph.settings"] = settings
    install_request_logs(app)
    install_metrics(app, metrics)
    api = IdgraphApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(health.blp)
    api.register_blueprint(native.blp)
    api.register_blueprint(history.blp)
    api.register_blueprint(adnuntius.blp)
    api.register_blueprint(synerise.blp)
    api.register_blueprint(omnidesk.blp)
    app.register_blueprint(viewer.blp)
    app.add_url_rule("/docs/assets/<path:filename>", "docs_assets", _docs_asset)
    keys = app.extensions["idgraph.keys"] = ApiKeys(service.store)
    install_cors(app, settings.cors_origins, service.rulebook)  # preflights skip auth
    install_auth(app, settings, keys)
    install_security_headers(app)
    app.wsgi_app = LeanLookups(app, app.wsgi_app)  # type: ignore[method-assign]
    return app


def _docs_asset(filename: str):
    """Swagger UI's files from the swagger-ui-bundle wheel: /docs works offline."""
    return send_from_directory(swagger_ui_path, filename)
