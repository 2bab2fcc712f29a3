"""Fixtures of the API tests; the helpers they use live in apitools.py."""

from __future__ import annotations

import pytest
from apitools import Api, assert_error


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@pytest.fixture
def error_of():
    return assert_error
