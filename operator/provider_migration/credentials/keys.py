"""Checksums of key values. Pure functions, no I/O."""

from __future__ import annotations

import hashlib

CHECKSUM_CHARS = 16


def checksum(value: bytes) -> str:
    """SHA-256 hex, truncated: enough to notice a change, never enough to recover a key."""
    return hashlib.sha256(value).hexdigest()[:CHECKSUM_CHARS]
