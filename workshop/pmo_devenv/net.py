"""Loopback ports and readiness polling."""

from __future__ import annotations

import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from .processes import ManagedProcess


def free_port() -> int:
    """A free loopback port. Racy by nature, but the window between this and the bind is short."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, context: ssl.SSLContext | None = None, timeout: float = 2.0) -> tuple[int, str]:
    """(status, body); status 0 when the server is not reachable."""
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


def wait_until(
    ready: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    process: ManagedProcess | None = None,
    interval: float = 0.2,
) -> None:
    """Polls `ready` until true; fails fast (with the log tail) if `process` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        if ready():
            return
        if process is not None and not process.alive():
            raise RuntimeError(
                f"{process.name} exited while waiting for {what}; log {process.log_path}:\n{process.log_tail()}"
            )
        if time.monotonic() > deadline:
            tail = f"; log {process.log_path}:\n{process.log_tail()}" if process else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
        time.sleep(interval)
