"""A web page on another origin sends identifiers to idgraph from the distro's headless
Chromium: with fetch() (JSON and a collect key in Authorization, so the browser sends a
preflight first) and with navigator.sendBeacon() (a text/plain body, the key in the query).
The links land and the allowed page reads the answer; a page whose origin is not allowed can
neither read an answer nor, with the same key, write anything."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.test_server import IDGRAPH, Server
from tests.neo4j_server import free_port

pytestmark = pytest.mark.e2e

TOKEN = "web-page-e2e-token"
PAGE = """<!doctype html>
<meta charset="utf-8">
<title>a shop</title>
<script>
async function viaFetch(api, key, item) {
  const answer = await fetch(api + "/sync", {
    method: "POST",
    headers: {"Authorization": "Bearer " + key, "Content-Type": "application/json"},
    body: JSON.stringify(item),
  });
  return {status: answer.status, body: await answer.json(),
          requestId: answer.headers.get("X-Request-Id")};
}
function viaBeacon(api, key, item) {
  return navigator.sendBeacon(api + "/sync?key=" + encodeURIComponent(key), JSON.stringify(item));
}
</script>
"""


class QuietPages(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def site(tmp_path) -> Iterator[int]:
    """The shop's pages, served on a port of their own: another origin than idgraph's."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "shop.html").write_text(PAGE)
    handler = functools.partial(QuietPages, directory=str(tmp_path / "site"))
    pages = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    yield pages.server_address[1]
    pages.shutdown()


@pytest.fixture
def idgraph(tmp_path, site) -> Iterator[Server]:
    rules = tmp_path / "rules.toml"
    rules.write_text(f'[namespaces.shop]\nallowed_origins = ["http://127.0.0.1:{site}"]\n')
    server = Server(
        tmp_path, IDGRAPH_ADMIN_TOKEN=TOKEN, IDGRAPH_RULES=str(rules), IDGRAPH_WORKERS="1"
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def collect_key(tmp_path: Path) -> str:
    """A key for pages, made as an operator makes one: `idgraph keys create`."""
    made = subprocess.run(
        [IDGRAPH, "keys", "create", "--namespace", "shop", "--rights", "collect"],
        env={"IDGRAPH_STORE": f"sqlite:///{tmp_path / 'e2e.db'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip()


def open_page(browser: Browser, url: str) -> Page:
    page = browser.new_page()
    page.goto(url)
    return page


def item(browser_id: str, user: str) -> dict[str, str]:
    return {
        "folderId": "shop",
        "browserId": browser_id,
        "externalSystemType": "shop-login",
        "externalSystemUserId": user,
    }


def profile_of(server: Server, user: str, wait: float = 0.0) -> dict | None:
    deadline = time.monotonic() + wait
    while True:
        status, answer = server.request(
            "GET", f"/v1/shop/identifiers/ext:shop-login/{user}", token=TOKEN
        )
        if status == 200 or time.monotonic() >= deadline:
            return answer if status == 200 else None
        time.sleep(0.1)


def members(profile: dict) -> set[str]:
    return {f"{i['type']}:{i['value']}" for i in profile["identifiers"]}


def test_a_page_sends_links_with_fetch_and_with_a_beacon(idgraph, site, browser, tmp_path):
    key = collect_key(tmp_path)
    page = open_page(browser, f"http://127.0.0.1:{site}/shop.html")
    answer = page.evaluate(
        "([api, key, item]) => viaFetch(api, key, item)", [idgraph.url, key, item("b1", "ann")]
    )
    assert answer["status"] == 200, answer
    [result] = answer["body"]["results"]
    assert result["outcome"] == "created" and result["folderId"] == "shop"
    assert answer["requestId"] and answer["requestId"] in idgraph.log.read_text()  # exposed
    assert '"OPTIONS /sync 204"' in idgraph.log.read_text()  # the browser asked first
    assert members(profile_of(idgraph, "ann")) == {"browserId:b1", "ext:shop-login:ann"}

    queued = page.evaluate(
        "([api, key, item]) => viaBeacon(api, key, item)", [idgraph.url, key, item("b2", "bob")]
    )
    assert queued is True
    beaconed = profile_of(idgraph, "bob", wait=10)
    assert beaconed is not None, idgraph.log.read_text()[-2000:]
    assert members(beaconed) == {"browserId:b2", "ext:shop-login:bob"}


def test_a_page_whose_origin_is_not_allowed_reads_nothing_and_writes_nothing(
    idgraph, site, browser, tmp_path
):
    key = collect_key(tmp_path)
    # the same pages under another name: http://localhost:<port> is another origin
    page = open_page(browser, f"http://localhost:{site}/shop.html")
    refused = page.evaluate(
        """([api, key, item]) => viaFetch(api, key, item).then(
               () => "answered", (error) => error.name)""",
        [idgraph.url, key, item("b3", "eve")],
    )
    assert refused == "TypeError"  # the browser's word for a CORS refusal
    assert page.evaluate(
        "([api, key, item]) => viaBeacon(api, key, item)", [idgraph.url, key, item("b4", "eve")]
    )
    deadline = time.monotonic() + 10
    while '"POST /sync 403"' not in idgraph.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert '"POST /sync 403"' in idgraph.log.read_text()  # the beacon came, and was refused
    assert profile_of(idgraph, "eve") is None
