"""Helpers for API tests: a thin wrapper over Flask's test client so a test reads as what a
user does, and the one error shape."""

from __future__ import annotations

from typing import Any


def identifiers(*texts: str) -> list[dict[str, str]]:
    """``"email:a@x.io"`` -> ``{"type": "email", "value": "a@x.io"}``; the type is everything
    before the last colon, so ``"ext:crm:u1"`` is type ``ext:crm``."""
    pairs = (text.rpartition(":") for text in texts)
    return [{"type": type_, "value": value} for type_, _, value in pairs]


class Api:
    def __init__(self, client, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = headers or {}

    def link(self, ns: str, *items: Any, dry_run: bool = False, **body: Any):
        """Each item is a tuple of "type:value" texts, or a dict sent as is."""
        payload = {
            "items": [
                it if isinstance(it, dict) else {"identifiers": identifiers(*it)} for it in items
            ],
            **body,
        }
        query = "?dry_run=true" if dry_run else ""
        return self.client.post(f"/v1/{ns}/links{query}", json=payload, headers=self.headers)

    def outcomes(self, ns: str, *items: Any, **body: Any) -> list[tuple[str, int | None]]:
        response = self.link(ns, *items, **body)
        assert response.status_code == 200, response.json
        return [(r["outcome"], r["profile_id"]) for r in response.json["results"]]

    def get(self, path: str, **kwargs: Any):
        return self.client.get(path, headers=self.headers, **kwargs)

    def profile(self, ns: str, text: str):
        type_, _, value = text.rpartition(":")
        return self.get(f"/v1/{ns}/identifiers/{type_}/{value}")

    def members(self, ns: str, text: str) -> set[str]:
        response = self.profile(ns, text)
        assert response.status_code == 200, response.json
        return {f"{i['type']}:{i['value']}" for i in response.json["identifiers"]}


def assert_error(response, status: int, code: str) -> dict[str, Any]:
    """The one error shape; returns the error body for further assertions."""
    assert response.status_code == status, response.json
    body = response.json
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]
