"""The compact player in real Chromium: the bar page, its 72 px iframe and <listen-player>."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Frame, Page, ViewportSize
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.support.media import varied_article
from tests.support.player_browser import (  # noqa: F401 - fixtures, used by name
    DESKTOP,
    PHONE,
    TIMEOUT_MS,
    browser_fixture,
    chromium_executable_fixture,
    player_url_fixture,
    playwright_instance_fixture,
    rendered_article_fixture,
    spoken_duration,
)
from tests.support.player_fixture import (
    ARTICLE_ID,
    REPO,
    LiveServer,
    ServerState,
    serve,
)
from tests.support.service_process import running_service

PLAYER_DIR = REPO / "audio_service" / "player"
IFRAME_HEIGHT_PX = 72
BAR_LIMIT_PX = 80
LABEL = re.compile(r"Listen to this article · \d+ min")
# The element's parts, read from the page (the shadow root is open for exactly this).
STATE_JS = """el => {
  const root = el.shadowRoot;
  const a = el.audio;
  const seek = root.querySelector(".seek");
  return {
    t: a.currentTime,
    paused: a.paused,
    src: a.currentSrc || a.src,
    pressed: root.querySelector(".play").getAttribute("aria-pressed"),
    valuetext: seek.getAttribute("aria-valuetext"),
    left: root.querySelector(".left-value").textContent,
    label: root.querySelector(".label").textContent,
    voice: root.querySelector(".voice").textContent,
    started: root.querySelector(".bar").classList.contains("started"),
  };
}"""
LAYOUT_JS = """el => {
  const root = el.shadowRoot;
  const box = (sel) => { const r = root.querySelector(sel).getBoundingClientRect();
                         return {x: r.x, y: r.y, w: r.width, h: r.height, right: r.right}; };
  const visible = (sel) => { const n = root.querySelector(sel);
                             return n.checkVisibility() && n.getBoundingClientRect().width > 0; };
  return {
    bar: box(".bar"), play: box(".play"), rate: box(".rate"), voice: box(".voice"),
    ai: box(".ai"), labelVisible: visible(".label"), aiVisible: visible(".ai"),
    minutesVisible: visible(".label-min")
      && box(".label-min").right <= box(".main").right + 0.5,
    docOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    viewportWidth: document.documentElement.clientWidth,
    barOverflow: root.querySelector(".bar").scrollWidth - root.querySelector(".bar").clientWidth,
  };
}"""


@dataclass(frozen=True)
class Service:
    base: str  # http://127.0.0.1:port, no slash
    info: dict[str, Any]  # player.json of the rendered article

    @property
    def bar_url(self) -> str:
        return f"{self.base}/v1/articles/{ARTICLE_ID}/player?mode=bar"

    @property
    def immutable_url(self) -> str:
        return f"{self.base}{self.info['status']['urls']['audio_immutable']}"


@pytest.fixture(scope="module")
def service(player_url: str) -> Service:
    base = player_url.split("/v1/")[0]
    response = httpx.get(f"{base}/v1/articles/{ARTICLE_ID}/player.json", trust_env=False)
    response.raise_for_status()
    return Service(base, response.json())


def host_app(pages: dict[str, str]) -> Starlette:
    """A publisher's site: fixed HTML pages on a port (an origin) of their own."""

    async def page(request: Request) -> Response:
        body = pages.get(str(request.path_params["name"]))
        if body is None:
            return JSONResponse({"code": "not_found"}, status_code=404)
        return HTMLResponse(body)

    return Starlette(routes=[Route("/{name}", page)])


def host_pages(service: Service) -> dict[str, str]:
    article = "<p>The council's budget passed after a late-night vote.</p>" * 3
    return {
        "iframe": f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>News</title>
<link rel="icon" href="data:,">
<style>body {{ margin: 0 auto; max-width: 42rem; padding: 0 12px; font: 17px/1.5 Georgia; }}
iframe {{ display: block; width: 100%; height: {IFRAME_HEIGHT_PX}px; border: 0; }}</style>
</head><body><h1>Council agrees budget</h1><p>By Priya Castellane</p>
<iframe id="listen" title="Listen to this article" src="{service.bar_url}&accent=%23b3261e"
 allow="autoplay"></iframe>{article}</body></html>""",
        "component": f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>News</title>
<link rel="icon" href="data:,">
<style>body {{ margin: 0 auto; max-width: 42rem; padding: 0 12px; font: 17px/1.5 Georgia; }}
listen-player {{ --listen-accent: rgb(179, 38, 30); --listen-font: Georgia, serif;
  --listen-bg: rgb(255, 248, 240); margin: 8px 0 16px; }}</style>
<script src="{service.base}/v1/player.js" defer></script>
</head><body><h1>Council agrees budget</h1><p>By Priya Castellane</p>
<listen-player article="{ARTICLE_ID}" service="{service.base}"></listen-player>
{article}</body></html>""",
    }


