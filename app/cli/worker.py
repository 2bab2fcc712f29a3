"""gunicorn's threaded worker, made to read whole requests before a thread serves them, and to
answer gunicorn's own refusals in the one error shape.

gunicorn refuses some requests before the app sees them: a request line longer than
``limit_request_line`` (4,094 bytes) is a 414, too many or too large headers a 431, a request
line or header it cannot parse a 400. It answers those with an HTML page of its own;
``JsonErrorThreadWorker`` answers ``{"error": {"code", "message", "details"}}`` instead, as
every route does.

``BufferingThreadWorker`` also keeps slow clients off the threads. gunicorn's gthread hands
every new connection to a thread, which waits up to 5 s for a first byte and then reads the
request with blocking reads until its head and body are in: one thread per idle or trickling
socket, and a few of them stall the process (issue 19). Here the main thread, gunicorn's
poller, reads each new or kept-alive connection without blocking into a buffer of its own
until the request is complete (app/cli/framing.py says when), then hands it to a thread with
those bytes: a thread only ever parses a request that is all there, runs the app, and writes. A
head not complete within ``header_timeout`` seconds, or a body slower than ``body_timeout``
seconds plus one per 16 KiB, gets 408 and is closed. A body declared larger than the body
limit is handed over at once, unread, for the app to answer 413 and close; a chunked one gets
413 here as soon as its chunks say so. Bounds: a head of 64 KiB; per process,
``worker_connections`` connections (at the cap the oldest that sent nothing is closed to
take a new one) and four bodies of the largest size buffered at once (a body that would go
beyond gets 503). A thread waits at most ``body_timeout`` on a client that stops reading.
Closing after an answer half-closes and drains on the poller, not in gunicorn's blocking
``close_graceful`` on the main thread, which a client could hold for 2 s at a time.

Requests from a client address that got a credential wrong lately (app/api/ratelimit.py
``FailedCredentials.suspect``) take turns: one at a time per process is handed to a thread,
the others wait on the poller (up to ``SUSPECTS_WAITING``, their bodies counted against the
budget of buffered bodies, then 429 from here). A flood of
guessed keys then holds at most one thread, and the requests of everyone else never queue
behind it. Behind ``IDGRAPH_PROXIES`` the peer is a proxy, and every request is alike.

Serve with ``worker_class = BufferingThreadWorker.for_settings(settings)`` (app/cli/serve.py);
plain HTTP/1.1 only: with TLS or cleartext HTTP/2 configured it is gunicorn's gthread as is.
"""

from __future__ import annotations

import json
import re
import selectors
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from gunicorn import util
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

from app.api.auth import FAILURES
from app.api.ratelimit import FailedCredentials
from app.cli.framing import HEAD_LIMIT, Early, Framing, Ready, Refuse
from app.settings import Settings

