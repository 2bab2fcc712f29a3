"""Production serving: /metrics adds up gunicorn's workers, every request has a request id
(echoed, and on its log lines), and the logs are JSON lines. The real server, over HTTP."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.api import create_app
from app.settings import Settings
from tests.e2e.test_server import Server

pytestmark = pytest.mark.e2e

LOOKUP = "/v1/<ns>/identifiers/<type>/<path:value>"


@pytest.fixture
def server(tmp_path):
    """`idgraph serve`, 2 workers, its temporary files (the metrics directory) in tmp_path."""
    started = Server(tmp_path, TMPDIR=str(tmp_path))
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def call(server: Server, method: str, path: str, body: Any = None, **headers: str):
    """(status, headers, body bytes) of one request, on a connection of its own."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def log_lines(server: Server) -> list[dict[str, Any]]:
    """Every line the server wrote, each parsed as JSON (a line that is not fails the test)."""
    return [json.loads(line) for line in server.log.read_text().splitlines() if line.strip()]


def access_lines(server: Server) -> list[dict[str, Any]]:
    return [line for line in log_lines(server) if line["logger"] == "idgraph.access"]


def samples(server: Server) -> dict[tuple[str, frozenset], float]:
    status, headers, body = call(server, "GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def total(found: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(value for (n, got), value in found.items() if n == name and wanted <= got)


def link(ns: str, *pairs: tuple[str, str]) -> dict[str, Any]:
    """A native batch: one item per pair of ``type:value`` identifiers."""
    items = [
        {"identifiers": [dict(zip(("type", "value"), i.split(":", 1), strict=True)) for i in pair]}
        for pair in pairs
    ]
    return {"items": items}


def test_metrics_add_up_the_requests_every_worker_answered(server):
    call(server, "POST", "/v1/shop/links", link("shop", ("email:m@x.io", "customId:m1")))
    sent, pids = 0, set()
    lock = threading.Lock()

    def lookups(count: int) -> None:
        nonlocal sent
        for _ in range(count):
            status, _, _ = call(server, "GET", "/v1/shop/identifiers/email/m@x.io")
            assert status == 200
            with lock:
                sent += 1

    while len(pids) < 2 and sent < 2000:  # until both workers have answered some
        threads = [threading.Thread(target=lookups, args=(10,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        pids = {line["pid"] for line in access_lines(server) if line["route"] == LOOKUP}
    assert len(pids) == 2, "one worker answered every request"

    found = samples(server)
    assert total(found, "idgraph_http_requests_total", route=LOOKUP, status="200") == sent
    assert total(found, "idgraph_http_request_duration_seconds_count", route=LOOKUP) == sent
    assert total(found, "idgraph_store_transaction_seconds_count", kind="read") >= sent
    assert not any("m@x.io" in name or "m@x.io" in str(labels) for name, labels in found)


def test_metrics_count_batch_sizes_outcomes_conflicts_and_merges(server):
    first = link(
        "shop",
        ("email:a@x.io", "customId:a1"),
        ("uuid:00000000-0000-4000-8000-000000000001", "browserId:b1"),
    )
    assert call(server, "POST", "/v1/shop/links", first)[0] == 200
    second = link(
        "shop",
        ("customId:a1", "email:b@x.io"),  # a second email for a1's profile: conflict
        ("browserId:b1", "customId:a1"),  # the anonymous profile merges into a1's
        ("browserId:b1", "browserId:b2"),  # linked
        ("email:a@x.io", "customId:a1"),  # noop
    )
    assert call(server, "POST", "/v1/shop/links", second)[0] == 200
    dry = link("shop", ("email:c@x.io", "customId:c1"))
    assert call(server, "POST", "/v1/shop/links?dry_run=true", dry)[0] == 200  # decides nothing

    found = samples(server)
    outcomes = {
        kind: total(found, "idgraph_item_outcomes_total", outcome=kind)
        for kind in ("created", "linked", "merged", "noop", "conflict")
    }
    assert outcomes == {"created": 2, "linked": 1, "merged": 1, "noop": 1, "conflict": 1}
    assert total(found, "idgraph_conflicts_total", reason="unique_type:email") == 1
    assert total(found, "idgraph_merges_total") == 1
    route = "/v1/<ns>/links"
    assert total(found, "idgraph_batch_items_count", route=route) == 3
    assert total(found, "idgraph_batch_items_sum", route=route) == 2 + 4 + 1
    assert total(found, "idgraph_store_transaction_seconds_count", kind="write") == 2


def test_a_sane_request_id_is_echoed_and_logged_else_one_is_generated(server):
    status, headers, _ = call(server, "GET", "/healthz", X_Request_Id="lb-check.42:a_b-c")
    assert status == 200 and headers["X-Request-Id"] == "lb-check.42:a_b-c"
    generated = [call(server, "GET", "/healthz")[1]["X-Request-Id"] for _ in range(2)]
    insane = ["x" * 129, "has spaces", "ann@x.io", "a\u00e9b"]
    generated += [
        call(server, "GET", "/healthz", X_Request_Id=sent)[1]["X-Request-Id"] for sent in insane
    ]
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in generated)
    assert len(set(generated)) == len(generated)
    logged = {line.get("request_id") for line in access_lines(server)}
    assert {"lb-check.42:a_b-c", *generated} <= logged
    assert "ann@x.io" not in server.log.read_text()


def test_every_line_is_json_and_an_access_line_says_what_happened(server):
    body = link("shop", ("email:a@x.io", "customId:a1"), ("email:b@x.io", "customId:b1"))
    status, headers, _ = call(server, "POST", "/v1/shop/links", body, X_Request_Id="batch-7")
    assert status == 200
    call(server, "GET", "/v1/shop/identifiers/email/nobody@x.io", X_Request_Id="miss-1")
    lines = log_lines(server)  # every line parses
    assert all({"time", "level", "logger", "pid", "message"} <= set(line) for line in lines)
    by_id = {line.get("request_id"): line for line in access_lines(server)}
    batch = by_id["batch-7"]
    assert batch.pop("duration_ms") > 0 and batch.pop("time") and batch.pop("pid")
    assert batch == {
        "level": "info",
        "logger": "idgraph.access",
        "message": "POST /v1/<ns>/links 200",
        "request_id": "batch-7",
        "method": "POST",
        "route": "/v1/<ns>/links",
        "status": 200,
        "who": "local",
        "namespace": "shop",
        "batch_items": 2,
    }
    assert by_id["miss-1"]["route"] == LOOKUP and by_id["miss-1"]["status"] == 404
    starting = [line["message"] for line in lines if line["logger"].startswith("gunicorn")]
    assert any(message.startswith("Booting worker") for message in starting)


def test_the_metrics_directory_lives_as_long_as_the_server(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # a pid nobody has now
    gone.wait()
    abandoned = tmp_path / f"idgraph-metrics-{gone.pid}-x"  # its master was SIGKILLed
    abandoned.mkdir()
    server = Server(tmp_path, TMPDIR=str(tmp_path))
    server.wait_ready()
    [directory] = [p for p in tmp_path.iterdir() if p.name.startswith("idgraph-metrics-")]
    assert directory.name.startswith(f"idgraph-metrics-{server.process.pid}-")
    assert call(server, "GET", "/healthz")[0] == 200
    assert any(directory.iterdir())  # the workers' files
    server.stop()
    assert not directory.exists()


def test_text_logs_carry_the_request_id_too(tmp_path, capsys):
    app = create_app(Settings(store=f"sqlite:///{tmp_path / 'x.db'}", log_format="text"))
    try:
        response = app.test_client().get("/v1/shop/profiles/1", headers={"X-Request-Id": "t-1"})
    finally:
        app.extensions["idgraph.service"].store.close()
    assert response.status_code == 404 and response.headers["X-Request-Id"] == "t-1"
    [line] = [line for line in capsys.readouterr().err.splitlines() if "idgraph.access" in line]
    assert "[t-1] GET /v1/<ns>/profiles/<profile_id> 404" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


def test_in_one_process_metrics_live_in_the_app(tmp_path):
    app = create_app(Settings(store=f"sqlite:///{tmp_path / 'x.db'}"))
    try:
        client = app.test_client()
        client.get("/v1/shop/profiles/1")
        text = client.get("/metrics").get_data(as_text=True)
    finally:
        app.extensions["idgraph.service"].store.close()
    assert (
        'idgraph_http_requests_total{method="GET",route="/v1/<ns>/profiles/<profile_id>",'
        'status="404"} 1.0' in text
    )


def test_metrics_stay_out_of_the_openapi_document(tmp_path):
    app = create_app(Settings(store=f"sqlite:///{tmp_path / 'x.db'}"))
    try:
        paths = app.test_client().get("/openapi.json").json["paths"]
    finally:
        app.extensions["idgraph.service"].store.close()
    assert "/metrics" not in paths and "/healthz" in paths
