"""Machine translation: the backend interface, the backends, the router and the memory.

``base`` holds the contract (:class:`TranslationBackend`); ``registry`` builds the
available backends from the settings; ``router`` picks a route per direction;
``memory`` caches every translated segment; ``service`` ties them together.
"""

from __future__ import annotations

from polynews.translate.base import BackendFactory, BackendKind, Direction, TranslationBackend

__all__ = ["BackendFactory", "BackendKind", "Direction", "TranslationBackend"]
