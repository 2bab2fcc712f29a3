"""Fixtures shared by the end-to-end tests: ``start`` runs the real server (test_server.py),
``browser`` the distro's headless Chromium (test_viewer.py)."""

from tests.e2e.test_server import start  # noqa: F401
from tests.e2e.test_viewer import browser  # noqa: F401
