"""The lineage viewer's table view (issue 20) in a real browser: a profile's identifiers, links
and merges as sortable grids moved through with the keyboard, downloaded as CSV and JSON.
The server, the browser and the helpers are tests/e2e/test_viewer.py's.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, JSHandle, Page, expect

from tests.e2e.test_server import Server
from tests.e2e.test_viewer import call, open_viewer, seed, serving, unexpected_error

pytestmark = pytest.mark.e2e

FORMULA = "customId:=1+1"  # a spreadsheet would compute it
MARKUP = 'ext:crm:<b>"a",b</b>'  # markup for the page, a comma and quotes for the CSV
COLUMNS = {
    "identifiers": ["key", "type", "value", "member", "profile", "created", "links"],
    "links": [
        "id",
        "a",
        "b",
        "active",
        "operation",
        "source",
        "request",
        "item",
        "merge",
        "created",
        "ended",
        "end reason",
    ],
    "merges": ["id", "survivor", "absorbed", "request", "at", "undone"],
}
LINK_FIELDS = [
    "id",
    "a",
    "b",
    "active",
    "operation",
    "source",
    "request_id",
    "item_index",
    "merge_id",
    "created_at",
    "ended_at",
    "end_reason",
]
MERGE_FIELDS = ["id", "survivor", "absorbed", "request_id", "at", "undone_at"]
# the first cell of each identifiers row: its key
KEYS = "#table-identifiers tbody tr > :first-child"


@dataclass(frozen=True)
class Profile:
    server: Server
    id: int
    lineage: dict


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> Iterator[Profile]:
    """Two profiles merged into one, and a link ended: its far end left for a profile of its
    own and stays in the lineage as a non-member. Twelve identifiers, more than a page of the
    keyboard's PageDown; link ids up to 11, which sort differently as numbers and as text.
    The tests only read it."""
    with serving(tmp_path_factory.mktemp("table")) as server:
        seed(server, ("email:ann@x.io", "browserId:b1"), ("browserId:b1", "browserId:b3"))
        seed(server, *(("email:ann@x.io", f"browserId:w{n}") for n in range(6)))
        seed(server, (FORMULA, "browserId:b2"), (MARKUP, "browserId:b2"))
        profile_id = seed(server, ("browserId:b1", "browserId:b2"), request_id="merge-1")
        kiosk = link_between(lineage_of(server, profile_id), "browserId:b1", "browserId:b3")
        call(server, "POST", f"/v1/shop/links/{kiosk['id']}/end", {"reason": 'kiosk, a, "b"'})
        yield Profile(server, profile_id, lineage_of(server, profile_id))


@pytest.fixture
def page(browser: Browser, profile: Profile) -> Iterator[Page]:
    """The viewer of the profile; a script error or a CSP violation on it fails the test."""
    opened = open_viewer(browser, profile.server, profile.id)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.extend(unexpected_error(message)))
    yield opened
    opened.close()
    assert not errors, errors


def test_tables_show_the_lineage_and_sort_by_a_column(page, profile):
    lineage = profile.lineage
    assert lineage["merges"] and not all(k["active"] for k in lineage["links"])
    show_tables(page)

    for name, rows in expected_rows(lineage).items():
        caption = f"{name.title()} ({len(rows)})"
        assert page.locator(f"#table-{name} caption").inner_text() == caption
        grid = page.get_by_role("grid", name=caption, exact=True)  # named by its caption
        assert grid.get_by_role("columnheader").all_inner_texts() == COLUMNS[name]
        assert cells(page, name) == rows
    assert page.locator("#table-view b").count() == 0  # the <b> of MARKUP is text

    values = [i["value"] for i in lineage["identifiers"]]
    sort_by(page, "identifiers", "value")
    assert column(page, "identifiers", "value") == sorted(values)
    assert sorted_columns(page, "identifiers") == {"value": "ascending"}
    sort_by(page, "identifiers", "value")
    assert column(page, "identifiers", "value") == sorted(values, reverse=True)
    assert sorted_columns(page, "identifiers") == {"value": "descending"}

    # numbers as numbers (11 after 9), and empty cells last in both directions
    link_ids = sorted(k["id"] for k in lineage["links"])
    assert link_ids[-1] >= 10
    sort_by(page, "links", "id")
    assert column(page, "links", "id") == [str(i) for i in link_ids]
    merges = sorted(k["merge_id"] for k in lineage["links"] if k["merge_id"] is not None)
    unmerged = [""] * (len(link_ids) - len(merges))
    sort_by(page, "links", "merge")
    assert column(page, "links", "merge") == [*map(str, merges), *unmerged]
    sort_by(page, "links", "merge")
    assert column(page, "links", "merge") == [*map(str, reversed(merges)), *unmerged]
    assert sorted_columns(page, "links") == {"merge": "descending"}

    # the tables are drawn anew each time they are shown; the sort orders stay
    page.click("#show-table")
    show_tables(page)
    assert column(page, "identifiers", "value") == sorted(values, reverse=True)
    assert sorted_columns(page, "identifiers") == {"value": "descending"}
    assert sorted_columns(page, "links") == {"merge": "descending"}


def test_tables_are_grids_moved_through_with_the_keyboard(page, profile):
    rows = expected_rows(profile.lineage)["identifiers"]
    keys = [row[0] for row in rows]
    assert len(keys) > 11
    show_tables(page)
    for name, columns in COLUMNS.items():  # one cell of each in the tab order: the first header
        assert page.locator(f"#table-{name} [tabindex='0']").all_inner_texts() == columns[:1]

    page.locator("#table-identifiers [tabindex='0']").focus()
    for key, reached in [
        ("ArrowDown", keys[0]),  # from the header row to the first row
        ("ArrowRight", rows[0][1]),
        ("End", rows[0][-1]),
        ("ArrowLeft", rows[0][-2]),
        ("Home", keys[0]),
        ("PageDown", keys[10]),  # ten rows down
        ("PageDown", keys[-1]),  # or to the last
        ("PageUp", keys[len(keys) - 11]),
        ("PageUp", "key"),  # or to the header row
        ("ArrowUp", "key"),
        ("ArrowRight", "type"),
        ("Control+End", rows[-1][-1]),
        ("Control+Home", "key"),
    ]:
        page.keyboard.press(key)
        assert focused_text(page) == reached, key
    tabbable = page.locator("#table-identifiers [tabindex='0']")
    assert tabbable.count() == 1 and tabbable.evaluate("(cell) => cell === document.activeElement")

    # Enter on an identifier's row: the graph again, the identifier selected
    page.keyboard.press("Home")
    for _ in range(keys.index(FORMULA) + 1):
        page.keyboard.press("ArrowDown")
    assert focused_text(page) == FORMULA
    page.keyboard.press("Enter")
    expect(page.locator("#panel-title")).to_have_text(f"Identifier {FORMULA}")
    assert page.locator("#table-view").is_hidden() and page.locator("#graph").is_visible()
    assert page.evaluate("() => idgraphViewer.cy.$(':selected').map((e) => e.id())") == [FORMULA]

    # back in the table, the same cell is the one in the tab order; a double click selects too
    show_tables(page)
    assert page.locator("#table-identifiers [tabindex='0']").inner_text() == FORMULA
    page.locator(KEYS).nth(keys.index(MARKUP)).dblclick()
    expect(page.locator("#panel-title")).to_have_text(f"Identifier {MARKUP}")


def test_tables_keep_their_sort_and_focused_cell_when_drawn_anew(page, profile):
    keys = [i["key"] for i in profile.lineage["identifiers"]]
    show_tables(page)
    sort_by(page, "links", "id")
    page.locator(KEYS).nth(keys.index(FORMULA)).click()
    assert focused_text(page) == FORMULA

    # drawn anew (main.js's call) while a cell has the focus: the new cell has it
    page.evaluate(
        """async (lineage) => {
            const main = document.querySelector("script[type=module]").src;
            const { showTable } = await import(new URL("table.js", main));
            showTable(document.getElementById("table-view"), lineage, { filename: "again" });
        }""",
        profile.lineage,
    )
    assert page.evaluate("() => document.activeElement.closest('#table-identifiers') !== null")
    assert focused_text(page) == FORMULA

    # back in time, before the kiosk link ended: its far end is a member again and the rows
    # moved; the cell of the same identifier is the one in the tab order
    page.locator("#time").press("ArrowLeft")
    page.locator("#time").press("ArrowLeft")
    b3 = page.locator("#table-identifiers tbody tr").filter(has_text="browserId:b3")
    expect(b3.locator("td").nth(COLUMNS["identifiers"].index("member"))).to_have_text("yes")
    page.locator("#graph[data-state=ready]").wait_for(state="attached")
    then = column(page, "identifiers", "key")
    assert then.index(FORMULA) != keys.index(FORMULA)
    assert page.locator("#table-identifiers [tabindex='0']").inner_text() == FORMULA
    assert sorted_columns(page, "links") == {"id": "ascending"}


def test_tables_download_as_csv_and_the_lineage_as_json(page, profile):
    show_tables(page)
    base = f"idgraph-shop-profile-{profile.id}"
    for name, rows in expected_rows(profile.lineage).items():
        path, text = download(page, f"Download CSV of {name}")
        assert path == f"{base}-{name}.csv"
        assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
        assert list(csv.reader(io.StringIO(text, newline=""))) == [
            COLUMNS[name],
            *([spreadsheet_safe(cell) for cell in row] for row in rows),
        ]
        if name == "identifiers":  # the formula is written as text, the markup quoted
            assert "\r\ncustomId:=1+1,customId,'=1+1,yes," in text
            assert '\r\n"ext:crm:<b>""a"",b</b>",ext:crm,"<b>""a"",b</b>",yes,' in text

    path, text = download(page, "Download JSON")
    assert path == f"{base}.json"
    assert json.loads(text) == profile.lineage


def test_a_thousand_identifiers_and_their_links_are_tabled(page):
    """The module alone (the page's own copy, which main.js imports) on a lineage of 1,000
    identifiers and 1,000 links, three times over the same section: every row, once. (Its
    speed is a benchmark's: benchmarks/README.md, "Lineage viewer".)"""
    rows = page.evaluate(
        """async () => {
            const main = document.querySelector("script[type=module]").src;
            const { showTable } = await import(new URL("table.js", main));
            const identifiers = [];
            const links = [];
            for (let i = 0; i < 1000; i++) {
              const at = `2026-01-01T00:00:${String(i % 60).padStart(2, "0")}.000000Z`;
              identifiers.push({
                key: `browserId:b${i}`, type: "browserId", value: `b${i}`, profile_id: 1,
                created_at: at, member: i % 10 > 0,
              });
              links.push({
                id: i + 1, a: "browserId:b0", b: `browserId:b${i}`, active: i % 7 > 0,
                operation: "sync", source: "web", request_id: `r${i}`, item_index: 0,
                merge_id: null, created_at: at, ended_at: null, end_reason: null,
                ended_request_id: null,
              });
            }
            const lineage = { profile: { id: 1 }, identifiers, links, merges: [] };
            const section = document.createElement("section");
            document.body.append(section);
            for (let run = 0; run < 3; run++) showTable(section, lineage, { filename: "big" });
            return section.querySelectorAll("tbody tr").length;
        }"""
    )
    assert rows == 2000


def show_tables(page: Page) -> None:
    """Clicks the table button and waits for the tables drawn anew (main.js imports table.js
    on first use)."""
    before: JSHandle = page.evaluate_handle("() => document.getElementById('table-identifiers')")
    page.click("#show-table")
    page.wait_for_function(
        """(before) => {
            const table = document.getElementById("table-identifiers");
            return table !== null && table !== before && table.checkVisibility();
        }""",
        arg=before,
    )


def sort_by(page: Page, table: str, name: str) -> None:
    page.locator(f"#table-{table} thead").get_by_role("button", name=name, exact=True).click()


def sorted_columns(page: Page, table: str) -> dict[str, str]:
    """aria-sort of the headers that have one, by column name."""
    sorts = page.locator(f"#table-{table} th").evaluate_all(
        "(ths) => ths.map((th) => [th.textContent, th.getAttribute('aria-sort')])"
    )
    return {name.rstrip(" ▲▼"): sort for name, sort in sorts if sort}


def cells(page: Page, table: str) -> list[list[str]]:
    return page.locator(f"#table-{table} tbody tr").evaluate_all(
        "(rows) => rows.map((row) => [...row.cells].map((cell) => cell.textContent))"
    )


def column(page: Page, table: str, name: str) -> list[str]:
    at = COLUMNS[table].index(name)
    return [row[at] for row in cells(page, table)]


def focused_text(page: Page) -> str:
    return page.evaluate("() => document.activeElement.textContent").rstrip(" ▲▼")


def download(page: Page, button: str) -> tuple[str, str]:
    """The file name and UTF-8 text a download button saves."""
    with page.expect_download() as started:
        page.get_by_role("button", name=button, exact=True).click()
    saved = started.value
    return saved.suggested_filename, Path(saved.path()).read_bytes().decode("utf-8")


def expected_rows(lineage: dict) -> dict[str, list[list[str]]]:
    """Each table's rows as the page shows them, in the lineage's order."""
    touching: Counter[str] = Counter()
    active: Counter[str] = Counter()
    for link in lineage["links"]:
        for key in {link["a"], link["b"]}:
            touching[key] += 1
            active[key] += link["active"]
    identifiers = [
        [
            *(shown(i[field]) for field in ("key", "type", "value", "member", "profile_id")),
            i["created_at"],
            f"{active[i['key']]} / {touching[i['key']]}",
        ]
        for i in lineage["identifiers"]
    ]
    links = [[shown(k[field]) for field in LINK_FIELDS] for k in lineage["links"]]
    merges = [[shown(m[field]) for field in MERGE_FIELDS] for m in lineage["merges"]]
    return {"identifiers": identifiers, "links": links, "merges": merges}


def shown(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def spreadsheet_safe(cell: str) -> str:
    """OWASP's CSV injection rule, as table.js writes it: a leading apostrophe on a cell a
    spreadsheet would run as a formula."""
    return f"'{cell}" if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def lineage_of(server: Server, profile_id: int) -> dict:
    return call(server, "GET", f"/v1/shop/profiles/{profile_id}/lineage?limit=2000")


def link_between(lineage: dict, a: str, b: str) -> dict:
    [link] = [k for k in lineage["links"] if {k["a"], k["b"]} == {a, b}]
    return link
