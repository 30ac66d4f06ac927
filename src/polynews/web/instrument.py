"""Request metrics of the site: an ASGI middleware outside the page cache, so that cache
hits and refused hosts are counted too (see :mod:`polynews.metrics`).

Answers are labelled with the template of the route that answered
(``/{lang}/a/{article_id}``; ``/static/{path}`` for a mount), read from what the router
leaves in the request's scope; the page cache records it with a cached answer and
hands it on for a hit. A flood of made-up paths does not grow the label set: a path no
route serves is ``unmatched``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from polynews import metrics

UNMATCHED = "unmatched"
ROUTE_KEY = "polynews.route"
"""Where the page cache leaves the template of a cached answer's route in the scope."""

_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_App = Callable[
    [_Scope, Callable[[], Awaitable[_Message]], Callable[[_Message], Awaitable[None]]],
    Awaitable[None],
]


def route_template(routed: _Scope, root_path: str) -> str | None:
    """The template of the route that answered, from the scope the app was called with.

    ``root_path`` is the scope's root path before routing: a mount extends it.
    """
    path = getattr(routed.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    mounted = str(routed.get("root_path", ""))
    if mounted != root_path and mounted.startswith(root_path):
        return mounted[len(root_path) :] + "/{path}"
    return None


class RequestMetrics:
    """Count every HTTP answer by route template, method and status, and time it."""

    def __init__(self, app: _App) -> None:
        self.app = app

    async def __call__(
        self,
        scope: _Scope,
        receive: Callable[[], Awaitable[_Message]],
        send: Callable[[_Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        root_path = str(scope.get("root_path", ""))
        status = 500

        async def watch(message: _Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            template = scope.get(ROUTE_KEY) or route_template(scope, root_path) or UNMATCHED
            metrics.observe_request(template, scope["method"], status, time.perf_counter() - start)


__all__ = ["ROUTE_KEY", "UNMATCHED", "RequestMetrics", "route_template"]
