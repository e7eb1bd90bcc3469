"""Errors the routing adapters raise from writes (reads turn the same problems into RouteState.error)."""


class RouteError(Exception):
    """The routing object cannot take the requested change; nothing was written."""


class RouteConflict(RouteError):
    """The object changed between read and write (resourceVersion precondition); retry with a fresh read."""
