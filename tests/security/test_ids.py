"""What an API key can learn from the ids it is given (issue 19, last point), over HTTP against
the real server on SQLite: ids are numbered per namespace, so the gap between two profiles a
key creates says nothing of how busy another namespace was meanwhile."""

from __future__ import annotations

import pytest

from tests.e2e.test_server import Server
from tests.security.test_key_guessing import keys

pytestmark = pytest.mark.e2e

TOKEN = "ids-admin-token"


def created(server: Server, ns: str, token: str, value: str) -> int:
    """The id of the profile a new identifier pair made in ``ns``."""
    pairs = [{"type": "customId", "value": value}, {"type": "deviceId", "value": value}]
    body = {"items": [{"identifiers": pairs}]}
    status, answer = server.request("POST", f"/v1/{ns}/links", body, token=token)
    assert status == 200, answer
    (result,) = answer["results"]
    assert result["outcome"] == "created", result
    return result["profile_id"]


def test_a_keys_profile_ids_show_nothing_of_another_namespaces_writes(start, tmp_path):
    server = start(IDGRAPH_ADMIN_TOKEN=TOKEN)
    key_a = keys(tmp_path, "create", "--namespace", "a", "--name", "key-a")
    key_b = keys(tmp_path, "create", "--namespace", "b", "--name", "key-b")

    first = created(server, "a", key_a, "a-first")
    others = [created(server, "b", key_b, f"b-{n}") for n in range(20)]
    second = created(server, "a", key_a, "a-second")

    assert second == first + 1
    assert others == list(range(1, 21))  # b counts its own from one, as a does
    status, profile = server.request("GET", f"/v1/a/profiles/{second}", token=key_a)
    assert status == 200 and {i["value"] for i in profile["identifiers"]} == {"a-second"}
