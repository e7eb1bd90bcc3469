"""Errors the routing adapters raise from writes (reads turn the same problems into RouteState.error)."""


class RouteError(Exception):
    """The routing object cannot take the requested change; nothing was written."""
