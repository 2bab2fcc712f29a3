"""What `idgraph import` makes of the file it is given, as a user runs it on a SQLite store:
CSV quotes, blank lines, byte order marks, long cells, headers, gzip on a pipe, a file or
standard input that is not there, the source it records, and a dry run that changes
nothing."""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import sqlite3
import struct
import subprocess
import termios
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from graph.store import open_store
from graph.store.sqlite.schema import MIGRATIONS
from tests.contract.test_sqlite_file import older_file
from tests.e2e.test_import import IDGRAPH, counts, graph_of, item, run_import

pytestmark = pytest.mark.e2e

CUSTOMERS = ("--namespace", "shop", "--column", "id=customId", "--column", "mail=email")


def store_of(tmp_path: Path) -> dict[str, str]:
    return {"IDGRAPH_STORE": f"sqlite:///{tmp_path / 'store.db'}"}


def shop(tmp_path: Path) -> dict[str, Any]:
    """Namespace shop of the store in ``tmp_path``, read without changing it."""
    store = open_store(store_of(tmp_path)["IDGRAPH_STORE"], read_only=True)
    try:
        return graph_of(store, "shop")
    finally:
        store.close()


def import_csv(tmp_path: Path, text: str, *arguments: str):
    path = tmp_path / "customers.csv"
    path.write_text(text)
    return run_import(store_of(tmp_path), *CUSTOMERS, *arguments, str(path))


@pytest.mark.parametrize(
    ("text", "reason", "kept"),
    [
        pytest.param(
            'id,mail,note\nc1,a@x.io,"oops\nc2,b@x.io,fine\nc3,c@x.io,fine\n',
            "line 2: not CSV idgraph reads: unexpected end of data on line 4; lines 2-4 were "
            "read as one row",
            [],
            id="open-to-the-end-of-the-file",
        ),
        pytest.param(
            'id,mail,note\nc1,a@x.io,"oops\nc2,b@x.io,"fine"\nc3,c@x.io,fine\n',
            "line 2: not CSV idgraph reads: ',' expected after '\"' on line 3; lines 2-3 were "
            "read as one row",
            ["customId:c3"],
            id="closed-by-the-next-row's-quote",
        ),
    ],
)
def test_a_quote_left_open_makes_its_row_bad_and_no_row_a_cell_of_it(tmp_path, text, reason, kept):
    """The lines the open quote took are named in the row's reason, not read as its text."""
    strict = import_csv(tmp_path, text, "--strict")
    assert strict.returncode == 1
    assert reason in strict.stderr.decode() and "stopped there (--strict)" in strict.stderr.decode()
    assert shop(tmp_path)["identifiers"] == []

    done = import_csv(tmp_path, text)
    stdout = done.stdout.decode()
    assert done.returncode == 1, stdout
    assert reason in stdout and counts(stdout)["bad lines"] == 1
    profiles = shop(tmp_path)["profiles"]
    assert [profile[0] for profile in profiles] == kept
    assert all("c2" not in str(profile[3]) for profile in profiles)  # no row inside a note


def test_blank_csv_lines_are_left_out_as_blank_json_lines_are(tmp_path):
    done = import_csv(tmp_path, "id,mail\nc1,a@x.io\n\nc2,b@x.io\n \n,\n")
    stdout = done.stdout.decode()
    assert done.returncode == 0, stdout
    assert counts(stdout)["created"] == 2 and counts(stdout)["bad lines"] == 0
    assert [profile[0] for profile in shop(tmp_path)["profiles"]] == ["customId:c1", "customId:c2"]


def test_a_byte_order_mark_before_the_first_json_line_is_left_out(tmp_path):
    path = tmp_path / "visits.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(item("browserId:b1", "email:a@x.io")).encode())
    done = run_import(store_of(tmp_path), "--namespace", "shop", str(path))
    assert done.returncode == 0, done.stdout
    assert [row[0] for row in shop(tmp_path)["identifiers"]] == ["browserId:b1", "email:a@x.io"]


def test_a_csv_cell_longer_than_csv_s_own_limit_is_read_and_judged_as_an_attribute(tmp_path):
    """Lines up to 1 MiB are read: a cell of 200,000 characters is refused as the API refuses
    an attribute that long, not as CSV the command cannot read."""
    done = import_csv(tmp_path, f"id,mail,note\nc1,a@x.io,{'z' * 200_000}\nc2,b@x.io,ok\n")
    stdout = done.stdout.decode()
    assert done.returncode == 1, stdout
    assert "line 2: attributes.note: longer than 65536 characters" in stdout
    assert "field limit" not in stdout
    profiles = shop(tmp_path)["profiles"]
    assert [(profile[0], profile[3]) for profile in profiles] == [("customId:c2", {"note": "ok"})]


def test_a_header_naming_a_column_twice_is_a_usage_error(tmp_path):
    done = import_csv(tmp_path, "id,name,name,mail\nc1,Ann,Anna,a@x.io\n")
    assert done.returncode == 2, done.stdout
    assert b"the header names 'name' twice" in done.stderr
    assert not (tmp_path / "store.db").exists()  # refused before the store was opened


