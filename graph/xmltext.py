"""Text as XML 1.0 can hold it, for the GraphML exports (graph/transfer/export.py, a store's;
graph/lineage.py, a profile's). XML 1.0 cannot hold control characters but tab and newlines,
U+FFFE, U+FFFF or a lone surrogate, all of which an identifier's value or a source may hold:
such a string is written escaped, and its element names it in an ``escaped`` attribute, so
that every XML reader reads the file and a reader can tell an escape from the text."""

from __future__ import annotations

import re
from typing import Any

# what XML 1.0 allows, less the carriage return, which its readers read as a newline
_NOT_XML = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_escape(text: str) -> str:
    """``text`` unchanged if XML 1.0 allows each of its characters, else with its backslashes
    doubled and each character XML does not allow as ``\\xNN`` or ``\\uNNNN``.
    ``text.encode("latin-1", "backslashreplace").decode("unicode_escape")`` reads an escaped
    one back."""
    if not _NOT_XML.search(text):
        return text
    return _NOT_XML.sub(_escape_character, text.replace("\\", "\\\\"))


def _escape_character(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def xml_safe(properties: dict[str, Any]) -> dict[str, Any]:
    """An element's attributes as GraphML holds them: an absent value (GraphML has no null)
    is an absent attribute, strings are ``xml_escape``d, and ``escaped`` names those that
    were changed, comma-separated."""
    present = {name: value for name, value in properties.items() if value is not None}
    written = {name: xml_escape(v) if isinstance(v, str) else v for name, v in present.items()}
    escaped = [name for name, value in written.items() if value != present[name]]
    return {**written, "escaped": ",".join(escaped)} if escaped else written
