"""Small HTTP plumbing shared by the simulators (test and demo tooling only)."""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol


class QuietServer(ThreadingHTTPServer):
    # Daemon handler threads: a handler sleeping to simulate latency never blocks stop() or exit.
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients dropping keep-alive connections (e.g. at stop) are normal here; anything else is a bug.
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class QuietServer6(QuietServer):
    address_family = socket.AF_INET6


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, keep-alive clients stall ~40 ms each.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        # Silent on purpose: default access logs are noise in tests, and headers may carry keys.
        pass

    def read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        return json.loads(raw)

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(body).encode(), "application/json", headers)

    def send_bytes(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class BackgroundServer:
    """Runs an HTTP server on a daemon thread; `stop()` is idempotent and quick."""

    def __init__(self, server: QuietServer, name: str) -> None:
        self.server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name)
        self._thread.daemon = True
        self._started = False

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def stop(self) -> None:
        if self._started:
            self._started = False
            self.server.shutdown()
            self._thread.join(timeout=5)
        self.server.server_close()


def make_server(host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> QuietServer:
    if ":" in host:
        return QuietServer6((host, port), handler)
    return QuietServer((host, port), handler)


def url_for(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Service(Protocol):
    def start(self) -> object: ...
    def stop(self) -> object: ...


def serve_until_terminated(service: Service, announce: dict[str, Any]) -> int:
    """A simulator's `main`: start it, print where it listens (one JSON line), run until SIGTERM or Ctrl-C."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    service.start()
    print(json.dumps(announce), flush=True)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
    return 0
