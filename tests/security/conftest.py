"""The attacker's suite: each test does over HTTP, against the real server on loopback, what a
hostile or careless client would, and asserts the service neither breaks nor gives way. Slow
and guessing clients are bounded in time and count."""

from tests.e2e.test_server import start  # noqa: F401
