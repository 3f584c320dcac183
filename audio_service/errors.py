"""The one exception root of audio-service, and the tree below it.

    AudioServiceError                 base: every error this package raises on purpose
    ├── InputError                    the caller's input is wrong (HTTP 4xx, CLI exit 2)
    │   ├── ArticleError              unreadable or empty article, bad format
    │   ├── ArticleTooLargeError      over the configured maximum size (HTTP 413)
    │   ├── UnknownVoiceError         no voice with that id (lists the known ones)
    │   ├── NotFoundError             no such article or audio (HTTP 404)
    │   └── UnauthorizedError         a write without the API key (HTTP 401)
    ├── OverloadedError               the render queue is full (HTTP 503 + Retry-After)
    ├── ConfigError                   a voice file or setting is invalid (fails at start)
    ├── EngineError                   the speech engine failed
    │   └── EngineTimeoutError        a worker took too long and was killed
    └── AudioError                    decoding, encoding or loudness processing failed

Every error carries a stable machine-readable `code` used by the HTTP API.
"""

from __future__ import annotations


class AudioServiceError(Exception):
    """Root of all deliberate errors; `code` is stable across releases."""

    code = "error"


class InputError(AudioServiceError):
    code = "invalid_input"


class ArticleError(InputError):
    code = "invalid_article"


class ArticleTooLargeError(InputError):
    code = "article_too_large"


class UnknownVoiceError(InputError):
    code = "unknown_voice"

    def __init__(self, voice_id: str, known: list[str]) -> None:
        super().__init__(f"unknown voice {voice_id!r}; known voices: {', '.join(sorted(known))}")
        self.voice_id = voice_id
        self.known = sorted(known)


class NotFoundError(InputError):
    code = "not_found"


class UnauthorizedError(InputError):
    code = "unauthorized"


class OverloadedError(AudioServiceError):
    code = "overloaded"


class ConfigError(AudioServiceError):
    code = "config_error"


class EngineError(AudioServiceError):
    code = "engine_error"


class EngineTimeoutError(EngineError):
    code = "engine_timeout"


class AudioError(AudioServiceError):
    code = "audio_error"