def test_a_gzip_whose_first_byte_comes_alone_through_a_pipe_is_read_as_gzip(tmp_path):
    """A pipe's first read may bring one byte; the command waits for the second before it
    tells gzip from text."""
    data = gzip.compress(json.dumps(item("browserId:b1", "email:a@x.io")).encode() + b"\n")
    process = subprocess.Popen(
        [IDGRAPH, "import", "--namespace", "shop", "-"], env={**os.environ, **store_of(tmp_path)},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    process.stdin.write(data[:1])
    process.stdin.flush()
    deadline = time.monotonic() + 60
    while _unread(process.stdin) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # until the command's first read has taken that byte alone
    stdout, stderr = process.communicate(data[1:], timeout=60)
    assert process.returncode == 0, stdout + stderr
    assert [row[0] for row in shop(tmp_path)["identifiers"]] == ["browserId:b1", "email:a@x.io"]


def _unread(pipe: Any) -> int:
    """Bytes in a pipe not read yet (Linux answers FIONREAD on either end of a pipe)."""
    return struct.unpack("i", fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0" * 4))[0]


def test_a_file_that_is_not_there_is_a_usage_error(tmp_path):
    done = run_import(store_of(tmp_path), "--namespace", "shop", str(tmp_path / "visits.jsonl"))
    assert done.returncode == 2
    assert b"cannot read " in done.stderr and b"visits.jsonl: No such file" in done.stderr
    assert b"Traceback" not in done.stderr


def test_standard_input_closed_is_a_usage_error(tmp_path):
    done = subprocess.run(
        [IDGRAPH, "import", "--namespace", "shop", "-"], env={**os.environ, **store_of(tmp_path)},
        stdin=subprocess.DEVNULL, preexec_fn=partial(os.close, 0), capture_output=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert b"cannot read standard input: it is closed" in done.stderr
    assert b"Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        pytest.param("s" * 129, "Length must be between 1 and 128", id="129-characters"),
        pytest.param("", "Length must be between 1 and 128", id="empty"),
        pytest.param("crm\x07export", "contains a control character", id="control-character"),
        pytest.param(os.fsdecode(b"crm\xff"), "not UTF-8", id="bytes-not-utf-8"),
    ],
)
def test_a_source_the_api_would_refuse_is_a_usage_error_naming_it(tmp_path, source, reason):
    path = tmp_path / "visits.jsonl"
    path.write_text(json.dumps(item("browserId:b1", "email:a@x.io")) + "\n")
    done = run_import(store_of(tmp_path), "--namespace", "shop", "--source", source, str(path))
    assert done.returncode == 2, done.stdout
    stderr = done.stderr.decode()
    assert "--source" in stderr and reason in stderr and "Traceback" not in stderr
    assert not (tmp_path / "store.db").exists()


def test_a_file_name_that_is_not_utf_8_is_the_source_with_its_bytes_replaced(tmp_path):
    path = tmp_path / os.fsdecode(b"visits\xff.jsonl")
    path.write_text(json.dumps(item("browserId:b1", "email:a@x.io")) + "\n")
    done = run_import(store_of(tmp_path), "--namespace", "shop", str(path))
    assert done.returncode == 0, done.stderr
    store = open_store(store_of(tmp_path)["IDGRAPH_STORE"], read_only=True)
    try:
        assert {link["source"] for link in store.iter_links("shop")} == {"visits\ufffd.jsonl"}
    finally:
        store.close()


def test_a_dry_run_without_a_store_checks_the_lines_and_creates_nothing(tmp_path):
    """A store path mistyped, or a file checked before a first import: the lines are checked,
    none is found applied, and nothing is made where the store would be."""
    path = tmp_path / "visits.jsonl"
    path.write_text(json.dumps(item("browserId:b1", "email:a@x.io")) + "\nnot json\n")
    store = {"IDGRAPH_STORE": f"sqlite:///{tmp_path / 'typo' / 'store.db'}"}
    done = run_import(store, "--namespace", "shop", "--dry-run", str(path))
    stdout = done.stdout.decode()
    assert done.returncode == 1, done.stderr
    assert "2 lines checked" in stdout and "line 2: not JSON" in stdout
    assert counts(stdout)["already imported"] == 0
    assert b"no store at" in done.stderr
    assert not (tmp_path / "typo").exists()


def test_a_dry_run_on_a_store_of_an_older_schema_stops_and_upgrades_nothing(tmp_path):
    older = len(MIGRATIONS) - 1
    older_file(tmp_path / "store.db", older, [])
    path = tmp_path / "visits.jsonl"
    path.write_text(json.dumps(item("browserId:b1", "email:a@x.io")) + "\n")
    done = run_import(store_of(tmp_path), "--namespace", "shop", "--dry-run", str(path))
    assert done.returncode == 2, done.stdout
    assert f"has schema {older}".encode() in done.stderr
    with sqlite3.connect(tmp_path / "store.db") as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (older,)
    assert not (tmp_path / "store.db.lock").exists()


def test_a_run_that_goes_on_under_another_csv_header_is_refused(tmp_path):
    """The header decides how every row reads (which cells are attributes, by which name): a
    header fixed after its rows were applied would otherwise find them applied and leave the
    attributes named as the old header named them."""
    first = import_csv(tmp_path, "id,mail,nmae\nc1,a@x.io,Ann\nc2,b@x.io,Bob\n")
    assert first.returncode == 0, first.stderr
    before = shop(tmp_path)

    fixed = import_csv(tmp_path, "id,mail,name\nc1,a@x.io,Ann\nc2,b@x.io,Bob\n")
    assert fixed.returncode == 2
    assert b"header is not the one this import began with" in fixed.stderr
    assert shop(tmp_path) == before

    again = import_csv(tmp_path, "id,mail,nmae\nc1,a@x.io,Ann\nc2,b@x.io,Bob\n")
    assert again.returncode == 0 and counts(again.stdout.decode())["already imported"] == 2
