"""A generator run in a child process, a value ahead of the loop that takes its values:
``idgraph import`` reads, parses and normalizes the next chunk of its file on one core while
this process decides and writes the chunk before on the other.

The child is forked, so it inherits the generator and the open file it reads (standard input
too), and it sends each value pickled through a pipe. A pipe holds 64 KB, less than a chunk,
so the child waits there until the value is taken: one value is ready while one is used, and
memory stays bounded whatever the file's size. An exception in the child (a broken gzip, a
CSV header without a column) is raised in this process where the next value would have
been. Ctrl-C is answered here, and leaving the ``with`` block ends the child; if this process
is killed, the child's next send finds the pipe closed and it ends too. The child touches
nothing but the generator: fork happens before this process opens its store (a generator
that reads a store opens its own, in the child).

Where fork is not available (Windows), the generator runs in this process.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

_VALUE, _DONE, _FAILED = "value", "done", "failed"


@contextmanager
def ahead(values: Iterator[T]) -> Iterator[Iterator[T]]:
    """``values``, produced by a child process while the caller works on the one before."""
    if "fork" not in multiprocessing.get_all_start_methods():
        yield values
        return
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    sys.stdout.flush()  # or the child's exit would write what is buffered a second time
    sys.stderr.flush()
    child = context.Process(target=_produce, args=(values, sender, receiver), daemon=True)
    child.start()
    sender.close()
    try:
        yield _received(receiver)
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _produce(values: Iterator[Any], sender: Connection, receiver: Connection) -> None:
    """In the child: send each value, then done; or the exception that stopped it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to answer
    receiver.close()  # the parent's end: once the parent is gone, a send fails
    try:
        for value in values:
            sender.send((_VALUE, value))
        sender.send((_DONE, None))
    except (BrokenPipeError, ConnectionResetError):  # the parent is gone or done
        return
    except BaseException as error:
        try:
            sender.send((_FAILED, error))
        except Exception:  # an exception that does not pickle: its words, at least
            sender.send((_FAILED, RuntimeError(f"{type(error).__name__}: {error}")))


def _received(receiver: Connection) -> Iterator[Any]:
    while True:
        try:
            kind, value = receiver.recv()
        except EOFError:  # killed (out of memory?) before it could say why
            raise EOFError("the process reading ahead ended without a word") from None
        if kind == _DONE:
            return
        if kind == _FAILED:
            raise value
        yield value
