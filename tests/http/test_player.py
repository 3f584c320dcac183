"""The player page in a real Chromium: text, play, highlight, jump, seek, speed and layout."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response, ViewportSize

from tests.support.player_browser import (  # noqa: F401 - fixtures, used by name
    DESKTOP,
    PHONE,
    TIMEOUT_MS,
    browser_fixture,
    chromium_executable_fixture,
    chromium_or_skip,
    page_fixture,
    player_server_fixture,
    player_url_fixture,
    playwright_instance_fixture,
    rendered_article_fixture,
    spoken_duration,
    timings_fixture,
)
from tests.support.player_fixture import ARTICLE_ID, LiveServer, RenderedArticle

SCREENSHOT_DIR = Path("/tmp")

SNAPSHOT_JS = """() => {
  const audio = document.getElementById("audio");
  const lit = [...document.querySelectorAll('#text .s[aria-current="true"]')];
  return {
    t: audio.currentTime,
    paused: audio.paused,
    rate: audio.playbackRate,
    lit: lit.map((el) => Number(el.dataset.index)),
    litByClass: [...document.querySelectorAll("#text .s.is-current")].map(
      (el) => Number(el.dataset.index)),
    pressed: document.getElementById("play").getAttribute("aria-pressed"),
    valuetext: document.getElementById("seek").getAttribute("aria-valuetext"),
  };
}"""


def lit_matches(segments: list[dict[str, Any]], t_s: float, lit_index: int) -> bool:
    """True when the lit segment is the one being read at T_S, or the pause right after it."""
    ordered = sorted(segments, key=lambda s: int(s["start_ms"]))
    pos = next(i for i, s in enumerate(ordered) if s["index"] == lit_index)
    next_start = ordered[pos + 1]["start_ms"] if pos + 1 < len(ordered) else float("inf")
    t_ms = round(t_s * 1000)
    return bool(ordered[pos]["start_ms"] <= t_ms < next_start)


def open_player(page: Page, url: str, expected_sentences: int) -> None:
    page.goto(url)
    page.wait_for_function(
        "n => document.querySelectorAll('#text .s').length === n", arg=expected_sentences
    )


def snapshot(page: Page) -> dict[str, Any]:
    data: dict[str, Any] = page.evaluate(SNAPSHOT_JS)
    return data


def wait_paused(page: Page) -> None:
    page.wait_for_function(
        "() => document.getElementById('audio').paused"
        " && document.getElementById('play').getAttribute('aria-pressed') === 'false'"
    )


def wait_playing_past(page: Page, seconds: float) -> None:
    page.wait_for_function(
        "s => { const a = document.getElementById('audio');"
        " return !a.paused && a.currentTime > s; }",
        arg=seconds,
    )


def assert_lit_matches(segments: list[dict[str, Any]], snap: dict[str, Any]) -> None:
    assert snap["lit"] == snap["litByClass"], snap
    assert len(snap["lit"]) == 1, f"expected one highlighted sentence: {snap}"
    assert lit_matches(segments, snap["t"], snap["lit"][0]), (
        f"at {snap['t']:.3f} s the page highlights segment {snap['lit'][0]}: "
        f"{[(s['index'], s['start_ms'], s['end_ms']) for s in segments]}"
    )


# ---- tests ----------------------------------------------------------------------------------


def test_missing_chromium_skips_locally_and_fails_in_ci(tmp_path: Path) -> None:
    absent = tmp_path / "chromium"
    with pytest.raises(pytest.skip.Exception):
        chromium_or_skip(absent, None)
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        chromium_or_skip(absent, "true")


def test_valuetext_wording() -> None:
    assert f"{spoken_duration(65)} of {spoken_duration(360)}" == "1 minute 5 seconds of 6 minutes"
    assert spoken_duration(0) == "0 seconds"
    assert spoken_duration(3601) == "1 hour 1 second"


def test_text_is_rendered_from_timings(
    page: Page, player_url: str, timings: dict[str, Any]
) -> None:
    segments = timings["segments"]
    open_player(page, player_url, len(segments))

    shown = page.eval_on_selector_all(
        "#text .s", "els => els.map(el => [Number(el.dataset.index), el.textContent])"
    )
    assert shown == [[s["index"], s["text"]] for s in segments]

    title = next(s for s in segments if s["kind"] == "title")
    assert page.inner_text("#text h1") == title["text"]
    assert title["text"] in page.title()
    paragraphs = {s["paragraph"] for s in segments if s["kind"] == "sentence"}
    assert page.locator("#text > p:has(.s)").count() == len(paragraphs)
    # One tab stop into the text, not one per sentence.
    assert page.locator('#text .s[tabindex="0"]').count() == 1

    audio = page.locator("audio")
    assert audio.get_attribute("preload") == "metadata"
    assert page.locator('audio > track[kind="captions"]').get_attribute("src") == "captions.vtt"
    assert page.get_attribute("#play", "aria-pressed") == "false"
    duration_s = timings["duration_ms"] / 1000
    assert page.inner_text("#duration") == f"{int(duration_s) // 60}:{int(duration_s) % 60:02d}"


def test_play_highlight_jump_seek_and_speed(
    page: Page, player_url: str, timings: dict[str, Any]
) -> None:
    segments = timings["segments"]
    audio_responses: list[tuple[str | None, int]] = []

    def on_response(response: Response) -> None:
        # The page plays the immutable /v1/audio/<digest>.mp3 of the version it loaded.
        if response.url.endswith(".mp3"):
            audio_responses.append((response.request.headers.get("range"), response.status))

    page.on("response", on_response)
    open_player(page, player_url, len(segments))

    page.click("#play")
    wait_playing_past(page, 1.5)
    snap = snapshot(page)
    assert snap["pressed"] == "true"
    assert_lit_matches(segments, snap)

    # Paused, the highlight must follow exactly the rule, without frame lag.
    page.click("#play")
    wait_paused(page)
    snap = snapshot(page)
    assert snap["pressed"] == "false"
    assert_lit_matches(segments, snap)

    # Clicking a later sentence plays from its first millisecond.
    sentences = [s for s in segments if s["kind"] == "sentence"]
    target = sentences[len(sentences) * 2 // 3]
    page.click(f'#text .s[data-index="{target["index"]}"]')
    snap = snapshot(page)
    start_s = target["start_ms"] / 1000
    assert start_s - 0.01 <= snap["t"] < start_s + 1.0, (snap, target)
    assert snap["lit"] == [target["index"]], (snap, target)
    wait_playing_past(page, start_s + 0.5)
    assert_lit_matches(segments, snapshot(page))

    # The slider seeks: click three quarters of the way along its track.
    box = page.locator("#seek").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    duration_s = timings["duration_ms"] / 1000
    snap = snapshot(page)
    assert abs(snap["t"] - 0.75 * duration_s) < 0.05 * duration_s, snap
    assert_lit_matches(segments, snap)
    expected_text = f"{spoken_duration(snap['t'])} of {spoken_duration(duration_s)}"
    assert snap["valuetext"] == expected_text
    # The page follows the reading: the lit sentence scrolls into view below the player bar.
    page.wait_for_function(
        """() => {
          const lit = document.querySelector('#text .s[aria-current="true"]');
          const barBottom = document.getElementById("bar").getBoundingClientRect().bottom;
          const r = lit.getBoundingClientRect();
          return r.top >= barBottom && r.bottom <= window.innerHeight;
        }"""
    )

    # Chromium fetches <audio> with Range requests; the service must answer them with 206.
    ranged = [(r, status) for r, status in audio_responses if r and r.startswith("bytes=")]
    assert ranged, f"no Range requests for the audio: {audio_responses}"
    assert all(status == 206 for _, status in ranged), audio_responses

    page.select_option("#rate", "1.5")
    snap = snapshot(page)
    assert snap["rate"] == 1.5
    assert page.evaluate("() => document.getElementById('audio').defaultPlaybackRate") == 1.5
    wait_playing_past(page, snap["t"] + 1.0)
    # The choice outlives a reload.
    open_player(page, player_url, len(segments))
    assert page.input_value("#rate") == "1.5"
    assert snapshot(page)["rate"] == 1.5


def test_keyboard_controls(page: Page, player_url: str, timings: dict[str, Any]) -> None:
    segments = timings["segments"]
    open_player(page, player_url, len(segments))

    page.focus("#play")
    page.keyboard.press("Space")
    wait_playing_past(page, 0.5)
    assert page.get_attribute("#play", "aria-pressed") == "true"
    page.keyboard.press("k")
    wait_paused(page)
    assert page.get_attribute("#play", "aria-pressed") == "false"

    before = snapshot(page)["t"]
    page.keyboard.press("ArrowRight")
    assert snapshot(page)["t"] == pytest.approx(before + 10, abs=0.05)
    page.keyboard.press("ArrowLeft")
    assert snapshot(page)["t"] == pytest.approx(before, abs=0.05)

    # Into the text with one Tab stop, down three sentences, Enter plays from there.
    page.focus('#text .s[tabindex="0"]')
    first = int(page.evaluate("() => document.activeElement.dataset.pos"))
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    pos = int(page.evaluate("() => document.activeElement.dataset.pos"))
    assert pos == first + 3
    ordered = sorted(segments, key=lambda s: int(s["start_ms"]))
    page.keyboard.press("Enter")
    snap = snapshot(page)
    assert snap["t"] == pytest.approx(ordered[pos]["start_ms"] / 1000, abs=0.05)
    assert snap["lit"] == [ordered[pos]["index"]]
    wait_playing_past(page, snap["t"] + 0.3)

    page.evaluate("() => { const a = document.getElementById('audio'); a.pause(); }")
    page.evaluate("() => { document.getElementById('audio').currentTime = 65; }")
    duration_s = timings["duration_ms"] / 1000
    page.wait_for_function(
        "t => document.getElementById('seek').getAttribute('aria-valuetext') === t",
        arg=f"1 minute 5 seconds of {spoken_duration(duration_s)}",
    )


def test_text_appears_after_timings_404s(
    page: Page, player_server: LiveServer, rendered_article: RenderedArticle
) -> None:
    """A stand-in server that fails timings.json twice, as the service does mid-render."""
    player_server.state.clear()
    player_server.state.timings_failures = 2
    open_player(
        page,
        player_server.url(f"/v1/articles/{ARTICLE_ID}/player"),
        len(rendered_article.timings_data()["segments"]),
    )
    statuses = [r.status for r in player_server.state.requests("/timings.json")]
    assert statuses == [404, 404, 200]
    assert page.inner_text("#status") == ""


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_layout_and_screenshot(
    browser: Browser,
    player_url: str,
    timings: dict[str, Any],
    name: str,
    viewport: ViewportSize,
) -> None:
    context = browser.new_context(viewport=viewport, is_mobile=name == "phone")
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        segments = timings["segments"]
        open_player(page, player_url, len(segments))
        # Highlight a sentence in the body so the screenshot shows the reading state.
        sentences = [s for s in segments if s["kind"] == "sentence"]
        page.click(f'#text .s[data-index="{sentences[1]["index"]}"]')
        wait_playing_past(page, sentences[1]["start_ms"] / 1000 + 0.2)
        page.click("#play")
        wait_paused(page)
        page.evaluate("() => window.scrollTo(0, 0)")

        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {viewport}"
        for selector in ("#play", "#back", "#forward", "#seek", "#rate"):
            box = page.locator(selector).bounding_box()
            assert box is not None
            assert box["width"] >= 44 and box["height"] >= 44, (selector, box)
        bar = page.locator("#bar").bounding_box()
        assert bar is not None
        assert bar["height"] < viewport["height"] * 0.3, bar
        assert re.fullmatch(r"\d+:\d\d / \d+:\d\d", page.inner_text(".time"))

        page.screenshot(path=str(SCREENSHOT_DIR / f"player-{name}.png"))
    finally:
        context.close()


WORD_JS = """() => {
  const audio = document.getElementById("audio");
  const lit = [...document.querySelectorAll("#text .w.is-word")];
  return {
    t: audio.currentTime,
    words: lit.map((el) => [el.textContent, Number(el.dataset.startMs),
                            Number(el.closest(".s").dataset.index),
                            el.closest(".s").getAttribute("aria-current")]),
  };
}"""


def test_the_written_word_being_read_is_highlighted(
    page: Page, player_url: str, timings: dict[str, Any]
) -> None:
    segments = timings["segments"]
    open_player(page, player_url, len(segments))
    title = next(s for s in segments if s["kind"] == "title")
    # "£48.6m" is one word on the page, however many are spoken for it.
    money = page.locator(f'#text .s[data-index="{title["index"]}"] .w', has_text="£48.6m")
    assert money.count() == 1 and money.inner_text() == "£48.6m"
    assert page.locator("#text .s .w").count() == sum(len(s["words"]) for s in segments)

    page.click(f'#text .s[data-index="{title["index"]}"]')
    seen: list[str] = []
    by_index = {s["index"]: s for s in segments}
    while len(set(seen)) < 4:
        page.wait_for_function(
            "prev => { const w = document.querySelector('#text .w.is-word');"
            " return w && w.textContent !== prev; }",
            arg=seen[-1] if seen else "",
        )
        snap: dict[str, Any] = page.evaluate(WORD_JS)
        if not snap["words"]:
            continue  # the pause after a sentence: no word is being read
        assert len(snap["words"]) == 1, snap
        text, start_ms, index, current = snap["words"][0]
        assert current == "true", snap  # the word sits in the lit sentence
        written = [w["word"] for w in by_index[index]["words"]]
        assert text in written, (snap, written)
        assert start_ms <= round(snap["t"] * 1000) + 50, snap
        seen.append(text)
    page.click("#play")
    wait_paused(page)
