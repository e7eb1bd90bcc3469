"""Untrusted text (anyone who may create a migration writes spec and, through the operator, status) is inert
on a terminal: control sequences are shown, not executed, and rich markup is shown, not interpreted."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console, RenderableType

from provider_migration.planning.render import Section, print_rich
from provider_migration.safetext import inert
from provider_migration.views import terminal as render
from provider_migration.views.migration import Migration

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TITLE = "\x1b]0;pwned\x07"  # OSC 0: set the window title
CLEAR = "\x1b[2J\x1b[H"  # clear the screen, cursor home
COLOUR = "\x1b[31mred\x1b[0m"
LINK = "[link=https://evil.example]click me[/link]"
HYPERLINK = "\x1b]8;;https://evil.example\x1b\\spoof\x1b]8;;\x1b\\"  # OSC 8, written raw
BIDI = "safe\u202eexe.txt"
HOSTILE = f"{TITLE}{CLEAR}{COLOUR} {LINK} {HYPERLINK} {BIDI} [bold red]Succeeded[/]\r\noverwritten"


def migration() -> Migration:
    ts = (NOW - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    spec = {
        "route": {"kind": "ConfigMap", "name": "gw", "modelName": f"chat{TITLE}"},
        "source": {"provider": "openai", "model": f"gpt-4o{CLEAR}", "backend": "openai"},
        "target": {"provider": "anthropic", "model": f"claude {LINK}", "backend": "claude"},
        "strategy": {"type": "Phased", "steps": [{"approval": {"message": HOSTILE}}, {"weight": 100}]},
    }
    status = {
        "phase": "Blocked",
        "reason": f"RouteNotFound{COLOUR}",
        "message": HOSTILE,
        "currentStep": 0,
        "rollbackReason": HOSTILE,
        "history": [{"time": ts, "phase": "Blocked", "step": 0, "weight": 0, "reason": "Blocked", "message": HOSTILE}],
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "Blocked", "message": HOSTILE, "lastTransitionTime": ts}
        ],
        "lastAnalysis": {
            "time": ts,
            "verdict": "Inconclusive",
            "criteria": [{"name": "errorRate", "verdict": "Inconclusive", "message": HOSTILE}],
        },
    }
    meta = {"name": "bot", "namespace": "support", "creationTimestamp": ts, "generation": 1}
    annotations = {"migrations.llmops.dev/approve": f"req{TITLE}"}
    return Migration.from_object({"metadata": {**meta, "annotations": annotations}, "spec": spec, "status": status})


def terminal_output(renderable: RenderableType) -> str:
    """What a real terminal would receive (colours on, hyperlinks supported)."""
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="truecolor", width=400).print(renderable)
    return out.getvalue()


def assert_inert(raw: str) -> None:
    assert "\x1b]" not in raw, "an OSC sequence (title, hyperlink) reached the terminal"
    assert "\x1b[2J" not in raw and "\x1b[H" not in raw
    assert "\x1b[31mred" not in raw
    assert "\x07" not in raw and "\r" not in raw and "\u202e" not in raw
    assert "evil.example" not in raw or "[link=https://evil.example]" in raw  # shown as text, never as a link


@pytest.mark.parametrize("view", ["status", "watch"])
def test_status_and_watch_show_control_sequences_and_markup_as_text(view: str) -> None:
    mig = migration()
    renderable = render.status_view(mig, NOW) if view == "status" else render.watch_view(mig, NOW)
    raw = terminal_output(renderable)
    assert_inert(raw)
    assert "^[]0;pwned\\x07" in raw and "^[[2J" in raw  # visible, as kubectl shows them
    assert LINK in raw and "[bold red]Succeeded[/]" in raw  # the markup itself, not its effect
    assert "\\u202e" in raw


def test_get_table_and_status_line_escape_every_cell() -> None:
    mig = migration()
    for raw in (
        render.table([mig], NOW, all_namespaces=True, wide=True),
        render.status_line(mig, NOW),
    ):
        assert "\x1b" not in raw and "\r" not in raw and "\x07" not in raw and "\u202e" not in raw
        assert raw.count("\n") <= 2  # one line per row: an embedded newline cannot forge a row
    assert "^[]0;pwned" in render.table([mig], NOW, wide=True)


def test_rich_tables_of_plan_and_eval_output_do_not_interpret_markup() -> None:
    out = io.StringIO()
    print_rich(
        [Section("Models", ["model", "note"], [[f"claude {LINK}", HOSTILE]], footnotes=[HOSTILE])],
        Console(file=out, force_terminal=True, width=400),
    )
    raw = out.getvalue()
    assert_inert(raw)
    assert LINK in raw


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, ünïcødé, emoji 🚀", "plain text, ünïcødé, emoji 🚀"),
        ("\x1b[2J", "^[[2J"),
        ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
        ("\x00\x7f\x9b", "\\x00\\x7f\\u009b"),  # NUL, DEL and the C1 CSI
        ("abc\u202edef", "abc\\u202edef"),
    ],
)
def test_inert_escapes_what_a_terminal_would_act_on(text: str, shown: str) -> None:
    assert inert(text) == shown


def test_inert_keeps_newlines_when_asked() -> None:
    assert inert("one\ntwo\x1b", multiline=True) == "one\ntwo^["
