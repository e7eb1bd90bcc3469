"""Connection failures in words a person can act on, as kubectl prints them, never a Python exception repr.

urllib3 (under both the kubernetes client and requests) wraps the cause several times over:
`MaxRetryError(HTTPSConnectionPool(host=..., port=...): Max retries exceeded with url: ... (Caused by
NewConnectionError("<HTTPSConnection object at 0x...>: Failed to establish a new connection: [Errno 111]
Connection refused")))`. What helps is the innermost cause: "connection refused", "no such host", a TLS failure.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator

import urllib3.exceptions as u3

_ERRNO_TEXT = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by peer",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network is unreachable",
    errno.ETIMEDOUT: "i/o timeout",
}


def _chain(e: BaseException) -> Iterator[BaseException]:
    """`e` and everything it wraps: urllib3's `.reason`, requests' args[0], __cause__ and __context__."""
    seen: set[int] = set()
    todo: list[BaseException] = [e]
    while todo:
        cur = todo.pop(0)
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        reason = getattr(cur, "reason", None)
        nested = [reason] if isinstance(reason, BaseException) else []
        nested += [a for a in cur.args if isinstance(a, BaseException)]
        nested += [x for x in (cur.__cause__, cur.__context__) if x is not None]
        todo.extend(nested)


def _host(e: BaseException) -> str | None:
    for cur in _chain(e):
        pool = getattr(cur, "pool", None) or getattr(cur, "conn", None)
        host, port = getattr(pool, "host", None), getattr(pool, "port", None)
        if host:
            return f"{host}:{port}" if port else str(host)
    return None


def cause(e: BaseException) -> str:
    """The innermost reason a connection failed, in kubectl's words ("connection refused", "i/o timeout")."""
    known = known_cause(e)
    if known is not None:
        return known
    for cur in reversed(list(_chain(e))):  # unknown: the innermost message, without urllib3's wrapping
        text = getattr(cur, "strerror", None) or str(cur)
        if text and "Pool(" not in text and " object at 0x" not in text:
            return text.strip()
    return type(e).__name__


def known_cause(e: BaseException) -> str | None:
    """`cause` when it is one of the fixed phrases (never text copied from the exception), else None: what
    status, Events and logs may carry (an exception's own text can quote a request header, i.e. a token)."""
    chain = list(_chain(e))
    for cur in chain:
        if isinstance(cur, u3.NameResolutionError | socket.gaierror):
            host = _host(e)
            return f"lookup {host.rsplit(':', 1)[0]}: no such host" if host else "no such host"
    for cur in chain:
        if isinstance(cur, ssl.SSLCertVerificationError):
            return f"tls: failed to verify certificate: {cur.verify_message or cur.reason or 'not trusted'}"
        if isinstance(cur, ssl.SSLError):
            return f"tls: {cur.reason or 'handshake failed'}".replace("_", " ").lower()
    for cur in chain:
        if isinstance(cur, OSError) and cur.errno in _ERRNO_TEXT:
            return _ERRNO_TEXT[cur.errno]
    for cur in chain:
        if isinstance(cur, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cur, u3.NewConnectionError) and "refused" in str(cur).lower():
            return "connection refused"
    for cur in chain:
        if isinstance(cur, u3.TimeoutError | socket.timeout | TimeoutError):
            return "i/o timeout"
        if isinstance(cur, u3.ProtocolError | ConnectionResetError | ConnectionAbortedError):
            return "the server closed the connection"
    return None


def is_connection_error(e: BaseException) -> bool:
    return isinstance(e, u3.HTTPError | OSError) or any(
        isinstance(c, u3.HTTPError | OSError) for c in list(_chain(e))[1:]
    )


def unable_to_connect(e: BaseException, server: str | None = None) -> str:
    """kubectl's line: `Unable to connect to the server: <cause>` (with the server when known)."""
    where = server or _host(e)
    return f"Unable to connect to the server{f' {where}' if where else ''}: {cause(e)}"
