"""Every relative link of README.md and docs/*.md leads somewhere: an existing file and, when
it names a #anchor, a heading of that file (GitHub's anchors: lower-case, spaces to '-',
punctuation other than '-' and '_' dropped, '-1', '-2'... on repeated headings)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
# a code span may wrap lines, never a paragraph
CODE_SPAN = re.compile(r"(`+)(?!`)(?:(?!\n[ \t]*\n).)+?(?<!`)\1(?!`)", re.S)
# [text](target) and ![alt](target); the text may span lines, the target may carry a "title"
INLINE_LINK = re.compile(
    r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]"  # the text, one level of brackets inside
    r"\(\s*(<[^>]*>|[^\s)]+)(?:\s+\"[^\"]*\")?\s*\)"  # (target "title")
)
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.M)
HTML_ANCHOR = re.compile(r"<a\s[^>]*\b(?:id|name)=\"([^\"]+)\"", re.I)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")


def prose_and_headings(text: str) -> tuple[str, list[str]]:
    """The text outside fenced code blocks, and the ATX headings in it."""
    prose, headings, fence = [], [], None
    for line in text.splitlines():
        opened = FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            continue
        if opened:
            fence = opened.group(1)
            continue
        prose.append(line)
        heading = HEADING.match(line)
        if heading:
            headings.append(heading.group(2))
    return "\n".join(prose), headings


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = INLINE_LINK.sub(lambda m: m.group(1), heading)  # a link's text, not its target
    text = re.sub(r"<[^>]+>", "", text).lower()  # inline HTML
    text = re.sub(r"[^\w\- ]", "", text)  # \w: Unicode letters, digits and '_'
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = page.read_text()
    prose, headings = prose_and_headings(text)
    found, seen = set(HTML_ANCHOR.findall(prose)), {}
    for heading in headings:
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(page: Path) -> list[str]:
    prose, _ = prose_and_headings(page.read_text())
    prose = CODE_SPAN.sub("", prose)  # `[x](y)` in code is not a link
    targets = [m.group(2) for m in INLINE_LINK.finditer(prose)] + REFERENCE.findall(prose)
    targets = [t[1:-1] if t.startswith("<") else t for t in targets]
    return [t for t in targets if not SCHEME.match(t)]


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        path = unquote(path)
        if not path:
            resolved = page
        elif path.startswith("/"):
            resolved = ROOT / path.lstrip("/")
        else:
            resolved = page.parent / path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and unquote(anchor) not in anchors(resolved):
            broken.append(f"{target}: no heading with that anchor in {resolved.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_a_heading(page):
    assert broken_links(page) == []


def test_the_pages_are_found_and_link_each_other():
    assert {p.name for p in PAGES} >= {"README.md", "api.md", "operations.md"}
    assert all(relative_links(page) for page in PAGES)


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Lineage: how, and taking it back", "lineage-how-and-taking-it-back"),
        ("Moving to Neo4j: `idgraph migrate`", "moving-to-neo4j-idgraph-migrate"),
        ("Crash safety (`crash.py`, `make crash-test`)", "crash-safety-crashpy-make-crash-test"),
        ("Each face's built-in rules", "each-faces-built-in-rules"),
        ("Why are these two one profile?", "why-are-these-two-one-profile"),
        ("snake_case and [a link](elsewhere.md)", "snake_case-and-a-link"),
    ],
)
def test_anchors_follow_githubs_rules(heading, anchor):
    assert slug(heading) == anchor


def test_a_broken_link_is_reported(tmp_path):
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other\n\n## A section\n\n```\n# not a heading\n```\n")
    page.write_text(
        "# Page\n\n[ok](other.md#a-section) [self](#page) [gone](missing.md)\n"
        "[no heading](other.md#not-a-heading) `[code](missing.md)`\n"
        "```\n[fenced](missing.md)\n```\n[web](https://example.com/x.md)\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#not-a-heading: no heading with that anchor in other.md",
    ]
