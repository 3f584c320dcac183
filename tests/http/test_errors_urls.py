"""The one error body (framework and lean path alike), the URL spellings and the id rules."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from audio_service import ids
from audio_service.http.errors import error_body, error_bytes, error_response
from audio_service.http.urls import Urls


def test_the_lean_path_sends_the_same_error_bytes_as_the_framework() -> None:
    response = error_response(404, "not_found", "no audio at this address — gone")
    assert error_bytes("not_found", "no audio at this address — gone") == response.body
    assert json.loads(bytes(response.body)) == error_body(
        "not_found", "no audio at this address — gone"
    )
    assert json.loads(bytes(response.body)) == {
        "error": {"code": "not_found", "message": "no audio at this address — gone"}
    }


def test_urls_relative_and_absolute() -> None:
    assert Urls().article_audio("a.b") == "/v1/articles/a.b/audio.mp3"
    urls = Urls("https://audio.example/")
    assert urls.immutable_audio("ab" * 32) == f"https://audio.example/v1/audio/{'ab' * 32}.mp3"
    assert (
        urls.episode_sidecar("daily", "2026-11-25", "chapters.json")
        == "https://audio.example/v1/podcasts/daily/episodes/2026-11-25/chapters.json"
    )
    assert urls.feed("daily") == "https://audio.example/v1/podcasts/daily/feed.xml"


@pytest.mark.parametrize(
    ("check", "value", "ok"),
    [
        (ids.is_article_id, "a" * 128, True),
        (ids.is_article_id, "a" * 129, False),
        (ids.is_article_id, "story\n", False),
        (ids.is_feed_id, "f" * 128, True),
        (ids.is_feed_id, ".hidden", False),
        (ids.is_lexicon_scope, "en-GB", True),
        (ids.is_lexicon_scope, "s" * 65, False),
        (ids.is_batch_id, "0123456789abcdef", True),
        (ids.is_batch_id, "0123456789ABCDEF", False),
    ],
)
def test_id_rules(check: Callable[[str], bool], value: str, ok: bool) -> None:
    assert check(value) is ok
