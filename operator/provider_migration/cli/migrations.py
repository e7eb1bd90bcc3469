"""`pmo get|status|watch|promote|approve|abort|retry|pause|resume` (also `kubectl migration ...`).

promote, approve, abort and retry set the annotation `migrations.llmops.dev/<command>` to a fresh request
id; the operator acts on it once and records the id in `status.handledCommands.<command>` (`--wait` waits
for that). pause and resume set `spec.paused`. Each command checks the phase first and refuses what
the operator would ignore, unless `--force`.

Exit codes:
  0  ok (watch: the migration Succeeded)
  1  error: cluster unreachable, request refused by the API server, anything unexpected;
     watch: the migration ended RolledBack or Failed
  2  usage error
  3  the ProviderMigration was not found
  4  refused: the command makes no sense in the migration's current phase (override with --force)
  5  timed out (--wait, watch --timeout)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

import yaml
from rich.console import Console
from rich.live import Live

from provider_migration.api.constants import API_VERSION, command_annotation
from provider_migration.api.durations import seconds
from provider_migration.api.status import TERMINAL_PHASES, Phase
from provider_migration.core.commands import ACTS_IN, Command
from provider_migration.safetext import inert
from provider_migration.views import terminal as render
from provider_migration.views.migration import Migration

from .kubeclient import ClusterError, Conflict, Migrations, NotFound, connect


class Exit(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    REFUSED = 4
    TIMEOUT = 5


EXIT_CODES_HELP = """\
exit codes:
  0  ok (watch: the migration Succeeded)
  1  error (cluster unreachable, API error, unexpected); watch: ended RolledBack or Failed
  2  usage error
  3  ProviderMigration not found
  4  refused in the current phase (see --force)
  5  timed out waiting (--wait, --timeout)
