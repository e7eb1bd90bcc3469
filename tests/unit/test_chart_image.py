"""The Dockerfile and the chart agree (no image can be built here, so the contract is checked statically):
the build context holds what the wheel needs, the image runs `pmo run` as the chart's non-root user, and
the chart passes only flags (the image's entrypoint already says `pmo run`)."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path

import yaml

from helm_chart import CHART, REPO, operator_container, render

DOCKERFILE = (REPO / "Dockerfile").read_text()
VALUES = yaml.safe_load((CHART / "values.yaml").read_text())


def _instructions(name: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.+?)$", DOCKERFILE, flags=re.M)]


def _final_stage() -> str:
    return DOCKERFILE[DOCKERFILE.rindex("\nFROM ") :]


def _docker_ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics: the last matching pattern wins; a pattern matching a parent directory
    matches everything below it."""
    candidates = [str(Path(*Path(path).parts[: i + 1])) for i in range(len(Path(path).parts))]
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw.lstrip("!").rstrip("/").replace("**/", "*/")
        if any(fnmatch.fnmatchcase(c, pattern) for c in candidates):
            ignored = not negate
    return ignored


def test_multi_stage_slim_python_311() -> None:
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim\b", DOCKERFILE, flags=re.M)
    stages = _instructions("FROM")
    assert len(stages) >= 2 and all(s.startswith("${PYTHON_IMAGE}") for s in stages)
    # Only the virtualenv crosses into the runtime stage: no compiler, no sources.
    assert re.findall(r"^COPY --from=(\S+)\s+(\S+)", _final_stage(), flags=re.M) == [("build", "/opt/pmo")]


def test_image_runs_pmo_run_as_the_charts_non_root_user() -> None:
    user = re.search(r"^USER\s+(\d+):(\d+)$", _final_stage(), flags=re.M)
    assert user, "the runtime stage must switch to a numeric non-root user"
    assert int(user.group(1)) == VALUES["podSecurityContext"]["runAsUser"] != 0
    assert int(user.group(2)) == VALUES["podSecurityContext"]["runAsGroup"] != 0
    assert json.loads(_instructions("ENTRYPOINT")[-1]) == ["pmo", "run"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["pmo"] == "provider_migration.cli.main:main"


def test_image_exposes_the_charts_ports_and_writes_only_to_tmp() -> None:
    exposed = {int(p) for line in _instructions("EXPOSE") for p in line.split()}
    assert exposed == {VALUES["liveness"]["port"], VALUES["metrics"]["port"]}
    env = " ".join(_instructions("ENV")) + _final_stage()
    assert "HOME=/tmp" in env and "PYTHONDONTWRITEBYTECODE=1" in env


def test_default_command_parses_with_pmo_run() -> None:
    from provider_migration.cli.main import build_parser

    parsed = build_parser().parse_args(
        [*json.loads(_instructions("ENTRYPOINT")[-1])[1:], *json.loads(_instructions("CMD")[-1])]
    )
    assert parsed.all_namespaces and parsed.peering is None


def test_chart_passes_flags_to_the_entrypoint() -> None:
    container = operator_container(render())
    assert "command" not in container
    assert all(arg.startswith("--") for arg in container["args"])


def test_build_context_holds_what_the_wheel_needs_and_nothing_else() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    needed = [
        "pyproject.toml",
        project["project"]["readme"],
        *(
            str(p.relative_to(REPO))
            for p in (REPO / "operator").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p)
        ),
    ]
    assert not [p for p in needed if _docker_ignored(p, patterns)]
    for copied in re.findall(r"^COPY (?!--from)(.+?) \S+$", DOCKERFILE, flags=re.M):
        assert not [p for p in copied.split() if _docker_ignored(p.rstrip("/"), patterns)]
    for left_out in (
        "tests/unit/test_decide.py",
        ".git/HEAD",
        "charts/provider-migration-operator/values.yaml",
        ".dev/kubeconfig",
        "operator/provider_migration/__pycache__/x.cpython-311.pyc",
    ):
        assert _docker_ignored(left_out, patterns), left_out
