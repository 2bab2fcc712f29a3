"""docker-compose.yml, the Dockerfile and .dockerignore, checked without a Docker engine: the
compose file is parsed and interpolated as compose would, and its shell snippets (the
healthcheck, the NEO4J_AUTH split) are run with sh."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml  # PyYAML, a dev dependency: reads docker-compose.yml

from app.settings import SETTINGS

ROOT = Path(__file__).parents[2]
SETTING_NAMES = {setting.env for setting in SETTINGS}
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:-|:\?)([^}]*))?\}")


def interpolate(value: Any, environ: dict[str, str]) -> Any:
    """Compose's interpolation of ``${NAME}``, ``${NAME:-default}``, ``${NAME:?error}`` and
    ``$$``, in every string of a parsed compose file."""
    if isinstance(value, dict):
        return {key: interpolate(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environ) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.groups()
        current = environ.get(name, "")
        if current:
            return current
        if operator == ":?":
            raise LookupError(f"{name}: {argument}")
        return argument or ""

    return _VARIABLE.sub(one, value)


@pytest.fixture(scope="module")
def raw_compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose(raw_compose) -> dict[str, Any]:
    return interpolate(raw_compose, {"IDGRAPH_ADMIN_TOKEN": "t0ken"})


def run_sh(script: str, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["sh", "-c", script, *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- Neo4j ------------------------------------------------------------------------------------


def test_neo4j_is_the_community_image_of_the_neo4j_the_tests_run(compose):
    """The same 5.26 patch as tools/neo4j/pom.xml, which `make neo4j` and the tests run."""
    pom = (ROOT / "tools" / "neo4j" / "pom.xml").read_text(encoding="utf-8")
    version = re.search(r"<neo4j\.version>(5\.26\.\d+)</neo4j\.version>", pom).group(1)
    assert compose["services"]["neo4j"]["image"] == f"neo4j:{version}-community"


def test_neo4j_keeps_its_data_in_a_named_volume(compose):
    volumes = compose["services"]["neo4j"]["volumes"]
    named = [v.split(":")[0] for v in volumes if v.split(":")[1] == "/data"]
    assert named and named[0] in compose["volumes"]
    assert not named[0].startswith((".", "/"))


def test_every_published_port_is_on_loopback_only(compose):
    published = {name: service.get("ports", []) for name, service in compose["services"].items()}
    assert published == {
        "neo4j": ["127.0.0.1:7474:7474", "127.0.0.1:7687:7687"],
        "idgraph": ["127.0.0.1:8000:8000"],
    }


def test_neo4j_auth_comes_from_the_environment_with_a_default(raw_compose):
    auth = raw_compose["services"]["neo4j"]["environment"]["NEO4J_AUTH"]
    assert interpolate(auth, {}) == "neo4j/idgraph-dev-password"
    assert interpolate(auth, {"NEO4J_AUTH": "neo4j/an0ther-secret"}) == "neo4j/an0ther-secret"


@pytest.mark.parametrize("auth", ["neo4j/s3cret-pass", "neo4j/s3cret-pass/true"])
def test_the_healthcheck_queries_neo4j_with_the_configured_password(compose, tmp_path, auth):
    """A fake cypher-shell records how the healthcheck calls it."""
    kind, script = compose["services"]["neo4j"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    calls = tmp_path / "calls"
    shell = tmp_path / "cypher-shell"
    shell.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {shlex.quote(str(calls))}\n')
    shell.chmod(0o755)
    run_sh(script, env={"PATH": f"{tmp_path}:/usr/bin:/bin", "NEO4J_AUTH": auth})
    assert calls.read_text().splitlines() == ["-u", "neo4j", "-p", "s3cret-pass", "RETURN 1"]


# --- idgraph ----------------------------------------------------------------------------------


def test_idgraph_runs_on_the_neo4j_service_once_it_is_healthy(compose):
    idgraph = compose["services"]["idgraph"]
    assert idgraph["build"] == "."
    assert idgraph["environment"]["IDGRAPH_STORE"] == "neo4j://neo4j:7687"
    assert idgraph["environment"]["HOST"] == "0.0.0.0"
    assert idgraph["depends_on"] == {"neo4j": {"condition": "service_healthy"}}
    assert idgraph["command"] == ["idgraph", "serve"]


def test_the_admin_token_is_required(raw_compose):
    token = raw_compose["services"]["idgraph"]["environment"]["IDGRAPH_ADMIN_TOKEN"]
    with pytest.raises(LookupError, match="IDGRAPH_ADMIN_TOKEN"):
        interpolate(token, {})
    assert interpolate(token, {"IDGRAPH_ADMIN_TOKEN": "t0ken"}) == "t0ken"


def test_idgraph_sets_only_real_settings(compose):
    names = set(compose["services"]["idgraph"]["environment"])
    # NEO4J_AUTH is not a setting: the entrypoint splits it into NEO4J_USER and NEO4J_PASSWORD
    assert names - {"NEO4J_AUTH"} <= SETTING_NAMES


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        pytest.param(None, ("neo4j", "idgraph-dev-password"), id="default"),
        pytest.param("neo4j/s3cret-pass", ("neo4j", "s3cret-pass"), id="set"),
        pytest.param("neo4j/s3cret-pass/true", ("neo4j", "s3cret-pass"), id="reset-flag"),
        pytest.param("none", (None, None), id="no-auth"),
    ],
)
def test_idgraph_logs_in_with_the_password_neo4j_was_given(raw_compose, auth, expected):
    """Both services see the same NEO4J_AUTH, and idgraph's entrypoint splits it as the
    neo4j image does; run here with `env` as the command."""
    environ = {"IDGRAPH_ADMIN_TOKEN": "t0ken", **({"NEO4J_AUTH": auth} if auth else {})}
    compose = interpolate(raw_compose, environ)
    neo4j_auth = compose["services"]["neo4j"]["environment"]["NEO4J_AUTH"]
    idgraph = compose["services"]["idgraph"]
    assert idgraph["environment"]["NEO4J_AUTH"] == neo4j_auth
    shell, flag, script, name = idgraph["entrypoint"]
    assert (shell, flag) == ("sh", "-c")
    printed = run_sh(script, name, "env", env={"NEO4J_AUTH": neo4j_auth})
    seen = dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)
    assert (seen.get("NEO4J_USER"), seen.get("NEO4J_PASSWORD")) == expected


# --- the image --------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
        for line in joined.splitlines()
        if line.strip()
    ]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile()
    start = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[start:]


def environment_of(instructions: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, arguments in instructions:
        if name == "ENV":
            found.update(part.split("=", 1) for part in shlex.split(arguments))
    return found


def test_the_image_is_python_3_11_slim_run_by_a_user_other_than_root():
    stage = final_stage()
    assert stage[0] == ("FROM", "python:3.11-slim")
    users = [arguments for name, arguments in stage if name == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert stage[-1] == ("CMD", json.dumps(["idgraph", "serve"]))


def test_the_image_builds_its_wheel_from_the_code_and_the_cypher_folder():
    built = [arguments.split() for name, arguments in dockerfile() if name == "COPY"]
    copied = {part for parts in built for part in parts[:-1]}
    assert {"app", "graph", "cypher", "pyproject.toml"} <= copied
    final = [arguments.split()[0] for name, arguments in final_stage() if name == "COPY"]
    assert "cypher" not in final  # the statements come with the wheel


def test_the_wheel_carries_every_cypher_statement_and_every_file_of_the_viewer(tmp_path):
    """An installed idgraph reads its statements from the wheel (importlib.resources), not
    from a source tree beside it, and serves the lineage viewer's page, scripts and styles
    from it. Built from what the image's build stage copies, as it does (a build/ folder left
    in the working copy would hold files since deleted)."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("app", "graph", "cypher"):
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "--wheel-dir", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    [wheel] = tmp_path.glob("idgraph-*.whl")
    pages = ("app/api/static/", "app/api/templates/")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {
            name
            for name in archive.namelist()
            if name.endswith(".cypher") or name.startswith(pages)
        }
    expected = {path.relative_to(ROOT).as_posix() for path in (ROOT / "cypher").rglob("*.cypher")}
    expected |= {
        path.relative_to(ROOT).as_posix()
        for folder in pages
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
    }
    assert any(name.endswith("viewer/main.js") for name in expected)
    assert shipped == expected, sorted(expected ^ shipped)


def test_the_image_sets_only_real_settings():
    names = set(environment_of(dockerfile()))
    besides = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"}
    besides.add("PIP_DISABLE_PIP_VERSION_CHECK")
    assert names - besides <= SETTING_NAMES
    assert {"HOST", "PORT", "IDGRAPH_STORE"} <= names


def test_the_build_context_leaves_out_local_state():
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    expected = {".git", ".venv", "var", "node_modules", ".pytest_cache", ".ruff_cache"}
    assert expected | {".hypothesis", "**/__pycache__", ".env"} <= set(ignored)


def test_neo4j_is_set_to_let_a_purge_leave_its_logs(compose):
    """The settings docs/storage.md recommends for erasure, as the tests run them."""
    from tests.neo4j_server import ERASURE_SETTINGS

    environment = compose["services"]["neo4j"]["environment"]
    as_image_takes = {
        "NEO4J_" + name.replace("_", "__").replace(".", "_"): value
        for name, value in ERASURE_SETTINGS.items()
    }
    assert as_image_takes.items() <= {name: str(v) for name, v in environment.items()}.items()
