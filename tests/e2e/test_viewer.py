"""The lineage viewer in a real browser: the distro's headless Chromium, driven by Playwright,
against `idgraph serve` with an admin token on a temporary SQLite store.

`python -m tests.e2e.test_viewer docs/lineage-viewer.png` redraws the screenshot of docs/lineage.md.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.e2e.test_server import Server

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
# no internet on our machines: nothing in the background may try to reach it
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "viewer-e2e-token"
UUID = "uuid:00000000-0000-0000-0000-000000000001"
MAX_NODES = 50  # app/api/static/viewer/model.js: about as many nodes as a view holds


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    with serving(tmp_path) as started:
        yield started


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing: `make browser` installs it (apt-get install chromium)"
        if os.environ.get("CI"):  # .ci/run sets it: there a missing browser is a failed install
            pytest.fail(missing)
        pytest.skip(missing)
    with chromium() as launched:
        yield launched


def test_viewer_draws_the_lineage_and_ends_a_bridge_link(server, browser, tmp_path):
    profile_id = seed(server, ("email:ann@x.io", "browserId:b1"), ("browserId:b1", UUID))
    seed(server, ("browserId:b1", "browserId:b2"), request_id="bridge")
    lineage = call(server, "GET", f"/v1/shop/profiles/{profile_id}/lineage?limit=2000")
    page = open_viewer(browser, server, profile_id)

    assert drawn_nodes(page) == {i["key"] for i in lineage["identifiers"]}
    assert drawn_edges(page) == {(str(k["id"]), k["a"], k["b"]) for k in lineage["links"]}
    [bridge] = [k for k in lineage["links"] if {k["a"], k["b"]} == {"browserId:b1", "browserId:b2"}]
    click_edge(page, bridge["id"])
    panel = page.locator("#panel").inner_text()
    assert f"Link {bridge['id']}" in panel
    assert bridge["request_id"] == "bridge" and "bridge" in panel and bridge["operation"] in panel

    end_selected_link(page, "b2 is a shared kiosk browser")
    b1 = call(server, "GET", "/v1/shop/identifiers/browserId/b1")["id"]
    b2 = call(server, "GET", "/v1/shop/identifiers/browserId/b2")["id"]
    assert b1 != b2
    said = page.locator("#message").inner_text()
    assert re.fullmatch(r"split into profiles (\d+) and (\d+)", said), said
    assert set(map(int, re.findall(r"\d+", said))) == {b1, b2}
    ended = f"() => idgraphViewer.cy.getElementById('{bridge['id']}').hasClass('ended')"
    assert page.evaluate(ended)
    page.screenshot(path=tmp_path / "viewer.png")

    # the slider's instants: the seed, the bridge, its end, now; two steps back, it is active
    page.locator("#time").press("ArrowLeft")
    page.locator("#time").press("ArrowLeft")
    assert page.locator("#time-label").inner_text().startswith(bridge["created_at"])
    page.locator("#graph[data-state=ready]").wait_for()
    assert not page.evaluate(ended)
    assert page.locator("#end-form button").is_disabled()  # the past is read only
    assert "history is read only" in page.locator("#end-why").inner_text()

    # the URL keeps the instant: opened elsewhere, it shows the same past
    shared = open_viewer(browser, server, profile_id, query=page.url.partition("?")[2])
    assert shared.locator("#time-label").inner_text().startswith(bridge["created_at"])
    assert not shared.evaluate(ended)


def test_viewer_ending_the_link_that_joined_a_merge_takes_the_merge_back(server, browser):
    seed(server, ("email:ann@x.io", "browserId:a1"))
    seed(server, ("browserId:b1", "browserId:b2"))
    profile_id = seed(server, ("browserId:a1", "browserId:b1"), request_id="merge")
    lineage = call(server, "GET", f"/v1/shop/profiles/{profile_id}/lineage")
    [merge] = lineage["merges"]
    [joining] = [k for k in lineage["links"] if k["merge_id"] == merge["id"]]
    page = open_viewer(browser, server, profile_id)

    click_edge(page, joining["id"])
    end_selected_link(page, "two people on one laptop")
    survivor, absorbed = merge["survivor"], merge["absorbed"]
    said = page.locator("#message").inner_text()
    assert said == (
        f"merge #{merge['id']} taken back: profiles {survivor} and {absorbed}, drawn side by side"
    )
    assert call(server, "GET", "/v1/shop/identifiers/browserId/b1")["id"] == absorbed


def test_viewer_search_goes_to_the_profile_of_an_identifier(server, browser):
    first = seed(server, ("email:ann@x.io", "browserId:b1"))
    other = seed(server, ("ext:crm:u/1", "browserId:b9"))
    page = open_viewer(browser, server, first)
    page.fill("#search input", "ext:crm:u/1")
    with page.expect_navigation():
        page.press("#search input", "Enter")
    assert page.url.endswith(f"/v1/shop/profiles/{other}/view")
    page.locator("#graph[data-state=ready]").wait_for()  # the token stayed in sessionStorage
    assert drawn_nodes(page) == {"ext:crm:u/1", "browserId:b9"}
    page.fill("#search input", "email:nobody@x.io")
    page.press("#search input", "Enter")
    page.get_by_text("no such identifier").wait_for()


def test_search_finds_an_identifier_whose_value_is_a_dot_segment(server, browser):
    """A browser's URL parser takes `.` and `..` (and `%2E%2E`) in a path for "here" and "up":
    /identifiers/browserId/.. would ask for /identifiers/."""
    first = seed(server, ("email:ann@x.io", "browserId:b1"))
    dots = seed(server, ("browserId:..", "email:dots@x.io"))
    dot = seed(server, ("browserId:.", "email:dot@x.io"))
    page = open_viewer(browser, server, first)
    for key, profile_id in (("browserId:..", dots), ("browserId:.", dot)):
        page.fill("#search input", key)
        with page.expect_navigation(timeout=5_000):
            page.press("#search input", "Enter")
        assert page.url.endswith(f"/v1/shop/profiles/{profile_id}/view"), (key, page.url)
        page.locator("#graph[data-state=ready]").wait_for()
        assert key in drawn_nodes(page)


def test_an_identifier_named_like_a_part_is_drawn_as_itself(server, browser):
    """Identifiers of types `part` and `group` whose keys read like the viewer's own nodes (the
    parts' boxes, a folded group): each is drawn as itself, its links end at it, and the boxes
    stay boxes."""
    seed(server, ("email:ann@x.io", "browserId:a1"), ("browserId:a1", "part:1"))
    seed(server, ("browserId:b1", "browserId:b2"))
    group = [{"type": "browserId", "value": "b2"}, {"type": "group", "value": "part:0:browserId"}]
    call(server, "POST", "/v1/shop/links", {"items": [{"identifiers": group}], "source": "e2e"})
    profile_id = seed(server, ("browserId:a1", "browserId:b1"), request_id="merge")
    lineage = call(server, "GET", f"/v1/shop/profiles/{profile_id}/lineage")
    page = open_viewer(browser, server, profile_id)

    assert drawn_nodes(page) == {i["key"] for i in lineage["identifiers"]}
    assert drawn_edges(page) == {(str(k["id"]), k["a"], k["b"]) for k in lineage["links"]}
    for key in ("part:1", "group:part:0:browserId"):
        tap(page, key)
        assert page.locator("#panel-title").inner_text() == f"Identifier {key}"
    boxes = page.evaluate("() => idgraphViewer.cy.nodes('.part').map((n) => n.id())")
    assert len(boxes) == 2
    titles = set()
    for box in boxes:
        tap(page, box)
        titles.add(page.locator("#panel-title").inner_text())
    assert titles == {"Part A", "Part B"}


def test_a_browser_shared_by_1500_people_opens_as_a_few_nodes_at_once(server, browser):
    """A kiosk browser that moved 1,499 times: a profile of 2 identifiers whose ended links
    reach 1,499 other profiles. They are folded, the drawing stays small and the page opens
    at once; the table still lists every identifier."""
    moves = 1500
    items = [("browserId:kiosk", f"email:v{n}@x.io") for n in range(moves)]
    body = {
        "items": [{"identifiers": [identifier(text) for text in item]} for item in items],
        "source": "e2e",
        "request_id": "kiosk",
    }
    results = call(server, "POST", "/v1/shop/links", body)["results"]
    assert {r["outcome"] for r in results[1:]} == {"moved"}
    profile_id = results[-1]["profile_id"]
    lineage = call(server, "GET", f"/v1/shop/profiles/{profile_id}/lineage?limit=2000")
    assert len(lineage["identifiers"]) == moves + 1
    page = open_viewer(browser, server, profile_id)

    started = time.monotonic()
    page.reload()  # the token is in the tab's sessionStorage: no form this time
    page.locator("#graph[data-state=ready]").wait_for(timeout=30_000)
    ready_after = time.monotonic() - started
    nodes = page.evaluate(
        """() => idgraphViewer.cy.nodes().map((n) => ({
            id: n.id(), classes: n.classes(), count: n.data('count'), label: n.data('label'),
        }))"""
    )
    assert len(nodes) <= MAX_NODES, (len(nodes), page.locator("#note").inner_text())
    assert ready_after < 5, ready_after
    # both members on their own; every other identifier is in a drawn node's count
    members = {i["key"] for i in lineage["identifiers"] if i["member"]}
    alone = {n["id"] for n in nodes if "identifier" in n["classes"]}
    assert members <= alone
    folded = sum(n["count"] for n in nodes if "group" in n["classes"])
    assert len(alone) + folded == moves + 1
    # a few profiles drawn as boxes, the others folded into one
    outside = [n for n in nodes if {"part", "outside"} <= set(n["classes"])]
    [others] = [n for n in outside if "other profiles" in n["label"]]
    assert len(outside) <= 6
    assert others["label"].startswith(f"{moves - len(outside)} other profiles")
    folded_links = page.evaluate(
        "() => idgraphViewer.cy.edges('.folded').map((e) => [e.data('count'),"
        " e.connectedNodes().map((n) => n.parent().id()).sort()])"
    )
    [own] = [n["id"] for n in nodes if "part" in n["classes"] and n not in outside]
    assert folded_links == [[moves - len(outside), sorted([others["id"], own])]]  # one, counted
    tap(page, others["id"])
    assert page.locator("#panel-title").inner_text() == f"{moves - len(outside)} other profiles"
    panel = page.locator("#details").inner_text()
    assert "Table" in panel
    assert page.locator("#details a").count() > 0  # the first of them, each a link to its view
    assert "drawn as 1 part" in page.locator("#note").inner_text()

    page.get_by_role("button", name="Table").click()
    caption = page.locator("#table-identifiers caption").inner_text()
    assert caption == f"Identifiers ({moves + 1})"


def seed(server: Server, *items: tuple[str, ...], request_id: str | None = None) -> int:
    """Links each item's "type:value" texts (type = up to the last ':'); the last profile id."""
    body = {
        "items": [{"identifiers": [identifier(text) for text in item]} for item in items],
        "source": "e2e",
        **({"request_id": request_id} if request_id else {}),
    }
    return call(server, "POST", "/v1/shop/links", body)["results"][-1]["profile_id"]


