"""Where an HTTP/1.1 request ends, read from the bytes received so far: the poller of
app/cli/worker.py's BufferingThreadWorker feeds ``Framing`` after each read, and hands the
request to a thread once it is all there. It reads the framing (the head's end,
Content-Length, chunked transfer-coding and trailers) the way gunicorn's parser does, and says
``Early`` for whatever that parser, or the app, would refuse at once, so that a thread never
waits on a client."""

from __future__ import annotations

import re
from dataclasses import dataclass

HEAD_LIMIT = 64 * 1024  # bytes of a request head (or chunked trailers); more gets 431
CHUNK_LINE_LIMIT = 8190  # gunicorn's limit on a chunk-size line
BARE_LF = re.compile(rb"(?<!\r)\n")
HEX = re.compile(rb"[0-9a-fA-F]+")


@dataclass(frozen=True, slots=True)
class Ready:
    """The request is the buffer's first ``end`` bytes; what follows is the next one."""

    end: int


@dataclass(frozen=True, slots=True)
class Early:
    """Hand over what there is, now: gunicorn's parser refuses it (400, 414, 417, 501), or
    the app refuses its body as too large (413) without reading it."""


@dataclass(frozen=True, slots=True)
class Refuse:
    """Answer this here and close: too large to hold, too slow, or no room for it."""

    status: int
    reason: str
    message: str


Verdict = Ready | Early | Refuse | None  # None: wait for more bytes
TOO_LARGE_HEAD = Refuse(431, "Request Header Fields Too Large", f"over {HEAD_LIMIT} bytes")
# as the app answers a Content-Length over the limit (werkzeug's words)
TOO_LARGE_BODY = Refuse(
    413, "Request Entity Too Large", "The data value transmitted exceeds the capacity limit."
)


class Framing:
    """Where the request being received ends, found from what the poller has read so far
    (``feed`` it the whole buffer after each read; it resumes where it stopped). It reads
    the framing the way gunicorn's parser does, and hands over at once what that parser
    would refuse, so that the parser, once handed a request, never needs another byte."""

    def __init__(self, max_body: int, line_limit: int) -> None:
        self.max_body, self.line_limit = max_body, line_limit
        self.head_end = -1  # just past the head's empty line, once received
        self.expect_continue = False
        self._scanned = 0  # bytes of the head, or of the trailers, already searched
        self._length: int | None = None  # the body's Content-Length; None: chunked
        self._chunk = 0  # where the next chunk-size line starts
        self._chunked = 0  # chunk data bytes so far
        self._trailers = False

    def feed(self, buf: bytearray) -> Verdict:
        if self.head_end < 0:
            verdict = self._head(buf)
            if verdict is not None or self.head_end < 0:
                return verdict
        if self._length is not None:
            end = self.head_end + self._length
            return Ready(end) if len(buf) >= end else None
        if len(buf) - self.head_end > 2 * self.max_body + HEAD_LIMIT:  # chunk-size lines
            return TOO_LARGE_BODY
        return self._trailer_end(buf) if self._trailers else self._chunks(buf)

    def _head(self, buf: bytearray) -> Verdict:
        start, self._scanned = max(0, self._scanned - 3), len(buf)
        end = buf.find(b"\r\n\r\n", start)
        if BARE_LF.search(buf, start, len(buf) if end < 0 else end):
            return Early()  # RFC 9112 2.2: lines end with CRLF; gunicorn answers 400
        line = 2 if buf[:2] == b"\r\n" else 0  # one empty line may come first
        eol = buf.find(b"\r\n", line)
        if (eol if eol >= 0 else len(buf) - 2) - line > self.line_limit > 0:
            return Early()  # gunicorn answers 414
        if end < 0 or end + 4 > HEAD_LIMIT:
            return TOO_LARGE_HEAD if len(buf) > HEAD_LIMIT else None
        self.head_end = self._chunk = end + 4
        return self._body_framing(bytes(buf[line:end]))

    def _body_framing(self, head: bytes) -> Verdict:
        request_line, *fields = head.split(b"\r\n")
        lengths, codings = [], []
        for field in fields:
            name, colon, value = field.partition(b":")
            name, value = name.upper(), value.strip(b" \t")
            if not colon:
                return Early()
            if name == b"CONTENT-LENGTH":
                lengths.append(value)
            elif name == b"TRANSFER-ENCODING":
                codings += [coding.strip(b" \t").lower() for coding in value.split(b",")]
            elif name == b"EXPECT":
                if value.lower() != b"100-continue":
                    return Early()  # gunicorn answers 417
                self.expect_continue = not request_line.endswith(b"HTTP/1.0")
        if codings:
            if lengths or not _chunked(codings) or request_line.endswith(b"HTTP/1.0"):
                return Early()  # gunicorn answers 400 or 501
            return None
        if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
            return Early()
        self._length = int(lengths[0]) if lengths else 0
        return Early() if self._length > self.max_body else None

    def _chunks(self, buf: bytearray) -> Verdict:
        while True:
            eol = buf.find(b"\r\n", self._chunk)
            if eol < 0:
                return Early() if len(buf) - self._chunk > CHUNK_LINE_LIMIT else None
            size = _chunk_size(bytes(buf[self._chunk : eol]))
            if size is None:
                return Early()  # gunicorn answers 400
            if size == 0:  # the last chunk: the trailers start after its line
                self._trailers, self._chunk = True, eol + 2
                self._scanned = self._chunk
                return self._trailer_end(buf)
            if self._chunked + size > self.max_body:
                return TOO_LARGE_BODY
            end = eol + 2 + size
            if len(buf) < end + 2:
                return None
            if buf[end : end + 2] != b"\r\n":
                return Early()
            self._chunked += size
            self._chunk = end + 2

    def _trailer_end(self, buf: bytearray) -> Verdict:
        if buf[self._chunk : self._chunk + 2] == b"\r\n":
            return Ready(self._chunk + 2)
        start, self._scanned = max(self._chunk, self._scanned - 3), len(buf)
        end = buf.find(b"\r\n\r\n", start)
        if end >= 0:
            return Ready(end + 4)
        return TOO_LARGE_HEAD if len(buf) - self._chunk > HEAD_LIMIT else None


def _chunk_size(line: bytes) -> int | None:
    """A chunk-size line's size, None if gunicorn refuses it (extensions checked there)."""
    size, semicolon, _ = line.partition(b";")
    size = size.rstrip(b" \t") if semicolon else size
    return int(size, 16) if HEX.fullmatch(size) else None


def _chunked(codings: list[bytes]) -> bool:
    """gunicorn's reading of Transfer-Encoding: whether the body is chunked (False: it
    refuses the request)."""
    chunked = False
    for coding in codings:
        if coding not in (b"chunked", b"identity", b"compress", b"deflate", b"gzip"):
            return False
        if chunked:
            return False  # nothing may follow chunked, nor may it come twice
        chunked = coding == b"chunked"
    return chunked
