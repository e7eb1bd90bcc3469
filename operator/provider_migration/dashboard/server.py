"""The dashboard's HTTP server (stdlib only): the page, a server-sent-events stream of every migration
(from a watch, so changes show without reloading) and the command buttons.

Every request to the API server is made with the user's kubeconfig, so their RBAC decides: a refusal is
shown with the API server's own reason. Commands need the per-run token the page was served with in a
header, which a page from another origin cannot send (it would need a CORS preflight this server never
grants), so another website cannot press the buttons through the user's browser.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from kubernetes import client, watch

from provider_migration.api.constants import GROUP, PLURAL, VERSION
from provider_migration.cli.kubeclient import ClusterError, Connection, Migrations
from provider_migration.cli.migrations import Refused, _send

from .model import BUTTONS, summary

log = logging.getLogger(__name__)
COMMAND_PATH = re.compile(r"^/api/migrations/([a-z0-9.-]+)/([a-z0-9.-]+)/([a-z]+)$")
WATCH_SECONDS = 25  # a watch ends this often; the stream then re-lists (and notices a closed page)


class Dashboard:
    def __init__(self, api: client.CustomObjectsApi, namespace: str | None) -> None:
        self.api, self.namespace = api, namespace  # namespace None: all namespaces
        self.token = secrets.token_urlsafe(24)

    def _list(self, **kwargs: Any) -> Any:
        if self.namespace is None:
            return self.api.list_cluster_custom_object(GROUP, VERSION, PLURAL, **kwargs)
        return self.api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, **kwargs)

    def snapshots(self) -> Iterator[list[dict[str, Any]]]:
        """Every migration, again after each change: a list, then a watch from its resourceVersion."""
        while True:
            listed = self._list()
            objects = {_key(o): o for o in listed.get("items") or []}
            yield _summaries(objects)
            stream = watch.Watch().stream(
                self._list, resource_version=listed["metadata"]["resourceVersion"], timeout_seconds=WATCH_SECONDS
            )
            for event in stream:
                obj = event["object"]
                if event["type"] == "DELETED":
                    objects.pop(_key(obj), None)
                elif event["type"] in ("ADDED", "MODIFIED"):
                    objects[_key(obj)] = obj
                else:
                    break  # ERROR (resourceVersion too old): list again
                yield _summaries(objects)

    def command(self, namespace: str, name: str, command: str) -> tuple[int, str]:
        if command not in BUTTONS:
            return HTTPStatus.NOT_FOUND, f"unknown command {command}"
        migs = Migrations(Connection(self.api, namespace))
        try:
            request_id, _ = _send(migs, name, command, force=False)
        except Refused as e:
            return HTTPStatus.CONFLICT, str(e)
        except ClusterError as e:  # the API server's status and reason, e.g. 403 ... is forbidden: ...
            cause = e.__cause__
            code = cause.status if isinstance(cause, client.ApiException) and cause.status else HTTPStatus.BAD_GATEWAY
            return int(code), str(e)
        return HTTPStatus.OK, f"{command} sent to {namespace}/{name} (request {request_id})"


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


def _summaries(objects: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [summary(objects[k]) for k in sorted(objects)]


def page(token: str, title: str) -> bytes:
    html = resources.files(__package__).joinpath("index.html").read_text(encoding="utf-8")
    meta = json.dumps({"token": token, "title": title}).replace("</", "<\\/")
    return html.replace("/*CONFIG*/{}", meta).encode()


def make_server(dashboard: Dashboard, address: str, port: int, title: str) -> ThreadingHTTPServer:
    body = page(dashboard.token, title)

    class Handler(BaseHTTPRequestHandler):
        server_version = "pmo-dashboard"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def _reply(self, code: int, content: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; "
                             "script-src 'unsafe-inline'; img-src 'self' data:")  # fmt: skip
            self.end_headers()
            self.wfile.write(content)

        def _json(self, code: int, data: Any) -> None:
            self._reply(code, json.dumps(data).encode(), "application/json")

        def do_GET(self) -> None:
            if self.path in ("/", "/index.html"):
                self._reply(HTTPStatus.OK, body, "text/html; charset=utf-8")
            elif self.path == "/api/stream":
                self._stream()
            elif self.path == "/healthz":
                self._reply(HTTPStatus.OK, b"ok", "text/plain")
            else:
                self._reply(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

        def do_POST(self) -> None:
            match = COMMAND_PATH.match(self.path)
            if match is None:
                self._json(HTTPStatus.NOT_FOUND, {"message": "not found"})
                return
            if not secrets.compare_digest(self.headers.get("X-PMO-Token", ""), dashboard.token):
                self._json(HTTPStatus.FORBIDDEN, {"message": "missing or wrong dashboard token; reload the page"})
                return
            code, message = dashboard.command(*match.groups())
            self._json(code, {"message": message})

        def _stream(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            try:
                for snapshot in dashboard.snapshots():
                    self.wfile.write(b"event: migrations\ndata: " + json.dumps(snapshot).encode() + b"\n\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the page was closed
            except client.ApiException as e:  # e.g. the user may not list migrations here: the server's words
                try:
                    message = f"{e.status} {json.loads(e.body or '')['message']}"
                except (ValueError, KeyError, TypeError):
                    message = f"{e.status} {e.reason}"
                self.wfile.write(b"event: failure\ndata: " + json.dumps({"message": message}).encode() + b"\n\n")

    server = ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="pmo-dashboard", daemon=True)
    thread.start()
    return thread