@pytest.fixture(scope="module")
def host(service: Service) -> Iterator[LiveServer]:
    with serve(host_app(host_pages(service)), ServerState()) as server:
        yield server


@pytest.fixture(name="context_factory")
def context_factory_fixture(browser: Browser) -> Iterator[Any]:
    """New browser contexts that fail the test on any script error their pages log."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    def make(viewport: ViewportSize = DESKTOP, *, phone: bool = False) -> Page:
        context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", console)
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], f"the page logged errors: {errors}"


def player_in(target: Page | Frame) -> Any:
    handle = target.wait_for_selector("listen-player", state="attached")
    assert handle is not None
    return handle


def state(target: Page | Frame) -> dict[str, Any]:
    data: dict[str, Any] = player_in(target).evaluate(STATE_JS)
    return data


def wait_ready(target: Page | Frame) -> None:
    """The player has its status: the label says the minutes and the source is chosen."""
    target.wait_for_function(
        "() => { const el = document.querySelector('listen-player');"
        " return el && el.info && el.audio.getAttribute('src'); }"
    )


def wait_time_past(target: Page | Frame, seconds: float) -> None:
    target.wait_for_function(
        "s => { const a = document.querySelector('listen-player').audio;"
        " return !a.paused && a.currentTime > s; }",
        arg=seconds,
    )


def check_bar_layout(target: Page | Frame, service: Service) -> dict[str, Any]:
    layout: dict[str, Any] = player_in(target).evaluate(LAYOUT_JS)
    assert layout["bar"]["h"] <= BAR_LIMIT_PX, layout
    assert layout["docOverflow"] <= 0, f"the page scrolls sideways: {layout}"
    assert layout["barOverflow"] <= 0, f"the bar's content overflows: {layout}"
    assert layout["bar"]["right"] <= layout["viewportWidth"] + 0.5, layout
    for part in ("play", "rate"):
        assert layout[part]["w"] >= 44 and layout[part]["h"] >= 44, (part, layout)
    assert layout["aiVisible"], layout
    snap = state(target)
    assert LABEL.fullmatch(snap["label"].replace("\u00a0", " ")), snap
    if not snap["started"]:
        assert layout["minutesVisible"], f"the minutes are cut off: {layout}"
    assert snap["voice"].startswith("AI voice"), snap
    assert service.info["voice"]["name"] in snap["voice"], snap
    return layout


# ---- tests ----------------------------------------------------------------------------------


def test_player_json_says_what_the_bar_shows(service: Service) -> None:
    info = service.info
    article = json.loads((REPO / "audio_service/examples/council-budget.json").read_text())
    assert info["title"] == article["title"]
    assert info["byline"] and info["byline"] in article["byline"]
    assert info["voice"]["id"] == info["status"]["voice"]
    assert info["status"]["status"] == "ready"
    assert info["status"]["urls"]["audio_immutable"].startswith("/v1/audio/")
    # The estimate stands in while the first render runs: same minute count, give or take one.
    actual_min = info["status"]["duration_ms"] / 60000
    assert abs(info["estimated_duration_ms"] / 60000 - actual_min) <= 1, info
    with httpx.Client(base_url=service.base, trust_env=False) as client:
        script = client.get("/v1/player.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert 'customElements.define("listen-player"' in script.text
        bad = client.get(f"/v1/articles/{ARTICLE_ID}/player", params={"mode": "tiny"})
        assert bad.status_code == 422 and bad.json()["error"]["code"]
        missing = client.get("/v1/articles/no-such-article/player.json")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        full = client.get(f"/v1/articles/{ARTICLE_ID}/player")
        assert 'id="text"' in full.text and "<listen-player" not in full.text


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_bar_layout_and_screenshot(
    context_factory: Any,
    service: Service,
    tmp_path: Path,
    name: str,
    viewport: ViewportSize,
) -> None:
    # The bar page alone in a viewport as small as the iframe it is made for.
    page: Page = context_factory(
        ViewportSize(width=viewport["width"], height=IFRAME_HEIGHT_PX), phone=name == "phone"
    )
    page.goto(service.bar_url)
    wait_ready(page)
    check_bar_layout(page, service)
    page.screenshot(path=str(tmp_path / f"bar-{name}-before-play.png"))

    page.locator("listen-player .play").click()
    wait_time_past(page, 1.0)
    layout = check_bar_layout(page, service)
    snap = state(page)
    assert snap["started"] and snap["pressed"] == "true"
    assert re.fullmatch(r"-\d+:\d\d", snap["left"]), snap
    # Playing, the label gives way to the slider; the AI-voice disclosure stays.
    assert not layout["labelVisible"] and layout["aiVisible"]
    page.screenshot(path=str(tmp_path / f"bar-{name}-playing.png"))
    assert (tmp_path / f"bar-{name}-playing.png").stat().st_size > 1000


def test_bar_plays_the_immutable_url_and_seeks(context_factory: Any, service: Service) -> None:
    page: Page = context_factory()
    page.goto(service.bar_url)
    wait_ready(page)
    assert state(page)["src"] == service.immutable_url

    page.locator("listen-player .play").click()
    wait_time_past(page, 1.0)
    snap = state(page)
    assert snap["src"] == service.immutable_url, snap
    assert snap["pressed"] == "true"

    # Click three quarters of the way along the slider: the audio jumps there.
    box = page.locator("listen-player .seek").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    duration_s = service.info["status"]["duration_ms"] / 1000
    page.wait_for_function(
        "d => document.querySelector('listen-player').audio.currentTime > 0.6 * d", arg=duration_s
    )
    snap = state(page)
    assert abs(snap["t"] - 0.75 * duration_s) < 0.05 * duration_s, snap
    media_s = page.evaluate("() => document.querySelector('listen-player').audio.duration")
    assert snap["valuetext"] == f"{spoken_duration(snap['t'])} of {spoken_duration(media_s)}"
    wait_time_past(page, snap["t"] + 0.5)
    assert state(page)["src"] == service.immutable_url

    # The lock screen knows what is playing.
    metadata = page.evaluate(
        "() => { const m = navigator.mediaSession.metadata;"
        " return m && {title: m.title, artist: m.artist}; }"
    )
    assert metadata == {"title": service.info["title"], "artist": service.info["byline"]}
    assert page.evaluate("() => navigator.mediaSession.playbackState") == "playing"

    page.locator("listen-player .rate").select_option("1.5")
    assert page.evaluate("() => document.querySelector('listen-player').audio.playbackRate") == 1.5


def test_bar_keyboard_only(context_factory: Any, service: Service) -> None:
    page: Page = context_factory()
    page.goto(service.bar_url)
    wait_ready(page)
    active = "() => document.activeElement.shadowRoot?.activeElement?.className ?? ''"

    page.keyboard.press("Tab")
    assert page.evaluate(active) == "play"
    # Focus is visible: the focused button draws an outline.
    outline = page.locator("listen-player .play").evaluate("b => getComputedStyle(b).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Space")
    wait_time_past(page, 0.5)
    assert state(page)["pressed"] == "true"
    page.keyboard.press("Space")
    page.wait_for_function("() => document.querySelector('listen-player').audio.paused")
    assert state(page)["pressed"] == "false"

    before = state(page)["t"]
    page.keyboard.press("ArrowRight")
    assert state(page)["t"] == pytest.approx(before + 10, abs=0.05)
    page.keyboard.press("ArrowLeft")
    assert state(page)["t"] == pytest.approx(before, abs=0.05)

    # Tab on to the slider: arrows seek there too, and the slider says where it is in words.
    page.keyboard.press("Tab")
    assert page.evaluate(active) == "seek"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    snap = state(page)
    assert snap["t"] == pytest.approx(before + 20, abs=0.05)
    assert snap["valuetext"].startswith(f"{spoken_duration(snap['t'])} of "), snap
    page.keyboard.press("Tab")
    assert page.evaluate(active) == "rate"


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_iframe_72px_in_a_host_page(
    context_factory: Any,
    service: Service,
    host: LiveServer,
    tmp_path: Path,
    name: str,
    viewport: ViewportSize,
) -> None:
    page: Page = context_factory(viewport, phone=name == "phone")
    page.goto(host.url("/iframe"))
    iframe = page.wait_for_selector("#listen")
    assert iframe is not None
    box = iframe.bounding_box()
    assert box is not None and box["height"] == IFRAME_HEIGHT_PX
    frame = iframe.content_frame()
    assert frame is not None
    wait_ready(frame)
    layout = check_bar_layout(frame, service)
    assert layout["bar"]["y"] >= 0 and layout["bar"]["y"] + layout["bar"]["h"] <= IFRAME_HEIGHT_PX
    # Nothing inside needs scrolling either way.
    assert frame.evaluate(
        "() => document.documentElement.scrollHeight <= innerHeight"
        " && document.documentElement.scrollWidth <= innerWidth"
    )
    # ?accent= themes the bar across the frame boundary.
    colour = frame.locator("listen-player .play").evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
    assert colour == "rgb(179, 38, 30)"
    page.screenshot(path=str(tmp_path / f"iframe-{name}.png"))

    frame.locator("listen-player .play").click()
    wait_time_past(frame, 1.0)
    assert state(frame)["src"] == service.immutable_url
    page.screenshot(path=str(tmp_path / f"iframe-{name}-playing.png"))


def test_web_component_on_another_origin(
    context_factory: Any, service: Service, host: LiveServer, tmp_path: Path
) -> None:
    """<script src=service/v1/player.js> on the publisher's own origin: needs CORS reads."""
    answer = httpx.get(
        f"{service.base}/v1/articles/{ARTICLE_ID}/player.json",
        headers={"Origin": host.base_url},
        trust_env=False,
    )
    allowed = answer.headers.get("access-control-allow-origin")
    assert allowed in ("*", host.base_url), "no CORS on reads yet: the component cannot fetch"
    page: Page = context_factory(PHONE, phone=True)
    page.goto(host.url("/component"))
    wait_ready(page)
    check_bar_layout(page, service)
    player = page.locator("listen-player .play")
    assert player.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(179, 38, 30)"
    assert (
        page.locator("listen-player .label")
        .evaluate("n => getComputedStyle(n).fontFamily")
        .startswith("Georgia")
    )
    page.screenshot(path=str(tmp_path / "component-phone.png"))
    player.click()
    wait_time_past(page, 1.0)
    assert state(page)["src"] == service.immutable_url


