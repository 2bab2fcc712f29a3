"""Where a request ends, as the buffering worker's poller reads it (app/cli/framing.py): it must
hand over exactly one whole request, never wait on one gunicorn would refuse, and refuse what it
cannot hold."""

from __future__ import annotations

import pytest

from app.cli.framing import HEAD_LIMIT, Early, Framing, Ready, Refuse

MAX_BODY = 1000
GET = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
SIZED = b"POST /sync HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde"
CHUNKED = b"POST /sync HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"


def verdict_of(*pieces: bytes):
    """Feed the pieces one after the other, as reads arrive; the last verdict."""
    framing, buf, verdict = Framing(MAX_BODY, 4094), bytearray(), None
    for piece in pieces:
        buf += piece
        verdict = framing.feed(buf)
    return verdict


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        pytest.param([GET], Ready(len(GET)), id="a-whole-head"),
        pytest.param([GET[:10], GET[10:20], GET[20:]], Ready(len(GET)), id="head-in-pieces"),
        pytest.param([GET[:-1]], None, id="head-not-yet-ended"),
        pytest.param([GET + b"GET /next"], Ready(len(GET)), id="pipelined-next-not-taken"),
        pytest.param(
            [b"POST /sync HTTP/1.1\r\nContent-Length: 5\r\n\r\n", b"ab"], None, id="body-short"
        ),
        pytest.param([SIZED], Ready(len(SIZED)), id="body-whole"),
        pytest.param([CHUNKED, b"0\r\n\r\n"], Ready(len(CHUNKED) + 5), id="chunked-whole"),
        pytest.param([CHUNKED], None, id="chunked-not-ended"),
    ],
)
def test_a_request_is_handed_over_when_it_is_all_there(pieces, expected):
    assert verdict_of(*pieces) == expected


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET / HTTP/1.1\nHost: x\n\n", id="bare-LF"),
        pytest.param(b"POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", id="declared-too-large"),
        pytest.param(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", id="bad-length"),
        pytest.param(b"POST / HTTP/1.1\r\nExpect: tea\r\n\r\n", id="unknown-expectation"),
        pytest.param(
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            id="length-and-chunked",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad-chunk"
        ),
    ],
)
def test_what_gunicorn_or_the_app_refuses_at_once_is_handed_over_early(request_bytes):
    assert verdict_of(request_bytes) == Early()


def test_what_cannot_be_held_is_refused_here():
    endless_head = b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * (HEAD_LIMIT // 8 + 1)
    assert verdict_of(endless_head) == Refuse(
        431, "Request Header Fields Too Large", f"over {HEAD_LIMIT} bytes"
    )
    chunks = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"3e8\r\n" + b"a" * 1000
    too_large = verdict_of(chunks + b"\r\n1\r\nb\r\n")
    assert isinstance(too_large, Refuse) and too_large.status == 413
