"""ENGINES: the registry of speech engines, a plain dict from name to factory."""

from __future__ import annotations

from collections.abc import Callable

from audio_service.engines.base import Engine


def _espeak() -> Engine:
    from audio_service.engines.espeak import EspeakEngine

    return EspeakEngine()


# Factories import their engine lazily: the API process never loads a speech library,
# only the worker processes do.
ENGINES: dict[str, Callable[[], Engine]] = {
    "espeak": _espeak,
}
