"""The lineage viewer on profiles of real size, in the distro's Chromium (issue 20): folded into
parts and groups, hubs flagged, the merge timeline with undo, explain, the URL keeping the view,
and a read-only key seeing the buttons it may not use. Seeded through the HTTP API
(tests/e2e/viewer_profiles.py); ready times are in benchmarks/viewer.py, not asserted here."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.test_server import IDGRAPH, Server
from tests.e2e.test_viewer import TOKEN, call, serving, unexpected_error
from tests.e2e.viewer_profiles import CUSTOMER_ID, HUB, LOGIN_EMAIL, hub_profile, merged_profile

pytestmark = pytest.mark.e2e

MAX_NODES = 50  # app/api/static/viewer/model.js


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    with serving(tmp_path) as started:
        yield started


def test_a_profile_of_901_identifiers_opens_as_a_few_legible_nodes(server, browser):
    seeded = merged_profile(server, 901, token=TOKEN)
    page = open_page(browser, server, f"/v1/shop/profiles/{seeded.profile_id}/view")
    nodes = page.evaluate(
        """() => idgraphViewer.cy.nodes().map((n) => ({
            id: n.id(), classes: n.classes(), count: n.data('count'), parent: n.data('parent'),
        }))"""
    )
    assert len(nodes) <= MAX_NODES
    lineage = call(server, "GET", f"/v1/shop/profiles/{seeded.profile_id}/lineage?limit=2000")
    members = {i["key"] for i in lineage["identifiers"] if i["member"]}
    alone = {n["id"] for n in nodes if "identifier" in n["classes"]}
    folded = sum(n["count"] for n in nodes if "group" in n["classes"])
    assert alone <= members and len(alone) + folded == len(members) == 901

    # four parts, one per anonymous profile, joined by the three merges' links
    parts = {n["id"] for n in nodes if "part" in n["classes"]}
    assert len(parts) == 4
    merges = page.evaluate(
        "() => idgraphViewer.cy.edges('.merge').map((e) => [e.source().data('parent'),"
        " e.target().data('parent')])"
    )
    assert len(merges) == 3 and all(a != b for a, b in merges)
    assert {p for pair in merges for p in pair} == parts
    # each part says which profile it was: the absorbed side of each merge, and the survivor
    for merge in lineage["merges"]:
        for key, profile in ((merge["absorbed_key"], merge["absorbed"]),
                             (merge["survivor_key"], merge["survivor"])):  # fmt: skip
            label = page.evaluate(
                f"() => idgraphViewer.cy.getElementById('{key}').parent().data('label')"
            )
            assert f"from profile {profile} ·" in label, (key, label)

    # each part's uuid carries its 225 browsers: a hub, labelled so
    uuids = {i["key"] for i in lineage["identifiers"] if i["type"] == "uuid"}
    hubs = {n["id"] for n in nodes if "hub" in n["classes"]}
    assert hubs == uuids
    assert "hub" in page.evaluate(f"() => idgraphViewer.cy.getElementById('{min(uuids)}')"
                                  ".data('label')")  # fmt: skip
    assert no_labels_overlap(page)
    # edge labels come on hover only
    assert page.evaluate("() => idgraphViewer.cy.edges().every((e) => !e.renderedStyle('label'))")


def test_a_customer_id_seen_with_117_browsers_is_flagged_as_a_hub(server, browser):
    seeded = hub_profile(server, 121, token=TOKEN)
    page = open_page(browser, server, f"/v1/shop/profiles/{seeded.profile_id}/view")
    assert page.evaluate("() => idgraphViewer.cy.nodes('.hub').map((n) => n.id())") == [HUB]
    assert "hub · 120 links" in page.evaluate(
        f"() => idgraphViewer.cy.getElementById('{HUB}').data('label')"
    )
    groups = page.evaluate("() => idgraphViewer.cy.nodes('.group').map((n) => n.data('label'))")
    assert groups == ["browserId\n× 117"]
    assert page.evaluate("() => idgraphViewer.cy.nodes().length") <= MAX_NODES
    assert no_labels_overlap(page)


def test_a_group_opens_on_click_and_the_url_keeps_the_view(server, browser):
    seeded = merged_profile(server, 120, parts=2, token=TOKEN)
    view = f"/v1/shop/profiles/{seeded.profile_id}/view"
    page = open_page(browser, server, view)
    [group] = page.evaluate("() => idgraphViewer.cy.nodes('.group').map((n) => n.id())")[:1]
    count = page.evaluate(f"() => idgraphViewer.cy.getElementById('{group}').data('count')")
    before = drawn_identifiers(page)
    redrawn(page, lambda: click_element(page, group))
    opened = drawn_identifiers(page) - before
    assert len(opened) == count and all(key.startswith("browserId:") for key in opened)
    assert no_labels_overlap(page)  # an opened group of dozens: a grid, not a ring
    chosen = min(opened)
    click_element(page, chosen)
    assert page.locator("#panel-title").inner_text() == f"Identifier {chosen}"
    query = parse_qs(urlsplit(page.url).query)
    assert query["expand"] == [group] and query["select"] == [chosen]

    shared = open_page(browser, server, f"{view}?{urlsplit(page.url).query}")
    assert drawn_identifiers(shared) == drawn_identifiers(page)
    assert shared.locator("#panel-title").inner_text() == f"Identifier {chosen}"

    # the selected identifier's group folds back from the panel
    redrawn(shared, lambda: shared.get_by_role("button", name="Fold the browserId group").click())
    assert drawn_identifiers(shared) == before
    assert "expand" not in parse_qs(urlsplit(shared.url).query)


def test_the_timeline_lists_merges_and_refusals_and_undoes_a_merge(server, browser):
    seeded = merged_profile(server, 30, parts=3, token=TOKEN)
    lineage = call(server, "GET", f"/v1/shop/profiles/{seeded.profile_id}/lineage")
    page = open_page(browser, server, f"/v1/shop/profiles/{seeded.profile_id}/view")
    page.locator("#timeline[data-state=ready]").wait_for()
    items = page.locator("#merges li")
    assert items.count() == len(lineage["merges"]) == 2
    last = max(lineage["merges"], key=lambda m: m["id"])
    [cause] = [k for k in lineage["links"] if k["merge_id"] == last["id"]]
    text = page.locator(f"#merges li[data-merge-id='{last['id']}']").inner_text()
    for shown in (last["request_id"], f"link #{cause['id']}", cause["source"], cause["b"]):
        assert shown in text, (shown, text)
    # pointing at a merge shows where it joined: its link and the link's ends
    page.locator(f"#merges li[data-merge-id='{last['id']}']").hover()
    on_path = set(page.evaluate("() => idgraphViewer.cy.elements('.path').map((e) => e.id())"))
    assert on_path == {str(cause["id"]), cause["a"], cause["b"]}
    page.locator("#title").hover()
    assert not page.evaluate("() => idgraphViewer.cy.elements('.path').length")
    refused = page.locator("#conflicts li").inner_text()
    assert "unique_type:customId" in refused and "customId:C-8" in refused

    # undo asks first: Cancel changes nothing
    page.get_by_role("button", name=f"Undo merge #{last['id']}").click()
    page.get_by_role("button", name="Cancel").click()
    assert call(server, "GET", f"/v1/shop/profiles/{last['absorbed']}")["id"] == last["survivor"]

    redrawn(page, lambda: undo(page, last["id"]))
    assert call(server, "GET", f"/v1/shop/profiles/{last['absorbed']}")["id"] == last["absorbed"]
    message = page.locator("#message").inner_text()
    assert f"merge #{last['id']} undone" in message
    # both resulting profiles are drawn, side by side, and the URL says so
    restored = call(server, "GET", f"/v1/shop/profiles/{last['absorbed']}")
    kept = call(server, "GET", f"/v1/shop/profiles/{last['survivor']}")
    both = {f"{i['type']}:{i['value']}" for i in restored["identifiers"] + kept["identifiers"]}
    assert both <= drawn_identifiers(page)  # 30 identifiers: nothing folded
    assert parse_qs(urlsplit(page.url).query)["also"] == [str(last["absorbed"])]
    page.get_by_role("button", name="Table").click()  # the tables hold both profiles too
    assert page.locator("#table-identifiers caption").inner_text() == f"Identifiers ({len(both)})"
    page.get_by_role("button", name="Table").click()
    owners = page.evaluate("() => idgraphViewer.cy.nodes('.part').map((n) => n.data('label'))")
    assert any(label.startswith(f"profile {last['absorbed']}: part ") for label in owners)
    assert any(label.startswith(f"profile {last['survivor']}: part ") for label in owners)
    page.locator("#timeline[data-state=ready]").wait_for()
    undone = page.locator(f"#merges li[data-merge-id='{last['id']}']")
    assert "undone" in undone.inner_text()
    assert undone.get_by_role("button", name="Undo merge").count() == 0
    assert page.evaluate(
        f"() => idgraphViewer.cy.getElementById('{cause['id']}').hasClass('undone')"
    )


def test_explain_highlights_the_path_that_joins_two_identifiers(server, browser):
    seeded = merged_profile(server, 200, parts=2, token=TOKEN)
    page = open_page(browser, server, f"/v1/shop/profiles/{seeded.profile_id}/view")
    far = "browserId:m-00001"  # in the second part, folded into its group
    assert far not in drawn_identifiers(page)
    page.fill("#explain input[name=a]", CUSTOMER_ID)
    page.fill("#explain input[name=b]", far)
    redrawn(page, lambda: page.get_by_role("button", name="Explain").click())
    page.locator("#explain-result").wait_for()

    answer = call(server, "GET", f"/v1/shop/explain?a={CUSTOMER_ID}&b={far}")
    keys = {CUSTOMER_ID} | {step["to"] for step in answer["path"]}
    links = {str(step["link"]["id"]) for step in answer["path"]}
    on_path = set(page.evaluate("() => idgraphViewer.cy.elements('.path').map((e) => e.id())"))
    assert on_path == keys | links
    shown = page.locator("#explain-result").inner_text()
    assert f"joined by {len(answer['path'])} active links" in shown
    for step in answer["path"]:
        assert step["link"]["request_id"] in shown and f"link #{step['link']['id']}" in shown
    assert parse_qs(urlsplit(page.url).query)["a"] == [CUSTOMER_ID]

    # two clicks choose the pair too; identifiers of two profiles are not joined
    page.get_by_role("button", name="Clear").click()
    assert not page.evaluate("() => idgraphViewer.cy.elements('.path').length")
    call(server, "POST", "/v1/shop/links", {"items": [{"identifiers": [
        {"type": "email", "value": "alone@example.com"},
        {"type": "browserId", "value": "elsewhere"}]}]})  # fmt: skip
    click_element(page, LOGIN_EMAIL)
    page.fill("#explain input[name=b]", "email:alone@example.com")
    page.get_by_role("button", name="Explain").click()
    page.get_by_text("Not joined").wait_for()
    assert page.input_value("#explain input[name=a]") == LOGIN_EMAIL


def test_a_read_only_key_sees_the_buttons_disabled_and_why(server, browser, tmp_path):
    seeded = merged_profile(server, 12, parts=2, token=TOKEN)
    key = create_key(tmp_path, "read")
    page = open_page(browser, server, f"/v1/shop/profiles/{seeded.profile_id}/view", key)
    page.locator("#timeline[data-state=ready]").wait_for()
    button = page.get_by_role("button", name="Undo merge")
    assert button.count() == 1 and button.is_disabled()
    why = page.locator("#merges .why").inner_text()
    assert "read only" in why and "viewer" in why  # the key's name
    merge_link = page.evaluate("() => idgraphViewer.cy.edges('.merge')[0].id()")
    click_element(page, merge_link)
    assert page.locator("#end-form button").is_disabled()
    assert "read only" in page.locator("#end-why").inner_text()


# --- helpers ------------------------------------------------------------------------------------


def open_page(browser: Browser, server, path: str, token: str = TOKEN) -> Page:
    """A page of the viewer, the token already in the tab's sessionStorage."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.extend(unexpected_error(message)))  # CSP too
    page.goto(f"{server.url}/healthz")
    page.evaluate("(token) => sessionStorage.setItem('idgraph.token', token)", token)
    page.goto(server.url + path)
    page.locator("#graph[data-state=ready]").wait_for(state="attached")  # hidden in table view
    assert not errors, errors
    return page


