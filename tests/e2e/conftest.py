"""Fixtures shared by the end-to-end tests: ``start`` runs the real server (test_server.py)."""

from tests.e2e.test_server import start  # noqa: F401
