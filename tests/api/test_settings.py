"""Settings are declared once (app/settings.py) and every one is documented in the
configuration table of docs/operations.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.settings import SETTINGS, Settings, SettingsError

OPERATIONS = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
# the "## Configuration" section, up to the next heading of the same level
CONFIGURATION = re.search(r"^## Configuration\n(.*?)(?=^## )", OPERATIONS, re.M | re.S).group(1)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_setting_is_in_the_configuration_table_of_docs_operations(setting):
    assert f"| `{setting.env}` |" in CONFIGURATION


def test_the_configuration_table_of_docs_operations_names_only_settings():
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \|", CONFIGURATION, re.M)
    assert rows and set(rows) <= {setting.env for setting in SETTINGS}


def test_settings_come_from_the_environment_with_their_defaults():
    settings = Settings.from_env({"PORT": "9001", "IDGRAPH_ADMIN_TOKEN": "t", "HOST": ""})
    assert settings.port == 9001 and settings.admin_token == "t"
    assert settings.host == "127.0.0.1" and not settings.open_mode
    assert Settings.from_env({}).open_mode


def test_a_setting_that_cannot_be_parsed_names_itself():
    with pytest.raises(SettingsError, match="IDGRAPH_MAX_BATCH_ITEMS='lots'"):
        Settings.from_env({"IDGRAPH_MAX_BATCH_ITEMS": "lots"})