def create_key(tmp_path, rights: str) -> str:
    """An API key of namespace shop named `viewer`, made with `idgraph keys create`."""
    created = subprocess.run(
        [IDGRAPH, "keys", "create", "--namespace", "shop", "--rights", rights, "--name", "viewer"],
        env={"IDGRAPH_STORE": f"sqlite:///{tmp_path / 'e2e.db'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def drawn_identifiers(page: Page) -> set[str]:
    return set(page.evaluate("() => idgraphViewer.cy.nodes('.identifier').map((n) => n.id())"))


def redrawn(page: Page, action) -> None:
    """Runs ``action`` and waits for the graph's next draw."""
    draws = int(page.locator("#graph").get_attribute("data-draws"))
    action()
    page.locator(f"#graph[data-draws='{draws + 1}'][data-state=ready]").wait_for()


def undo(page: Page, merge_id: int) -> None:
    page.get_by_role("button", name=f"Undo merge #{merge_id}").click()
    page.fill("#undo-form input[name=reason]", "two people on one laptop")
    page.get_by_role("button", name="Confirm undo").click()


def click_element(page: Page, element_id: str) -> None:
    """A mouse click where the node (or the middle of the edge) is drawn."""
    x, y = page.evaluate(
        """(id) => {
            const cy = idgraphViewer.cy;
            const element = cy.getElementById(id);
            const at = element.isNode() ? element.renderedPosition() : element.renderedMidpoint();
            const box = cy.container().getBoundingClientRect();
            return [box.left + at.x, box.top + at.y];
        }""",
        element_id,
    )
    page.mouse.click(x, y)


def no_labels_overlap(page: Page) -> bool:
    """No two drawn nodes' boxes (label included) meet, nor any part's title another's box."""
    return page.evaluate(
        """() => {
            const cy = idgraphViewer.cy;
            const boxes = [
                ...cy.nodes().not('.part').map((n) => [n, n.boundingBox({includeLabels: true})]),
                ...cy.nodes('.part').map((n) => [n, n.boundingBox(
                    {includeNodes: false, includeEdges: false, includeLabels: true})]),
            ];
            const meet = (a, b) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
            return boxes.every(([n, a], i) => boxes.every(([m, b], j) =>
                j <= i || !meet(a, b) || n.ancestors().contains(m) || m.ancestors().contains(n)));
        }"""
    )


def test_a_link_to_the_table_view_opens_it_and_the_graph_fits_when_shown(server, browser):
    seeded = merged_profile(server, 40, parts=2, token=TOKEN)
    page = open_page(browser, server, f"/v1/shop/profiles/{seeded.profile_id}/view?view=table")
    page.locator("#table-identifiers").wait_for()
    assert page.locator("#graph").is_hidden()
    assert page.get_by_role("button", name="Table").get_attribute("aria-pressed") == "true"
    page.get_by_role("button", name="Table").click()
    assert "view" not in parse_qs(urlsplit(page.url).query)
    # drawn while hidden, at no size: shown, every node is inside the graph's box
    assert page.evaluate(
        """() => {
            const cy = idgraphViewer.cy;
            const box = cy.elements().renderedBoundingBox();
            return box.x1 >= 0 && box.y1 >= 0 && box.x2 <= cy.width() && box.y2 <= cy.height();
        }"""
    )