def identifier(text: str) -> dict[str, str]:
    type_, _, value = text.rpartition(":")
    return {"type": type_, "value": value}


def call(server: Server, method: str, path: str, body: dict | None = None) -> dict:
    status, answer = server.request(method, path, body, token=TOKEN)
    assert status == 200, (method, path, status, answer)
    return answer


@contextmanager
def serving(tmp_path: Path) -> Iterator[Server]:
    started = Server(tmp_path, IDGRAPH_ADMIN_TOKEN=TOKEN, IDGRAPH_WORKERS="1")
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def open_viewer(browser: Browser, server: Server, profile_id: int, query: str = "") -> Page:
    """The viewer of a profile, the token pasted in the form its first 401 shows."""
    page = browser.new_page(viewport={"width": 1000, "height": 600})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.extend(unexpected_error(message)))
    page.goto(f"{server.url}/v1/shop/profiles/{profile_id}/view" + (f"?{query}" if query else ""))
    page.fill("#token-form input[name=token]", TOKEN)
    page.press("#token-form input[name=token]", "Enter")
    page.locator("#graph[data-state=ready]").wait_for()
    assert not errors, errors  # a CSP violation, a script error
    return page


def unexpected_error(message: ConsoleMessage) -> list[str]:
    """A console error other than the 401 the page answers with its token form."""
    if message.type == "error" and "401" not in message.text:
        return [message.text]
    return []


