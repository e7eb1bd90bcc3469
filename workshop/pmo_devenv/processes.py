"""Child processes that never outlive their owner.

Each server runs in its own session (so a terminal's Ctrl-C does not hit it and its whole process group
can be signalled). Attached processes are also killed by the kernel if the Python process dies,
even by SIGKILL (PR_SET_PDEATHSIG), and by atexit / SIGTERM handlers on a normal or signalled exit.
Detached ones (`pmo dev up`) survive the CLI and are stopped later by pid through `stop_pid`.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

_PR_SET_PDEATHSIG = 1
_live: set[ManagedProcess] = set()
_lock = threading.Lock()
_atexit_registered = False
_sigterm_installed = False


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str | Path],
        log_path: Path,
        *,
        detached: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.env = dict(env) if env is not None else None  # None: inherit ours
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self.detached = detached
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} not started"
        return self.popen.pid

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        parent = os.getpid()
        # PDEATHSIG fires when the *thread* that forked exits, so only the main thread may use it.
        main = threading.current_thread() is threading.main_thread()
        preexec = _die_with_parent(parent) if main and not self.detached else None
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=preexec,
                close_fds=True,
                env=self.env,
            )
        if not self.detached:
            _install_handlers()
            with _lock:
                _live.add(self)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is not None:
            _signal_group(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
            # The group may hold children the leader left behind.
            _signal_group(self.popen.pid, signal.SIGKILL)
        with _lock:
            _live.discard(self)


def _die_with_parent(parent: int):  # type: ignore[no-untyped-def]
    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_all() -> None:
    with _lock:
        procs = list(_live)
    for p in procs:
        with contextlib.suppress(Exception):
            p.stop(timeout=5)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    global _atexit_registered, _sigterm_installed
    if not _atexit_registered:
        _atexit_registered = True
        atexit.register(stop_all)
    # Signal handlers can only be set from the main thread; elsewhere atexit still holds.
    if not _sigterm_installed and threading.current_thread() is threading.main_thread():
        _sigterm_installed = True
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):  # never override the app's own
            signal.signal(signal.SIGTERM, _on_sigterm)


# --- processes known only by pid (started detached by an earlier `pmo dev up`) ---


def pid_matches(pid: int, executable: str) -> bool:
    """True if pid is alive (not a zombie) and still runs `executable` (guards against pid reuse)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except (OSError, UnicodeDecodeError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state != "Z" and argv0 == executable


def stop_pid(pid: int, executable: str, timeout: float = 10.0) -> None:
    if not pid_matches(pid, executable):
        return
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_matches(pid, executable):
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)
