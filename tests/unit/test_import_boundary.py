"""The operator process (`pmo run`, the image) loads none of the workshop, the plotting and dataframe stack or
cryptography.

Each check runs in a fresh interpreter so that modules imported by other tests do not hide a leak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

OPERATOR_DIR = Path(__file__).resolve().parents[2] / "operator"
# Top-level packages `pmo run` must never load.
FORBIDDEN = ("pmo_devenv", "matplotlib", "numpy", "pandas", "cryptography")

# `pmo run` as the image starts it, up to the point where kopf would take over (kopf.run is replaced by a no-op).
PMO_RUN = """
import kopf
kopf.run = lambda **kwargs: None
from provider_migration.cli.main import main
assert main(["run", "--kubeconfig", KUBECONFIG, "--metrics-port", "0", "--liveness", ""]) == 0
"""


def loaded_top_level(code: str, kubeconfig: Path) -> set[str]:
    script = (
        f"KUBECONFIG = {str(kubeconfig)!r}\n"
        + textwrap.dedent(code)
        + ("\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n")
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(OPERATOR_DIR), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return {name.split(".")[0] for name in modules} | {name for name in modules if name.startswith("provider_")}


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


def test_pmo_run_loads_the_controller_and_nothing_of_the_workshop_plots_or_cryptography(kubeconfig: Path) -> None:
    loaded = loaded_top_level(PMO_RUN, kubeconfig)
    # It did load the operator (so the check below is about the real thing).
    assert {"provider_migration.controller.handlers", "provider_migration.controller.wiring", "kopf"} <= loaded
    assert sorted(loaded & set(FORBIDDEN)) == []


def test_the_check_sees_a_leak(kubeconfig: Path) -> None:
    """The same check flags the plotting stack as soon as a module that plots is imported."""
    pytest.importorskip("matplotlib")
    loaded = loaded_top_level(PMO_RUN + "\nimport provider_migration.reporting.plots\n", kubeconfig)
    assert "matplotlib" in loaded
