"""Connection failures read like kubectl's, wherever a person sees them (CLI, status via the analysis, report):
real failed connections, no fakes of urllib3's exception nesting."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import requests
import urllib3

from provider_migration.analysis.prometheus import PrometheusSource
from provider_migration.analysis.source import MetricsUnavailable
from provider_migration.connection_errors import cause, unable_to_connect


@pytest.fixture
def plain_http_port() -> Iterator[int]:
    """A server that answers every connection with plain HTTP: what a TLS client sees as a protocol error."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def _urllib3_failure(url: str) -> BaseException:
    try:
        urllib3.PoolManager(retries=urllib3.Retry(1)).request("GET", url, timeout=5)
    except urllib3.exceptions.HTTPError as e:
        return e
    raise AssertionError(f"{url} answered")


def test_refused_through_requests_too() -> None:
    with pytest.raises(requests.RequestException) as failed:
        requests.get("http://127.0.0.1:1/", timeout=5)
    assert cause(failed.value) == "connection refused"
    assert (
        unable_to_connect(failed.value, "http://127.0.0.1:1")
        == "Unable to connect to the server http://127.0.0.1:1: connection refused"
    )


def test_tls_to_a_plain_http_server(plain_http_port: int) -> None:
    text = cause(_urllib3_failure(f"https://127.0.0.1:{plain_http_port}/"))
    assert text.startswith("tls: ") and "Pool(" not in text and "0x" not in text, text


def test_prometheus_unreachable_is_said_in_words_in_status_messages() -> None:
    source = PrometheusSource("http://127.0.0.1:1", 5.0, None)
    with pytest.raises(MetricsUnavailable) as failed:
        source.query("up")
    assert str(failed.value) == "Prometheus at http://127.0.0.1:1 is unreachable: connection refused"
