"""The real server, started the way `make run` starts it (`idgraph serve`), on a temporary store
and a free port, spoken to over HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from app.cli.serve import request_threads
from app.settings import Settings
from tests.neo4j_server import free_port

pytestmark = pytest.mark.e2e

IDGRAPH = str(Path(sys.executable).parent / "idgraph")


class Server:
    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"server-{self.port}.log"
        environment = {
            **os.environ,
            "PORT": str(self.port),
            "IDGRAPH_STORE": f"sqlite:///{tmp_path / 'e2e.db'}",
            **env,
        }
        self.workers = int(environment.get("IDGRAPH_WORKERS", "2"))
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [IDGRAPH, "serve"], env=environment, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until /healthz answers and every worker said it is ready (a worker still booting
        would miss the SIGTERM of stop())."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log.read_text()}")
            ready = re.findall(r"idgraph worker \d+ ready", self.log.read_text())
            if len(ready) >= self.workers and self._healthy():
                return
            time.sleep(0.1)
        raise AssertionError(f"server not ready in {timeout}s:\n{self.log.read_text()}")

    def _healthy(self) -> bool:
        try:
            return self.request("GET", "/healthz")[0] == 200
        except OSError:
            return False

    def request(self, method: str, path: str, body=None, token: str | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)


@pytest.fixture
def start(tmp_path):
    servers: list[Server] = []

    def start_(**env: str) -> Server:
        server = Server(tmp_path, **env)
        servers.append(server)
        server.wait_ready()
        return server

    yield start_
    for server in servers:
        server.stop()


ITEM = {"identifiers": [{"type": "email", "value": "Ann@x.io"}, {"type": "customId", "value": "7"}]}


def test_served_api_links_and_resolves_over_http(start):
    server = start()
    status, body = server.request("POST", "/v1/shop/links", {"items": [ITEM], "request_id": "r1"})
    assert status == 200 and body["results"][0]["outcome"] == "created"
    status, profile = server.request("GET", "/v1/shop/identifiers/email/ann@x.io")
    assert status == 200 and profile["id"] == body["results"][0]["profile_id"]
    assert server.request("GET", "/openapi.json")[0] == 200
    banner = server.log.read_text()
    assert f"listening on http://127.0.0.1:{server.port}" in banner
    assert "store: sqlite:///" in banner and "local open mode" in banner
    assert "2 workers x 2 threads" in banner  # SQLite: few threads, see app/cli/serve.py


def test_acknowledged_links_survive_a_restart(start):
    first = start()
    status, body = first.request("POST", "/v1/shop/links", {"items": [ITEM]})
    assert status == 200
    first.stop()
    again = start()
    status, profile = again.request("GET", f"/v1/shop/profiles/{body['results'][0]['profile_id']}")
    assert status == 200 and len(profile["identifiers"]) == 2


def test_with_an_admin_token_requests_without_it_are_401(start):
    server = start(IDGRAPH_ADMIN_TOKEN="t0ken")
    status, body = server.request("POST", "/v1/shop/links", {"items": [ITEM]})
    assert status == 401 and body["error"]["code"] == "unauthorized"
    assert server.request("POST", "/v1/shop/links", {"items": [ITEM]}, token="t0ken")[0] == 200
    assert "auth: bearer token" in server.log.read_text()


def test_served_api_on_neo4j_links_resolves_and_survives_a_restart(start, empty_bolt_server):
    first = start(**empty_bolt_server.environment())
    status, body = first.request("POST", "/v1/shop/links", {"items": [ITEM], "request_id": "r1"})
    assert status == 200 and body["results"][0]["outcome"] == "created"
    assert first.request("GET", "/healthz") == (200, {"status": "ok", "store": "bolt"})
    assert "2 workers x 8 threads" in first.log.read_text()  # Neo4j: requests wait on Bolt
    first.stop()
    again = start(**empty_bolt_server.environment())
    status, profile = again.request("GET", "/v1/shop/identifiers/email/ann@x.io")
    assert status == 200 and profile["id"] == body["results"][0]["profile_id"]
    replay = again.request("POST", "/v1/shop/links", {"items": [ITEM], "request_id": "r1"})
    assert replay == (200, body)


def test_an_unreachable_neo4j_stops_start_up_with_a_clear_message(tmp_path):
    url = f"bolt://127.0.0.1:{free_port()}"
    result = run_serve(tmp_path, IDGRAPH_STORE=url, PORT=str(free_port()))
    assert result.returncode == 2
    assert f"cannot open Neo4j store {url}" in result.stderr


def run_serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "IDGRAPH_STORE": f"sqlite:///{tmp_path / 'x.db'}", **env}
    return subprocess.run(
        [IDGRAPH, "serve"], env=environment, capture_output=True, text=True, timeout=30
    )


def test_open_mode_refuses_to_bind_a_public_address(tmp_path):
    result = run_serve(tmp_path, HOST="0.0.0.0", PORT=str(free_port()))
    assert result.returncode == 2
    assert "IDGRAPH_ADMIN_TOKEN" in result.stderr and "loopback" in result.stderr


def test_a_malformed_rules_file_stops_start_up_with_a_clear_message(tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text('{"defaults": {"max_identifiers": "many"}}')
    result = run_serve(tmp_path, IDGRAPH_RULES=str(rules), PORT=str(free_port()))
    assert result.returncode == 2
    assert f"{rules}: defaults.max_identifiers" in result.stderr


def test_a_bad_port_stops_start_up_with_a_clear_message(tmp_path):
    result = run_serve(tmp_path, PORT="eighty")
    assert result.returncode == 2 and "PORT='eighty'" in result.stderr


def test_threads_per_worker_default_by_store_unless_given():
    assert request_threads(Settings(store="sqlite:///x.db")) == 2
    assert request_threads(Settings(store="neo4j://db:7687")) == 8
    assert request_threads(Settings(store="bolt+s://db:7687", threads=3)) == 3
    assert request_threads(Settings.from_env({"IDGRAPH_THREADS": "4"})) == 4
