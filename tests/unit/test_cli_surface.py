"""The kubectl-grade surface of `pmo`: global flags, --version, -o everywhere, get -w/-l/-o wide, completion,
closed pipes, unreadable files and kubeconfigs, connection errors in words. No cluster: the client is stubbed
(tests/e2e/test_cli.py runs the same commands against a real API server)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import urllib3

from provider_migration.cli import migrations
from provider_migration.cli.completion import script
from provider_migration.cli.kubeclient import ClusterError
from provider_migration.cli.main import build_parser, main
from provider_migration.connection_errors import cause, unable_to_connect
from provider_migration.views import terminal
from provider_migration.views.migration import Migration

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "operator"), str(REPO / "workshop")])}
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SPEC: dict[str, Any] = {
    "route": {"kind": "ConfigMap", "name": "gw", "modelName": "chat"},
    "source": {"provider": "openai", "model": "gpt-4o", "backend": "a"},
    "target": {"provider": "anthropic", "model": "claude", "backend": "b"},
    "strategy": {"type": "Phased", "steps": [{"weight": 10}, {"weight": 50}, {"weight": 100}]},
}


def obj(name: str, rv: str, **status: Any) -> dict[str, Any]:
    meta = {"name": name, "namespace": "shop", "resourceVersion": rv, "creationTimestamp": "2025-12-31T23:00:00Z"}
    return {"metadata": meta, "spec": SPEC, "status": status}


class FakeMigrations:
    """Answers list calls from a script of snapshots; raises KeyboardInterrupt (Ctrl-C) when it runs out."""

    def __init__(self, snapshots: list[list[dict[str, Any]]]) -> None:
        self.snapshots, self.namespace = snapshots, "shop"
        self.selectors: list[str | None] = []

    def list_objects(self, all_namespaces: bool = False, selector: str | None = None) -> list[dict[str, Any]]:
        self.selectors.append(selector)
        if not self.snapshots:
            raise KeyboardInterrupt
        return self.snapshots.pop(0)

    def get(self, name: str) -> dict[str, Any]:
        return self.list_objects()[0]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> list[FakeMigrations]:
    made: list[FakeMigrations] = []

    def install(snapshots: list[list[dict[str, Any]]]) -> FakeMigrations:
        made.append(FakeMigrations(snapshots))
        monkeypatch.setattr(migrations, "_migrations", lambda args: made[-1])
        return made[-1]

    monkeypatch.setattr(migrations, "_now", lambda: NOW)
    return install  # type: ignore[return-value]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.startswith("pmo 0.")


@pytest.mark.parametrize(
    "argv",
    [
        ["-n", "shop", "--context", "c1", "--kubeconfig", "/k", "get"],
        ["--kubeconfig", "/k", "get", "-n", "shop", "--context", "c1"],
    ],
)
def test_global_flags_before_the_subcommand_as_kubectl_takes_them(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str | None, ...]] = []

    def connect(kubeconfig: str | None, context: str | None, namespace: str | None) -> Any:
        seen.append((kubeconfig, context, namespace))
        raise ClusterError("stop here")

    monkeypatch.setattr(migrations, "connect", connect)
    assert main(argv) == 1
    assert seen == [("/k", "c1", "shop")]


def test_a_subcommand_flag_wins_over_the_global_one_and_run_gets_a_list() -> None:
    parser = build_parser(["migrations", "run"])
    from provider_migration.cli.main import _apply_global_flags

    args = parser.parse_args(["-n", "outer", "get", "-n", "inner"])
    _apply_global_flags(args)
    assert args.namespace == "inner"
    args = parser.parse_args(["-n", "shop", "run"])
    _apply_global_flags(args)
    assert args.namespace == ["shop"]


def test_o_is_an_output_format_in_every_command() -> None:
    parser = build_parser()
    for name, sub in next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices.items():
        for action in sub._actions:
            if "-o" in action.option_strings:
                assert action.dest in ("output", "format"), f"pmo {name} -o is {action.dest}"
                assert "FILE" not in (action.metavar or ""), f"pmo {name} -o takes a file"


def test_wide_adds_reason_and_message_and_step_counts_from_one() -> None:
    mig = Migration.from_object(obj("bot", "1", phase="Progressing", currentStep=1, currentWeight=50, reason="Ok"))
    header, (row,) = terminal.table_rows([mig], NOW, wide=True)
    assert header == ["NAME", "PHASE", "STEP", "WEIGHT", "SOURCE", "TARGET", "REASON", "TEMPLATE", "AGE", "MESSAGE"]
    assert row[:4] == ["bot", "Progressing", "2/3", "50%"] and row[6:9] == ["Ok", "<none>", "60m"]
    header, (row,) = terminal.table_rows([Migration.from_object(obj("new", "1"))], NOW)
    assert "REASON" not in header and row[2] == "0/3"


def test_get_passes_the_label_selector_and_refuses_it_with_a_name(
    fake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    client = fake([[obj("bot", "1", phase="Pending")]])
    assert main(["get", "-l", "app=chat,tier!=batch", "-o", "name"]) == 0
    assert client.selectors == ["app=chat,tier!=batch"]
    assert capsys.readouterr().out == "providermigration.migrations.llmops.dev/bot\n"
    assert main(["get", "bot", "-l", "app=chat"]) == 2
    assert "label selector" in capsys.readouterr().err


def test_get_watch_prints_all_then_each_change_once(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    a1, b1 = obj("a", "1", phase="Pending"), obj("b", "1", phase="Progressing", currentStep=0, currentWeight=10)
    b2 = obj("b", "2", phase="Progressing", currentStep=1, currentWeight=50)
    fake([[a1, b1], [a1, b1], [a1, b2], [a1, b2]])
    assert main(["get", "-w", "--interval", "0"]) == 130  # ends on Ctrl-C, as kubectl get -w does
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:4] for line in lines] == [
        ["NAME", "PHASE", "STEP", "WEIGHT"],
        ["a", "Pending", "0/3", "0%"],
        ["b", "Progressing", "1/3", "10%"],
        ["b", "Progressing", "2/3", "50%"],
    ]


def test_get_watch_of_nothing_says_so_once_then_shows_the_first_arrival(
    fake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    fake([[], [], [], [obj("a", "1", phase="Pending")]])
    assert main(["get", "-w", "--interval", "0"]) == 130
    out, err = capsys.readouterr()
    assert err.count("No resources found in shop namespace.") == 1
    assert [line.split()[:2] for line in out.splitlines()] == [["NAME", "PHASE"], ["a", "Pending"]]


def test_get_watch_json_prints_one_object_per_change(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    fake([[obj("a", "1")], [obj("a", "1")], [obj("a", "2")]])
    assert main(["get", "-w", "-o", "json", "--interval", "0"]) == 130
    out = capsys.readouterr().out
    assert out.count('"resourceVersion": "1"') == 1 and out.count('"resourceVersion": "2"') == 1


def test_a_closed_pipe_ends_quietly() -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte: every write fails with EPIPE
    done = subprocess.run(
        [sys.executable, "-m", "provider_migration.cli.main", "crds"],
        stdout=write,
        stderr=subprocess.PIPE,
        env=ENV,
        timeout=120,
        check=False,
    )
    os.close(write)
    assert done.returncode == 141, done.stderr
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr


def test_a_binary_or_broken_manifest_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = tmp_path / "model.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec: [unclosed\n")
    for path, expected in ((binary, "not UTF-8 text"), (broken, "not valid YAML at line 2")):
        for command in ("simulate", "plan", "eval"):
            assert main([command, "-f", str(path)]) == (1 if path == binary and command != "eval" else 2)
            err = capsys.readouterr().err
            assert expected in err and err.count("\n") == 1, (command, err)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"clusters: [unclosed\n", "not valid YAML at line 2"),
        (bytes(range(256)), "not UTF-8 text"),
        (b"- just\n- a list\n", "not a kubeconfig"),
    ],
)
def test_an_invalid_kubeconfig_is_one_line(
    content: bytes, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config"
    path.write_bytes(content)
    assert main(["get", "--kubeconfig", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f'pmo get: error loading config file "{path}"') and expected in err and err.count("\n") == 1


def _failure(url: str) -> BaseException:
    try:
        urllib3.PoolManager(retries=urllib3.Retry(1)).request("GET", url, timeout=5)
    except urllib3.exceptions.HTTPError as e:
        return e
    raise AssertionError(f"{url} answered")


def test_connection_errors_read_like_kubectl() -> None:
    refused = _failure("http://127.0.0.1:1/api")
    assert cause(refused) == "connection refused"
    assert unable_to_connect(refused) == "Unable to connect to the server 127.0.0.1:1: connection refused"
    unknown = _failure("http://no-such-host.invalid/api")
    assert cause(unknown) == "lookup no-such-host.invalid: no such host"
    assert "Pool(" not in unable_to_connect(unknown) and "0x" not in unable_to_connect(unknown)


def _complete(tmp_path: Path, words: list[str]) -> list[str]:
    """Run the generated bash function as bash would on <TAB> and return COMPREPLY."""
    path = tmp_path / "pmo.bash"
    path.write_text(script(build_parser(), "bash"))
    line = " ".join(f"'{w}'" for w in words)
    code = f'source {path}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _pmo_complete; echo "${{COMPREPLY[*]}}"'
    done = subprocess.run(["bash", "-c", code], capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.split()


def test_bash_completion_offers_commands_flags_and_formats(tmp_path: Path) -> None:
    assert {"get", "watch", "approve", "report", "completion"} <= set(_complete(tmp_path, ["pmo", ""]))
    assert _complete(tmp_path, ["pmo", "ap"]) == ["approve"]
    assert {"--watch", "--selector", "--output"} <= set(_complete(tmp_path, ["pmo", "-n", "x", "get", "--"]))
    assert _complete(tmp_path, ["pmo", "get", "-o", ""]) == ["wide", "json", "yaml", "name"]
    assert _complete(tmp_path, ["pmo", "report", "x", "-o", ""]) == ["html", "markdown"]


def test_zsh_completion_loads_the_same_script_through_bashcompinit() -> None:
    text = script(build_parser(), "zsh")
    assert text.startswith("autoload -U +X bashcompinit && bashcompinit\n")
    assert text.split("\n", 2)[2] == script(build_parser(), "bash").split("\n", 1)[1]


def test_status_line_and_age_use_the_one_based_step() -> None:
    mig = Migration.from_object(obj("bot", "1", phase="Succeeded", currentStep=2, currentWeight=100))
    assert "step 3/3" in terminal.status_line(mig, NOW + timedelta(0))
