"""Error text reduced to a fixed vocabulary before it reaches status, Events, logs, reports or the CLI.

HTTP client and API exceptions quote what they were given: request headers (as their repr, so a token with
a newline or a quote is escaped and a plain search-and-replace of the token misses it), response bodies (an
API error may quote the object it refused, a provider may echo the key it was shown) and URLs with query
strings. None of that text is ever copied: only the HTTP status, the exception's type and a summary picked
from the fixed list below.
"""

from __future__ import annotations

import re

_SUMMARIES: tuple[tuple[str, str], ...] = (
    # (substring of the exception's text or type, lower-cased) -> fixed summary
    ("timed out", "timed out"),
    ("timeout", "timed out"),
    ("connection refused", "connection refused"),
    ("name or service not known", "host not found"),
    ("nodename nor servname", "host not found"),
    ("temporary failure in name resolution", "host not found"),
    ("getaddrinfo", "host not found"),
    ("certificate", "TLS certificate not accepted"),
    ("ssl", "TLS handshake failed"),
    ("connection reset", "connection reset"),
    ("remote end closed", "connection closed by the server"),
    ("remotedisconnected", "connection closed by the server"),
    ("network is unreachable", "network unreachable"),
    ("no route to host", "network unreachable"),
    ("invalid header", "invalid request header"),
    ("jsondecodeerror", "the answer is not JSON"),
)
_TYPE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,80}$")


def summary(e: BaseException) -> str | None:
    """One of the fixed summaries matching this exception (or its causes), else None."""
    seen: set[int] = set()
    current: BaseException | None = e
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = f"{type(current).__name__} {current}".lower()
        for needle, phrase in _SUMMARIES:
            if needle in text:
                return phrase
        current = current.__cause__ or current.__context__
    return None


def safe_error(e: BaseException) -> str:
    """`HTTP 403 (ApiException)`, `ConnectionError: connection refused`: status, type and a fixed summary only."""
    name = type(e).__name__
    name = name if _TYPE_NAME.match(name) else "Error"
    status = getattr(e, "status", None)
    if not isinstance(status, int):
        status = getattr(getattr(e, "response", None), "status_code", None)
    parts = [f"HTTP {status} ({name})" if isinstance(status, int) else name]
    phrase = summary(e)
    if phrase is not None:
        parts.append(phrase)
    return ": ".join(parts)
