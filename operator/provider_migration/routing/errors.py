"""Errors the routing adapters raise from writes (reads turn the same problems into RouteState.error)."""


class RouteError(Exception):
    """The routing object cannot take the requested change; nothing was written."""


class RouteConflict(RouteError):
    """The object changed between read and write (resourceVersion precondition); retry with a fresh read."""


class KindNotServed(RouteError):
    """The API server serves no such resource (its CRD is not installed), as opposed to a missing object."""
