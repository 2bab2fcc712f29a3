"""GET /healthz: 200 once the store answers, 503 while it does not."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from app.api.blueprint import Blueprint
from app.api.context import service
from app.api.schemas import HealthSchema

blp = Blueprint("health", __name__, description="Liveness of the service and its store.")


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.doc(security=[])  # open in every mode (app/api/auth.py): say so in the OpenAPI document
    def get(self) -> Any:
        """200 once the store answers; 503 with the error shape when it does not."""
        store = service().store
        store.ping()
        return {"status": "ok", "store": store.url.split(":", 1)[0]}
