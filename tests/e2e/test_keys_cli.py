"""`idgraph keys` against the store a running server uses: a key created on the command line
works over HTTP at once, shows up in the list without its secret, and once revoked is refused
by every worker of the server at its next request."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_server import IDGRAPH

pytestmark = pytest.mark.e2e

TOKEN = "s3cret-admin-token"


def keys(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "IDGRAPH_STORE": f"sqlite:///{tmp_path / 'e2e.db'}"}
    return subprocess.run(
        [IDGRAPH, "keys", *arguments], env=environment, capture_output=True, text=True, timeout=60
    )


def test_a_key_from_the_command_line_works_until_revoked_in_every_worker(start, tmp_path):
    server = start(IDGRAPH_ADMIN_TOKEN=TOKEN)
    created = keys(tmp_path, "create", "--namespace", "shop", "--rights", "read,write",
                   "--name", "crm-sync")  # fmt: skip
    assert created.returncode == 0, created.stderr
    text = created.stdout.strip()
    assert text.startswith("idg_") and "\n" not in text  # stdout: the key and nothing else
    assert "shown once" in created.stderr

    item = {
        "identifiers": [{"type": "email", "value": "ann@x.io"}, {"type": "customId", "value": "c1"}]
    }
    status, body = server.request("POST", "/v1/shop/links", {"items": [item]}, token=text)
    assert status == 200, body
    assert body["results"][0]["outcome"] == "created"
    assert server.request("GET", "/v1/other/conflicts", token=text)[0] == 404

    listed = keys(tmp_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["name"] == "crm-sync" and row["rights"] == ["read", "write"]
    assert row["revoked_at"] is None
    secret = text.split("_", 2)[2]  # idg_<id>_<secret>: the secret may hold "_" itself
    assert len(secret) == 43 and secret not in listed.stdout

    # every worker has verified (and remembered) the key before it is revoked
    for _ in range(500):
        assert server.request("GET", "/v1/shop/conflicts", token=text)[0] == 200
        if len(workers_that_served(server.log, "crm-sync")) == server.workers:
            break
    assert len(workers_that_served(server.log, "crm-sync")) == server.workers == 2
    revoked = keys(tmp_path, "revoke", str(row["id"]))
    assert revoked.returncode == 0, revoked.stderr
    answers = [server.request("GET", "/v1/shop/conflicts", token=text)[0] for _ in range(20)]
    assert set(answers) == {401}


def test_bad_arguments_exit_2_with_a_message_and_change_nothing(tmp_path):
    for arguments, message in [
        (("create", "--namespace", "shop", "--rights", "admin"), "rights are some of read, write"),
        (("create", "--namespace", "no spaces", "--rights", "read"), "not a valid namespace"),
        (("revoke", "99"), "no API key 99"),
    ]:
        result = keys(tmp_path, *arguments)
        assert result.returncode == 2, (arguments, result.stdout, result.stderr)
        assert message in result.stderr and result.stdout == ""
    assert keys(tmp_path, "list").stdout == ""


def workers_that_served(log: Path, who: str) -> set[int]:
    """The pids of the workers whose access lines name this caller."""
    lines = (json.loads(line) for line in log.read_text().splitlines() if line.startswith("{"))
    return {line["pid"] for line in lines if line.get("who") == who}
