"""A Synerise client for the tests: what an existing Synerise integration sends, verbatim; and
the error shape Synerise's routes answer."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

NS = "workspace"


class Synerise:
    def __init__(self, client, namespace: str = NS) -> None:
        self.client = client
        self.headers = {"X-Idgraph-Namespace": namespace, "Api-Version": "4.4"}
        self.namespace = namespace

    def batch(self, *clients: dict[str, Any]):
        response = self.client.post("/v4/clients/batch", json=list(clients), headers=self.headers)
        assert response.status_code == 202, response.json
        assert response.data == b""
        return response

    def create(self, **client: Any) -> dict[str, Any]:
        """Create by batch (one object) and answer the client as read back by its first
        identifier."""
        self.batch(client)
        kind = next(k for k in ("uuid", "email", "customId", "phone") if k in client)
        return self.by(kind, client[kind])

    def by(self, kind: str, value: str) -> dict[str, Any] | None:
        """The client holding an identifier, None on 404."""
        response = self.client.get(f"/v4/clients/by-{kind}/{value}", headers=self.headers)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.json
        return response.json

    def client_id(self, client_id: int):
        return self.client.get(f"/v4/clients/{client_id}", headers=self.headers)

    def post(self, path: str, **kwargs: Any):
        return self.client.post(path, headers=self.headers, **kwargs)

    def conflicts(self) -> list[dict[str, Any]]:
        response = self.client.get(f"/v1/{self.namespace}/conflicts")
        return response.json["conflicts"]


SYNERISE_ERROR_KEYS = {"timestamp", "status", "error", "message", "path", "code", "details"}


def synerise_error(response, status: int, code: str) -> dict[str, Any]:
    """Synerise's error shape, which its routes answer (app/api/errors.py); returns idgraph's
    part of it, ``{code, message, details}``, as apitools.assert_error does for the native one.
    """
    assert response.status_code == status, response.json
    body = response.json
    assert set(body) == SYNERISE_ERROR_KEYS, body
    assert (body["status"], body["error"]) == (status, HTTPStatus(status).phrase), body
    assert body["path"] == response.request.path, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["details"], dict), body
    return {name: body[name] for name in ("code", "message", "details")}