READ_SIZE = 64 * 1024  # bytes per read by the poller, and per piece handed to the parser
MIN_BODY_RATE = 16 * 1024  # bytes per second: each one received extends the body timeout
LINGER_SECONDS, LINGER_BYTES = 2.0, 64 * 1024  # gunicorn's util.close_graceful, not blocking
SWEEP_SECONDS = 0.5  # how often deadlines are checked
SUSPECTS_WAITING = 64  # requests of suspect addresses held on the poller, per process


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error``, answering JSON: code from the reason phrase
    (``URI Too Long`` -> ``uri_too_long``), message gunicorn's own."""
    code = re.sub(r"\W+", "_", reason.lower()).strip("_")
    error = {"code": code, "message": mesg or reason, "details": {}}
    body = json.dumps({"error": error}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class JsonErrorThreadWorker(ThreadWorker):
    def init_process(self) -> None:
        util.write_error = write_json_error  # this process serves idgraph and nothing else
        super().init_process()


# --- where a request ends, from the bytes received so far ---------------------------------


class _BufferedUnreader(SocketUnreader):
    """What the poller read, then the socket (which a complete request never needs). Pieces
    of at most READ_SIZE: gunicorn's Unreader copies what it holds on every read."""

    def __init__(self, sock: socket.socket, data: bytes) -> None:
        super().__init__(sock)
        self._data = memoryview(data)

    def chunk(self, size_hint: int | None = None) -> bytes:
        if not self._data:
            return super().chunk(size_hint)
        piece, self._data = bytes(self._data[:READ_SIZE]), self._data[READ_SIZE:]
        return piece


class _Conn(TConn):
    """A client connection, and what the poller has read of its next request."""

    def __init__(self, *args: Any, linger: Callable[[socket.socket], None]) -> None:
        super().__init__(*args)
        self._linger = linger
        self.buf = bytearray()
        self.framing: Framing | None = None
        self.deadline = 0.0
        self.watched = False  # registered with the poller
        self.charged = 0  # bytes of buf counted against the process's budget
        self.body_buffered = True  # False: handed over early, to be closed after the answer
        self.suspect = False  # its request is the one of a suspect address being served

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self._linger(self.sock)  # not gunicorn's blocking drain, on the main thread
        else:
            util.close(self.sock)


@dataclass(eq=False)
class _Lingering:
    sock: socket.socket
    deadline: float
    drained: int = 0


class BufferingThreadWorker(JsonErrorThreadWorker):
    settings: ClassVar[Settings] = Settings()

    @classmethod
    def for_settings(cls, settings: Settings) -> type[BufferingThreadWorker]:
        """This worker with the timeouts and body limit of ``settings``."""
        return type(cls.__name__, (cls,), {"settings": settings})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = self.cfg
        self._buffering = not cfg.is_ssl and cfg.http2_cleartext == "off"
        self._reading: set[_Conn] = set()
        self._idle: dict[_Conn, None] = {}  # those of _reading that sent nothing, oldest first
        self._lingering: set[_Lingering] = set()
        self._charged = 0
        self._next_sweep = 0.0
        self._budget = 4 * self.settings.max_body_bytes
        self._suspects: deque[_Conn] = deque()  # complete requests waiting for their turn
        self._serving_suspect = False

    def accept(self, listener: socket.socket) -> None:
        if not self._buffering:
            return super().accept(listener)
        try:
            client, address = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        self.nr_conns += 1
        conn = _Conn(self.cfg, client, address, listener.getsockname(), linger=self._linger)
        seconds = self.settings.body_timeout  # how long a thread waits on this client's socket
        timeout = struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))
        for option in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):  # e.g. a client not reading
            client.setsockopt(socket.SOL_SOCKET, option, timeout)
        self.enqueue_req(conn)

    def enqueue_req(self, conn: _Conn) -> None:
        """Read the connection's next request in the poller; a thread gets it once whole."""
        if not self._buffering:
            return super().enqueue_req(conn)
        if conn.parser is not None:  # anything gunicorn's parser read ahead comes first
            conn.buf[:0] = conn.parser.unreader.take_buffered()
        limit = self.cfg.limit_request_line
        conn.framing = Framing(self.settings.max_body_bytes, limit)
        conn.deadline = time.monotonic() + self.settings.header_timeout
        conn.sock.setblocking(False)
        self._reading.add(conn)
        if conn.buf:  # a pipelined request, already here
            self._charge(conn)
            self._advance(conn)
        else:
            self._idle[conn] = None
        if conn in self._reading:  # often here already: try before asking the poller
            self._readable(conn)

    def _readable(self, conn: _Conn, _sock: socket.socket | None = None) -> None:
        try:
            data = conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return self._watch(conn)
        except OSError:
            data = b""
        if not data:  # the client went away
            self._forget(conn)
            self.nr_conns -= 1
            conn.close()
            return
        if conn.framing.head_end >= 0:
            conn.deadline += len(data) / MIN_BODY_RATE
        self._idle.pop(conn, None)
        conn.buf += data
        self._charge(conn)
        self._advance(conn)
        if conn in self._reading and self._charged > self._budget:
            message = "too many request bodies arriving at once, retry later"
            self._refuse(conn, Refuse(503, "Service Unavailable", message))
        elif conn in self._reading:
            self._watch(conn)

    def _watch(self, conn: _Conn) -> None:
        if not conn.watched:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))
            conn.watched = True

    def _advance(self, conn: _Conn) -> None:
        had_head = conn.framing.head_end >= 0
        verdict = conn.framing.feed(conn.buf)
        if isinstance(verdict, Refuse):
            return self._refuse(conn, verdict)
        if verdict is not None:
            return self._hand_over(conn, verdict)
        if not had_head and conn.framing.head_end >= 0:  # the head is in, the body is not
            conn.deadline = time.monotonic() + self.settings.body_timeout
            if conn.framing.expect_continue:
                self._send_quietly(conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")

    def _hand_over(self, conn: _Conn, verdict: Ready | Early) -> None:
        self._forget(conn)
        end = verdict.end if isinstance(verdict, Ready) else len(conn.buf)
        request = bytes(conn.buf[:end])
        del conn.buf[:end]  # a pipelined request, read after this one's answer
        conn.body_buffered = isinstance(verdict, Ready)
        conn.init()  # the parser, on a new connection
        conn.parser.unreader = _BufferedUnreader(conn.sock, request)
        conn.data_ready = True  # gunicorn's handle() waits for nothing
        if not self._suspected(conn):
            super().enqueue_req(conn)
        elif not self._serving_suspect:
            self._serve_suspect(conn)
        elif len(self._suspects) < SUSPECTS_WAITING and self._may_wait(conn, len(request)):
            self._suspects.append(conn)
        else:
            message = "too many requests from an address that got a credential wrong"
            self._refuse(conn, Refuse(429, "Too Many Requests", message))

    def _suspected(self, conn: _Conn) -> bool:
        failures: FailedCredentials | None = getattr(self.wsgi, "extensions", {}).get(FAILURES)
        if failures is None or self.settings.proxies or not isinstance(conn.client, tuple):
            return False
        return failures.suspect(conn.client[0])

    def _may_wait(self, conn: _Conn, size: int) -> bool:
        """A request waiting its turn keeps its bytes counted against the budget of buffered
        bodies, as while it was read: 64 waiting bodies are not 64 times the body limit."""
        charge = max(0, size - HEAD_LIMIT)
        if self._charged + charge > self._budget:
            return False
        self._charged += charge
        conn.charged = charge
        return True

    def _serve_suspect(self, conn: _Conn) -> None:
        self._charged -= conn.charged  # no longer waiting: its thread holds it now
        conn.charged = 0
        self._serving_suspect = conn.suspect = True
        super().enqueue_req(conn)

    def _refuse(self, conn: _Conn, refusal: Refuse) -> None:
        self._forget(conn)
        self.log.info("Refused a request: %s %s", refusal.status, refusal.message)
        self.nr_conns -= 1
        try:
            write_json_error(conn.sock, refusal.status, refusal.reason, refusal.message)
        except OSError:
            pass
        self._linger(conn.sock)

    def _forget(self, conn: _Conn) -> None:
        """No longer read by the poller."""
        self._reading.discard(conn)
        self._idle.pop(conn, None)
        if conn.watched:
            self.poller.unregister(conn.sock)
            conn.watched = False
        self._charged -= conn.charged
        conn.charged = 0

    def _charge(self, conn: _Conn) -> None:
        """A connection's first HEAD_LIMIT bytes are free: heads are bounded per connection,
        bodies by the budget."""
        charge = max(0, len(conn.buf) - HEAD_LIMIT)
        self._charged += charge - conn.charged
        conn.charged = charge

    @staticmethod
    def _send_quietly(sock: socket.socket, data: bytes) -> None:
        try:
            sock.send(data)
        except OSError:
            pass

    def murder_pending(self) -> None:
        """Close connections past their deadline, every SWEEP_SECONDS: the poller calls this
        after each wake-up, up to thousands of times a second under load."""
        super().murder_pending()
        if self._buffering:
            self._make_room()
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_SECONDS
        if not self.alive:  # stopping: a body on its way may finish, a head has 2 s more
            while self._suspects:  # and those waiting their turn are served
                self._serve_suspect(self._suspects.popleft())
            for conn in self._reading:
                if conn.framing.head_end < 0:
                    conn.deadline = min(conn.deadline, now + STOP_KEEPALIVE_LINGER)
        for conn in [conn for conn in self._reading if conn.deadline <= now]:
            if conn.buf:
                reason = "body" if conn.framing.head_end >= 0 else "head"
                self._refuse(conn, Refuse(408, "Request Timeout", f"the {reason} came too slowly"))
            else:
                self._close_idle(conn)
        for lingering in [entry for entry in self._lingering if entry.deadline <= now]:
            self._end_linger(lingering)

    def _make_room(self) -> None:
        """At the connection cap, where gunicorn would stop accepting, the oldest connection
        that sent nothing goes (a kept-alive one first, as nginx does): a flood of idle
        sockets cannot lock other clients out."""
        while self.nr_conns >= self.worker_connections:
            if self.keepalived_conns:
                conn = self.keepalived_conns.popleft()
                self.poller.unregister(conn.sock)
                self.nr_conns -= 1
                conn.close()
            elif self._idle:
                self._close_idle(next(iter(self._idle)))
            else:
                return

    def _close_idle(self, conn: _Conn) -> None:
        self._forget(conn)
        self.nr_conns -= 1
        conn.close()

    def finish_request(self, conn: _Conn, fs: Any) -> None:
        if conn.suspect:  # the next suspect's turn
            conn.suspect = self._serving_suspect = False
            if self._suspects:
                self._serve_suspect(self._suspects.popleft())
        if not self._buffering or not conn.buf:
            return super().finish_request(conn, fs)
        if not fs.cancelled() and fs.exception() is None and fs.result() is True:
            self.enqueue_req(conn)  # the next request came with this one (pipelining)
            return
        super().finish_request(conn, fs)

    def handle_request(self, req: Any, conn: _Conn) -> bool:
        if not self._buffering:
            return super().handle_request(req, conn)
        req._expected_100_continue = False  # the poller said 100 Continue, if needed
        if not conn.body_buffered:
            req.force_close()  # the body was not read: the connection cannot go on
        try:
            return super().handle_request(req, conn)
        except BlockingIOError as error:  # SO_SNDTIMEO (accept): the client stopped reading
            self.log.info("Closed a connection: its client took no answer for a while")
            raise StopIteration() from error  # gunicorn's handle() closes the connection

    # -- closing: the answer first, then whatever the client still sends, for a while

    def _linger(self, sock: socket.socket) -> None:
        """RFC 9112 9.6 as gunicorn's ``util.close_graceful``, on the poller: half-close, then
        read and drop what the client still sends (so that the kernel does not reset the
        connection before it read its answer), at most LINGER_BYTES for LINGER_SECONDS."""
        try:
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            util.close(sock)
            return
        if len(self._lingering) >= self.worker_connections:
            util.close(sock)
            return
        lingering = _Lingering(sock, time.monotonic() + LINGER_SECONDS)
        self._lingering.add(lingering)
        self.poller.register(sock, selectors.EVENT_READ, partial(self._drain, lingering))

    def _drain(self, lingering: _Lingering, _sock: socket.socket) -> None:
        try:
            data = lingering.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        lingering.drained += len(data)
        if not data or lingering.drained >= LINGER_BYTES:
            self._end_linger(lingering)

    def _end_linger(self, lingering: _Lingering) -> None:
        self._lingering.discard(lingering)
        try:
            self.poller.unregister(lingering.sock)
        except (KeyError, ValueError, OSError):
            pass
        util.close(lingering.sock)
