"""Chromium for the player test: the browser, a page failing on script errors, the pages it opens.

The fixtures are registered under their short names (``browser``, ``page``, ``player_url``, ...);
test_player.py imports them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from tests.support.player_fixture import (
    ARTICLE_ID,
    EXAMPLE_ARTICLE,
    LiveServer,
    RenderedArticle,
    RenderFailedError,
    create_app,
    render_article,
    serve,
)
from tests.support.service_process import running_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The test clicks Play itself; this only keeps a slow first gesture from being refused.
    "--autoplay-policy=no-user-gesture-required",
]
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=800)
TIMEOUT_MS = 20_000


def spoken_duration(seconds: float) -> str:
    """What a player slider's aria-valuetext says of a time, e.g. '1 minute 5 seconds'."""
    s = int(seconds)
    parts = []
    if s >= 3600:
        parts.append(_unit(s // 3600, "hour"))
    if (s // 60) % 60:
        parts.append(_unit((s // 60) % 60, "minute"))
    if s % 60 or not parts:
        parts.append(_unit(s % 60, "second"))
    return " ".join(parts)


def _unit(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def chromium_or_skip(path: Path, ci: str | None) -> Path:
    """Skip where a developer has no Chromium; in CI a missing browser is a broken build."""
    if path.is_file():
        return path
    reason = f"{path} is absent (install Debian's chromium package to run the player test)"
    if ci:
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", name="chromium_executable")
def chromium_executable_fixture() -> Path:
    return chromium_or_skip(CHROMIUM, os.environ.get("CI"))


@pytest.fixture(scope="session", name="rendered_article")
def rendered_article_fixture(tmp_path_factory: pytest.TempPathFactory) -> RenderedArticle:
    try:
        return render_article(EXAMPLE_ARTICLE, tmp_path_factory.mktemp("player-article"))
    except RenderFailedError as exc:
        pytest.fail(f"the project's renderer could not make the test article: {exc}")


@pytest.fixture(scope="session", name="player_server")
def player_server_fixture(
    chromium_executable: Path, rendered_article: RenderedArticle
) -> Iterator[LiveServer]:
    app, state = create_app(rendered_article)
    with serve(app, state) as server:
        yield server


@pytest.fixture(scope="session", name="player_url")
def player_url_fixture(
    chromium_executable: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The page as the real service serves it, for an article PUT through its API."""
    with running_service(tmp_path_factory.mktemp("player-service")) as service:
        article = json.loads(EXAMPLE_ARTICLE.read_text())
        with httpx.Client(base_url=service.url, timeout=60, trust_env=False) as client:
            client.put(f"/v1/articles/{ARTICLE_ID}", json=article).raise_for_status()
            deadline = time.monotonic() + 60
            while client.get(f"/v1/articles/{ARTICLE_ID}").json()["status"] != "ready":
                assert time.monotonic() < deadline, "the article did not render"
                time.sleep(0.05)
        yield f"{service.url}/v1/articles/{ARTICLE_ID}/player"


@pytest.fixture(scope="session", name="timings")
def timings_fixture(player_url: str) -> dict[str, Any]:
    # Read over HTTP, beside the page, so the tests hold for any server behind player_url.
    response = httpx.get(urljoin(player_url, "timings.json"), timeout=10, trust_env=False)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


# Module scope, not session: a running sync Playwright holds an event loop on this thread, so
# a later module's asyncio.run() would fail ("cannot be called from a running event loop").
@pytest.fixture(scope="module", name="playwright_instance")
def playwright_instance_fixture() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module", name="browser")
def browser_fixture(
    playwright_instance: Playwright, chromium_executable: Path
) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(
        executable_path=str(chromium_executable), args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(name="page")
def page_fixture(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def console(message: ConsoleMessage) -> None:
        # Resource 404s are expected in the retry test; script errors never are.
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(message.text)

    page.on("console", console)
    yield page
    context.close()
    assert errors == [], f"the page logged errors: {errors}"