"""

COMMAND_HELP = {
    "promote": "end the current pause (or the stabilization window) and go on",
    "approve": "pass the approval gate the migration is waiting at",
    "abort": "roll back now: all traffic back to the source",
    "retry": "start again from the first step after a rollback or failure",
}
WAIT_DEFAULT = "2m"


class Refused(Exception):
    pass


class TimedOut(Exception):
    pass


# ----- pure helpers ------------------------------------------------------------------------------------


def refusal(command: str, mig: Migration) -> str | None:
    """Why `command` makes no sense for `mig` now, or None when the operator will act on it."""
    phase = mig.known_phase
    allowed = ACTS_IN[Command(command)]
    if phase is None:
        return f"{mig.name} is in phase {mig.phase!r}, unknown to this pmo version"
    if phase not in allowed:
        excluded = [p.value for p in Phase if p not in allowed]
        when = (
            f"in any phase but {', '.join(excluded)}"
            if len(excluded) < len(allowed)
            else f"only when it is {' or '.join(p.value for p in Phase if p in allowed)}"
        )
        return f"{mig.name} is {phase.value}; {command} applies {when}"
    if command == "promote" and mig.spec is not None and mig.spec.paused:
        return f"{mig.name} is paused by spec.paused; use `resume` instead"
    return None


def request_id(now_ns: int) -> str:
    """An RFC 3339 UTC timestamp with nanoseconds: unique per request and readable in `kubectl describe`."""
    whole, nanos = divmod(now_ns, 1_000_000_000)
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def parse_timeout(text: str) -> float:
    """`90`, `1.5`, `30s`, `5m`, `1h` -> seconds (argparse type; 0 means no timeout)."""
    try:
        value = float(text)
    except ValueError:
        try:
            return float(seconds(text))
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid duration {text!r} (e.g. 90, 30s, 5m, 1h)") from None
    if value < 0:
        raise argparse.ArgumentTypeError("a timeout cannot be negative")
    return value


# ----- cluster helpers ---------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _migrations(args: argparse.Namespace) -> Migrations:
    return Migrations(connect(args.kubeconfig, args.context, args.namespace))


def _wait_for(
    migs: Migrations, name: str, done: Callable[[Migration], bool], timeout: float, interval: float
) -> Migration:
    """Poll until `done(migration)`; raises TimedOut (timeout 0: never) or NotFound if it is deleted."""
    deadline = time.monotonic() + timeout if timeout > 0 else None
    told = ""
    while True:
        mig = Migration.from_object(migs.get(name))
        if done(mig):
            return mig
        failing = render.failure_text(mig.status)
        if failing and failing != told:
            told = failing  # what keeps the operator from getting there, as soon as it is recorded
            sys.stderr.write(inert(f"{name}: the operator keeps retrying: {failing}") + "\n")
        if deadline is not None and time.monotonic() >= deadline:
            why = f"; {failing}" if failing else ""
            raise TimedOut(f"timed out after {timeout:g}s waiting for {name} (phase {mig.phase}{why})")
        time.sleep(interval if deadline is None else max(min(interval, deadline - time.monotonic()), 0))


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# ----- commands ----------------------------------------------------------------------------------------


def _get_objects(migs: Migrations, args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.name:
        return [migs.get(args.name)]
    return migs.list_objects(all_namespaces=args.all_namespaces, selector=args.selector)


def _write_objects(objects: list[dict[str, Any]], output: str, single: bool) -> None:
    """-o json|yaml|name, as kubectl prints them (one object for a NAME, else a List)."""
    if output == "name":
        group = API_VERSION.split("/")[0]
        sys.stdout.writelines(f"providermigration.{group}/{o['metadata']['name']}\n" for o in objects)
        return
    data: Any = objects[0] if single else {"apiVersion": "v1", "kind": "List", "items": objects}
    if output == "json":
        _emit_json(data)
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False))


def cmd_get(args: argparse.Namespace) -> int:
    if args.name and args.all_namespaces:
        raise argparse.ArgumentTypeError("a NAME cannot be combined with --all-namespaces")
    if args.name and args.selector:
        raise argparse.ArgumentTypeError("a NAME cannot be combined with a label selector (-l)")
    migs = _migrations(args)
    objects = _get_objects(migs, args)
    if args.watch:
        return _watch_list(migs, args, objects)
    if args.output in ("json", "yaml", "name"):
        _write_objects(objects, args.output, single=bool(args.name))
        return Exit.OK
    if not objects:
        _no_resources(migs, args)
        return Exit.OK
    sys.stdout.write(
        render.table(_sorted(objects), _now(), all_namespaces=args.all_namespaces, wide=args.output == "wide")
    )
    return Exit.OK


def _sorted(objects: list[dict[str, Any]]) -> list[Migration]:
    return sorted((Migration.from_object(o) for o in objects), key=lambda m: (m.namespace, m.name))


def _no_resources(migs: Migrations, args: argparse.Namespace) -> None:
    where = "any namespace" if args.all_namespaces else f"{migs.namespace} namespace"
    print(f"No resources found in {where}.", file=sys.stderr)


def _watch_list(migs: Migrations, args: argparse.Namespace, objects: list[dict[str, Any]]) -> int:
    """`get -w`: everything once, then each migration again whenever it changes (kubectl's -w), until
    --timeout or Ctrl-C. Polls the list: one request per --interval whatever the number of migrations."""
    deadline = time.monotonic() + args.timeout if args.timeout > 0 else None
    seen: dict[tuple[str, str], str | None] = {}
    widths: list[int] | None = None
    first, announced = True, False
    while True:
        changed = [o for o in objects if seen.get(_key(o)) != o["metadata"].get("resourceVersion")]
        seen.update({_key(o): o["metadata"].get("resourceVersion") for o in objects})
        if first and not objects and not announced and args.output not in ("json", "yaml", "name"):
            _no_resources(migs, args)  # once, as kubectl get -w says it, then waits for the first one
            announced = True
        if changed:
            if args.output in ("json", "yaml", "name"):
                for o in changed:
                    if args.output == "yaml":
                        sys.stdout.write("---\n")
                    _write_objects([o], args.output, single=True)
            else:
                header, rows = render.table_rows(
                    _sorted(changed), _now(), all_namespaces=args.all_namespaces, wide=args.output == "wide"
                )
                widths = render.column_widths([header, *rows], widths)
                sys.stdout.write(render.format_rows([header, *rows] if first else rows, widths))
            first = False
            sys.stdout.flush()
        if deadline is not None and time.monotonic() >= deadline:
            return Exit.OK  # kubectl get -w --request-timeout ends quietly too
        time.sleep(args.interval if deadline is None else max(min(args.interval, deadline - time.monotonic()), 0))
        objects = _get_objects(migs, args)


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def cmd_status(args: argparse.Namespace) -> int:
    mig = Migration.from_object(_migrations(args).get(args.name))
    if args.output == "json":
        _emit_json(render.summary(mig))
    elif args.output == "yaml":
        sys.stdout.write(yaml.safe_dump(json.loads(json.dumps(render.summary(mig), default=str)), sort_keys=False))
    else:
        Console().print(render.status_view(mig, _now(), history=args.history))
    return Exit.OK


def _watch_exit(mig: Migration) -> int:
    return Exit.OK if mig.known_phase == Phase.SUCCEEDED else Exit.ERROR


def cmd_watch(args: argparse.Namespace) -> int:
    migs = _migrations(args)
    deadline = time.monotonic() + args.timeout if args.timeout > 0 else None
    console = Console()
    last_version: str | None = None

    def finished(mig: Migration) -> bool:
        return mig.known_phase in TERMINAL_PHASES

    def timed_out() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    if args.output == "json" or not console.is_terminal:
        # One record per change: JSON lines for scripts, a summary line for logs.
        while True:
            mig = Migration.from_object(migs.get(args.name))
            if mig.resource_version != last_version:
                last_version = mig.resource_version
                if args.output == "json":
                    sys.stdout.write(json.dumps(render.summary(mig), default=str) + "\n")
                else:
                    sys.stdout.write(render.status_line(mig, _now()) + "\n")
                sys.stdout.flush()
            if finished(mig):
                return _watch_exit(mig)
            if timed_out():
                raise TimedOut(f"timed out after {args.timeout:g}s; {args.name} is {mig.phase}")
            time.sleep(args.interval)
    mig = Migration.from_object(migs.get(args.name))
    with Live(render.watch_view(mig, _now()), console=console, auto_refresh=False) as live:
        while not finished(mig):
            if timed_out():
                raise TimedOut(f"timed out after {args.timeout:g}s; {args.name} is {mig.phase}")
            time.sleep(args.interval)
            mig = Migration.from_object(migs.get(args.name))
            live.update(render.watch_view(mig, _now()), refresh=True)
    return _watch_exit(mig)


def _send(migs: Migrations, name: str, command: str, force: bool) -> tuple[str, Migration]:
    """Annotate with a fresh request id, guarded by the resourceVersion the phase check was made on."""
    for _ in range(5):
        mig = Migration.from_object(migs.get(name))
        if not force and (why := refusal(command, mig)):
            raise Refused(why)
        rid = request_id(time.time_ns())
        body = {"metadata": {"annotations": {command_annotation(command): rid}}}
        try:
            migs.patch(name, body, resource_version=None if force else mig.resource_version)
        except Conflict:
            continue  # status moved on between the check and the patch: check again
        return rid, mig
    raise ClusterError(f"{name} kept changing while sending {command}; try again")


def cmd_command(args: argparse.Namespace) -> int:
    command, migs = args.command, _migrations(args)
    rid, mig = _send(migs, args.name, command, args.force)
    handled: bool | None = None
    if args.wait:
        mig = _wait_for(migs, args.name, lambda m: m.handled(command) == rid, args.timeout, args.interval)
        handled = True
        ignored = [h.message for h in mig.status.history if h.reason == "CommandIgnored" and h.message]
        why = next((m for m in ignored if f"(request {rid})" in m), None)
        if why is not None:  # the operator handled it as ignored: the phase does not act on it
            sys.stderr.write(inert(f"{mig.namespace}/{mig.name}: {why}") + "\n")
            return Exit.REFUSED
    if args.output == "json":
        _emit_json(
            {
                "name": mig.name,
                "namespace": mig.namespace,
                "command": command,
                "requestId": rid,
                "handled": handled,
                "phase": mig.phase,
            }
        )
    elif handled:
        print(
            f"{command} {mig.namespace}/{mig.name}: handled by the operator (request {rid}); phase {inert(mig.phase)}"
        )
    else:
        print(f"{command} {mig.namespace}/{mig.name}: requested (request {rid})")
    return Exit.OK


def cmd_pause(args: argparse.Namespace) -> int:
    command, migs = args.command, _migrations(args)
    want = command == "pause"
    obj = migs.get(args.name)
    mig = Migration.from_object(obj)
    if bool((obj.get("spec") or {}).get("paused", False)) == want:
        print(f"{mig.namespace}/{mig.name} is already {'paused' if want else 'not paused'}")
        return Exit.OK
    if not args.force and (why := refusal(command, mig)):
        raise Refused(why)
    migs.patch(args.name, {"spec": {"paused": want}})
    print(f"{command}d {mig.namespace}/{mig.name} (spec.paused={str(want).lower()})")
    return Exit.OK


# ----- wiring -----------------------------------------------------------------------------------------


def _prog() -> str:
    return "kubectl migration" if os.path.basename(sys.argv[0]).startswith("kubectl-") else "pmo"


def _guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn the expected failures into a one-line message and the documented exit code."""

    def run(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except NotFound as e:
            code, message = Exit.NOT_FOUND, f"{e}"
        except Refused as e:
            code, message = Exit.REFUSED, f"refused: {e} (--force sends it anyway)"
        except TimedOut as e:
            code, message = Exit.TIMEOUT, str(e)
        except ClusterError as e:
            code, message = Exit.ERROR, str(e)
        except argparse.ArgumentTypeError as e:
            code, message = Exit.USAGE, str(e)
        except KeyboardInterrupt:
            return 130
        print(f"{_prog()} {args.command}: {inert(message)}", file=sys.stderr)
        return code

    return run


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's, else default)")
    common.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)")
    common.add_argument("--context", help="kubeconfig context (default: the current context)")
    return common


def _waiting(parser: argparse.ArgumentParser, what: str, default: str) -> None:
    parser.add_argument(
        "--timeout",
        type=parse_timeout,
        default=parse_timeout(default),
        help=f"give up {what} after this long (90, 30s, 5m; 0: never; default {default})",
    )
    parser.add_argument("--interval", type=parse_timeout, default=1.0, help="poll interval (default 1s)")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    common = _common()

    def add(name: str, help_: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(
            name,
            help=help_,
            description=help_,
            parents=[common],
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.set_defaults(func=_guarded(func))
        return parser

    get = add("get", "list ProviderMigrations (or show one)", cmd_get)
    get.add_argument("name", nargs="?", metavar="NAME")
    get.add_argument("-A", "--all-namespaces", action="store_true", help="list across all namespaces")
    get.add_argument(
        "-o", "--output", choices=["wide", "json", "yaml", "name"], help="wide: add REASON and MESSAGE; or the objects"
    )
    get.add_argument("-l", "--selector", metavar="SELECTOR", help="label selector, e.g. app=chat,tier!=batch")
    get.add_argument("-w", "--watch", action="store_true", help="after listing, print each migration again on change")
    _waiting(get, "watching", "0")

    status = add("status", "phase, step, traffic split and last analysis of a migration", cmd_status)
    status.add_argument("name", metavar="NAME")
    status.add_argument("-o", "--output", choices=["json", "yaml"], help="print the status as JSON or YAML")
    status.add_argument("--history", type=int, default=5, help="history entries to show (default 5)")

    watch = add("watch", "follow a migration live until it Succeeds (exit 0) or ends RolledBack/Failed (1)", cmd_watch)
    watch.add_argument("name", metavar="NAME")
    watch.add_argument("-o", "--output", choices=["json"], help="one JSON status per change (JSON lines)")
    _waiting(watch, "watching", "0")

    for command, help_ in COMMAND_HELP.items():
        parser = add(command, help_, cmd_command)
        parser.add_argument("name", metavar="NAME")
        parser.add_argument("--force", action="store_true", help="send even when the phase says it makes no sense")
        parser.add_argument("--wait", action="store_true", help="wait until the operator has handled the request")
        parser.add_argument("-o", "--output", choices=["json"], help="print the request id and outcome as JSON")
        _waiting(parser, "waiting", WAIT_DEFAULT)

    for command, help_ in (
        ("pause", "hold the migration at its current step (spec.paused=true)"),
        ("resume", "continue a migration paused with `pause` (spec.paused=false)"),
    ):
        parser = add(command, help_, cmd_pause)
        parser.add_argument("name", metavar="NAME")
        parser.add_argument("--force", action="store_true", help="set spec.paused whatever the phase")