def test_transcript_page_plays_the_immutable_url(
    context_factory: Any, service: Service, player_url: str, tmp_path: Path
) -> None:
    page: Page = context_factory(PHONE, phone=True)
    page.goto(player_url)
    page.wait_for_function(
        "u => document.getElementById('audio').src === u",
        arg=service.immutable_url,
    )
    page.click("#play")
    page.wait_for_function("() => document.getElementById('audio').currentTime > 1")
    assert page.evaluate("() => document.getElementById('audio').currentSrc") == (
        service.immutable_url
    )
    # The AI-voice note sits in the player bar, on screen before anything is played.
    note = page.locator("#bar #ai-note")
    assert note.is_visible()
    assert note.inner_text().startswith("AI voice")
    assert service.info["voice"]["name"] in note.inner_text()
    box = note.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"]
    assert page.locator(".note").count() == 0
    page.screenshot(path=str(tmp_path / "transcript-phone.png"))


# ---- the first render: live audio.mp3 until the version's own URL exists -----------------


def test_live_render_swaps_to_the_immutable_url_keeping_the_place(
    context_factory: Any, tmp_path: Path
) -> None:
    """A real first render (real eSpeak, one worker, a long article of sentences all its own):
    the bar plays the live audio.mp3, then swaps to the version's own URL where it was."""
    env = {"AUDIO_SERVICE_WORKERS": "1", "AUDIO_SERVICE_RENDER_CONCURRENCY": "1"}
    with running_service(tmp_path / "svc", env) as svc:
        put = httpx.put(
            f"{svc.url}/v1/articles/swap", json=varied_article(3000, seed=4242), timeout=30
        )
        assert put.status_code == 200, put.text
        page: Page = context_factory()
        page.goto(f"{svc.url}/v1/articles/swap/player?mode=bar")
        wait_ready(page)
        snap = state(page)
        assert snap["src"] == f"{svc.url}/v1/articles/swap/audio.mp3"
        # Before the real length is known the label shows the estimate.
        assert LABEL.fullmatch(snap["label"].replace("\u00a0", " ")), snap
        page.locator("listen-player .play").click()
        wait_time_past(page, 2.0)
        assert httpx.get(f"{svc.url}/v1/articles/swap").json()["status"] == "rendering"
        before_s = state(page)["t"]
        page.wait_for_function(
            "() => { const a = document.querySelector('listen-player').audio;"
            " return a.src.includes('/v1/audio/') && a.readyState >= 2 && !a.seeking; }",
            timeout=180_000,
        )
        # Playing on from where it was, not from the start.
        snap = state(page)
        digest = httpx.get(f"{svc.url}/v1/articles/swap").json()["digest"]
        assert snap["t"] >= before_s, (before_s, snap)
        assert snap["src"] == f"{svc.url}/v1/audio/{digest}.mp3"
        assert snap["pressed"] == "true"