def drawn_nodes(page: Page) -> set[str]:
    """The identifiers drawn on their own (not folded into a group, not a part's box)."""
    return set(page.evaluate("() => idgraphViewer.cy.nodes('.identifier').map((n) => n.id())"))


def drawn_edges(page: Page) -> set[tuple[str, str, str]]:
    edges = page.evaluate(
        "() => idgraphViewer.cy.edges().map((e) => [e.id(), e.source().id(), e.target().id()])"
    )
    return {tuple(edge) for edge in edges}


def click_edge(page: Page, link_id: int) -> None:
    """A mouse click on the middle of a drawn link, where a user would click."""
    x, y = page.evaluate(
        """(id) => {
            const cy = idgraphViewer.cy;
            const middle = cy.getElementById(String(id)).renderedMidpoint();
            const box = cy.container().getBoundingClientRect();
            return [box.left + middle.x, box.top + middle.y];
        }""",
        link_id,
    )
    page.mouse.click(x, y)


def tap(page: Page, element_id: str) -> None:
    """A tap on a drawn node or edge, as cytoscape reports a click on it (a box may lie under
    its children, where a mouse click would land on a child)."""
    found = page.evaluate(
        """(id) => {
            const element = idgraphViewer.cy.getElementById(id);
            if (element.empty()) return false;
            element.emit('tap');
            return true;
        }""",
        element_id,
    )
    assert found, f"{element_id} is not drawn"


