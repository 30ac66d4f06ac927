"""The multilingual site, its JSON API and feeds: ``create_app`` for ASGI, ``serve`` to run it."""

from __future__ import annotations

from polynews.web.app import create_app
from polynews.web.server import serve

__all__ = ["create_app", "serve"]
