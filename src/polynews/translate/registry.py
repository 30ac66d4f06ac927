"""Find and build the translation backends: built-ins and third-party, the same way.

A backend is a factory ``create(settings) -> TranslationBackend`` named by an entry
point in the group ``polynews.translation_backends``. The built-in backends are listed
in :data:`BUILTIN_BACKENDS` with the same ``"module:function"`` strings an entry point
would hold, so they go through exactly the same loading code.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points

from polynews.config import Settings
from polynews.errors import ConfigError, TranslateError
from polynews.translate.base import TranslationBackend

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "polynews.translation_backends"

BUILTIN_BACKENDS: dict[str, str] = {
    "apertium": "polynews.translate.apertium:create",
    "ctranslate2": "polynews.translate.ctranslate2_backend:create",
    "libretranslate": "polynews.translate.libretranslate:create",
    "openai": "polynews.translate.openai:create",
}

Factory = Callable[[Settings], TranslationBackend]


def _models_dir_missing(settings: Settings) -> bool:
    from polynews.translate.ctranslate2_backend import models_dir

    return not models_dir(settings).is_dir()


# Built-in backends that need the operator to configure them first. Left unconfigured they
# are the normal state of a fresh install, not a fault: one DEBUG line names them, while a
# backend that is configured yet cannot run (binary missing, server down) still warns.
NOT_CONFIGURED: dict[str, Callable[[Settings], bool]] = {
    "ctranslate2": _models_dir_missing,
    "libretranslate": lambda settings: not str(settings.libretranslate_url).strip(),
    "openai": lambda settings: not str(settings.openai_base_url).strip(),
}


def _load_reference(reference: str) -> Factory:
    module_name, _, attr = reference.partition(":")
    module = importlib.import_module(module_name)
    factory: Factory = getattr(module, attr or "create")
    return factory


def available_factories() -> dict[str, str]:
    """Every known backend name and its ``module:function``; entry points may add or override."""
    found = dict(BUILTIN_BACKENDS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.value
    return found


def load_backends(
    settings: Settings, *, factories: Mapping[str, str] | None = None
) -> list[TranslationBackend]:
    """Build the backends named in ``settings.translation_backends``, in that order.

    A built-in backend that is not configured (:data:`NOT_CONFIGURED`) is left out and
    named in one DEBUG line; a backend that is configured but cannot run here is left out
    with one warning saying why; an unknown name is a :class:`ConfigError`. ``factories``
    replaces the discovered table (tests).
    """
    table = available_factories() if factories is None else dict(factories)
    backends: list[TranslationBackend] = []
    unconfigured: list[str] = []
    for name in settings.translation_backends:
        reference = table.get(name)
        if reference is None:
            raise ConfigError(
                f"translation_backends names {name!r}, which no installed package provides; "
                f"known backends: {', '.join(sorted(table))}"
            )
        is_unconfigured = (
            NOT_CONFIGURED.get(name) if reference == BUILTIN_BACKENDS.get(name) else None
        )
        if is_unconfigured is not None and is_unconfigured(settings):
            unconfigured.append(name)
            continue
        try:
            factory = _load_reference(reference)
        except (ImportError, AttributeError) as exc:
            log.warning(
                "translation backend off backend=%s reason=cannot import %s: %s",
                name,
                reference,
                exc,
            )
            continue
        try:
            backend = factory(settings)
        except TranslateError as exc:  # BackendUnavailable, or a failed self-check
            log.warning("translation backend off backend=%s reason=%s", name, exc)
            continue
        backends.append(backend)
    if unconfigured:
        log.debug(
            "translation backends not configured backends=%s (see polynews engines)",
            ",".join(unconfigured),
        )
    log.info(
        "translation backends on backends=%s",
        ",".join(f"{b.name}/{b.version}" for b in backends) or "none",
    )
    return backends