def end_selected_link(page: Page, reason: str) -> None:
    draws = int(page.locator("#graph").get_attribute("data-draws"))
    page.fill("#end-form input[name=reason]", reason)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#end-form button")
    page.locator(f"#graph[data-draws='{draws + 1}']").wait_for()


def screenshot_for_readme(path: Path) -> None:
    """docs/lineage-viewer.png: a profile of 301 identifiers, four anonymous profiles joined
    through a login email, drawn as four parts with their browsers folded; the merge timeline
    beside it, and the path that joins the CRM's customer id to a browser highlighted."""
    from tests.e2e.viewer_profiles import CUSTOMER_ID, merged_profile

    with tempfile.TemporaryDirectory() as tmp, serving(Path(tmp)) as server, chromium() as browser:
        seeded = merged_profile(server, 301, token=TOKEN)
        page = open_viewer(browser, server, seeded.profile_id)
        page.set_viewport_size({"width": 1400, "height": 820})
        page.fill("#explain input[name=a]", CUSTOMER_ID)
        page.fill("#explain input[name=b]", "browserId:m-00002")
        page.get_by_role("button", name="Explain").click()
        page.locator("#explain-result").wait_for()
        page.locator("#graph[data-state=ready]").wait_for()
        page.locator("#timeline[data-state=ready]").wait_for()
        page.screenshot(path=path)


if __name__ == "__main__":
    screenshot_for_readme(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/lineage-viewer.png"))
