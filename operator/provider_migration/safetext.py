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
    """One of the fixed summaries matching this exception (or its causes), else None: kubectl's words for
    connection failures (connection_errors.known_cause), then the list above."""
    from provider_migration.connection_errors import known_cause

    known = known_cause(e)
    if known is not None:
        return known
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


def header_safe(value: str) -> bool:
    """A credential usable in an HTTP header as is: visible ASCII and inner spaces only. Anything else (a newline,
    a quote-escaped repr, unicode) makes HTTP libraries raise with the header's value quoted in the message,
    so such a value is refused before any client sees it."""
    return bool(value) and all(" " <= ch <= "~" for ch in value) and value == value.strip()


# Text from the cluster (spec, status, Events) is untrusted: anyone who may create a migration writes it. As
# kubectl does (printers.EscapeTerminal), control characters are shown, never sent to the terminal: ESC as ^[,
# the rest as \xNN / \uNNNN, so no title change, screen clear, colour or hyperlink can be smuggled in. Rich
# markup is never interpreted in such text either: views hand it to rich only inside a Text.
_BIDI = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))  # overrides that reorder what is shown


def _escape_char(ch: str, multiline: bool) -> str:
    code = ord(ch)
    if ch == "\x1b":
        return "^["
    if multiline and ch == "\n":
        return ch
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if ch == "\r":
        return "\\r"
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def inert(text: object, multiline: bool = False) -> str:
    """`text` safe to print on a terminal: every control character (C0, DEL, C1) and bidirectional override
    made visible; newlines kept only with `multiline`."""
    value = str(text)
    if value.isprintable() and not any(ord(ch) in _BIDI for ch in value):
        return value
    return "".join(_escape_char(ch, multiline) if not ch.isprintable() or ord(ch) in _BIDI else ch for ch in value)
