"""GET /v1/articles: pages in id order, an opaque cursor stable under inserts, filters, errors.

The app runs in-process with its lifespan and real eSpeak renders; a gated eSpeak voice keeps
one article's render running while the status filter is looked at.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from audio_service.article import Article, article_to_json
from audio_service.engines.registry import builtin_engines
from audio_service.states import ArticleStatus
from audio_service.store.index import Index
from tests.support.gate_engine import GATE_VOICE, Gate, gate, gate_voices
from tests.support.inprocess import app_client

TITLES = {
    "b-bridge": "Harbour bridge reopens",
    "d-derby": "Derby day draws record crowd",
    "f-ferry": "Ferry strike called off",
    "h-hotel": "Grand hotel sold",
    "k-zurich": "Zürich council backs tram plan",
    "m-museum": "Museum opens new wing",
    "p-pier": "Pier lights switched on",
}


@pytest.fixture(scope="module")
def gate_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gate]:
    folder = tmp_path_factory.mktemp("gate")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GATE_ENGINE_DIR", str(folder))
        yield Gate(folder)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, gate_dir: Gate) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("listing")
    engines = {**builtin_engines(), "gate": gate}
    with app_client(root / "data", engines=engines, voices_dir=gate_voices(root / "voices")) as c:
        for article_id, title in TITLES.items():
            body = {"title": title, "body": f"Our reporter writes: {title.lower()} on Tuesday."}
            assert c.put(f"/v1/articles/{article_id}", json=body).status_code == 200
        for article_id in TITLES:
            wait_ready(c, article_id)
        try:
            yield c
        finally:
            gate_dir.open()


def wait_ready(client: TestClient, article_id: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while client.get(f"/v1/articles/{article_id}").json()["status"] != "ready":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def walk(client: TestClient, params: dict[str, Any], between: Any = None) -> list[str]:
    """Every id of a listing, page by page; `between(page_number)` runs after each page."""
    ids: list[str] = []
    cursor: str | None = None
    for number in range(100):
        reply = client.get(
            "/v1/articles", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert reply.status_code == 200, reply.text
        page = reply.json()
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if between is not None:
            between(number)
        if cursor is None:
            return ids
    raise AssertionError("the listing never ended")


def test_items_are_the_article_status_plus_title_and_update_time(client: TestClient) -> None:
    page = client.get("/v1/articles", params={"limit": 3}).json()
    assert [i["id"] for i in page["items"]] == ["b-bridge", "d-derby", "f-ferry"]
    assert page["next_cursor"]
    first = page["items"][0]
    alone = client.get("/v1/articles/b-bridge").json()
    assert {k: v for k, v in first.items() if k not in ("title", "updated")} == alone
    assert first["title"] == "Harbour bridge reopens"
    assert first["updated"].startswith("20") and first["updated"].endswith("Z")


def test_a_walk_sees_every_article_once_while_others_are_added(client: TestClient) -> None:
    def insert(page_number: int) -> None:
        if page_number == 0:  # one before the cursor, one after it
            for article_id in ("a-arcade", "n-north"):
                body = {
                    "title": f"New {article_id}",
                    "body": "The story came in overnight from our desk.",
                }
                assert client.put(f"/v1/articles/{article_id}", json=body).status_code == 200

    try:
        seen = walk(client, {"limit": 2}, insert)
        assert len(seen) == len(set(seen))
        assert set(TITLES) <= set(seen)
        assert "n-north" in seen and "a-arcade" not in seen  # inserted behind the cursor
        assert seen == sorted(seen)
    finally:
        for article_id in ("a-arcade", "n-north"):
            client.delete(f"/v1/articles/{article_id}")


def test_the_last_page_has_no_cursor(client: TestClient) -> None:
    page = client.get("/v1/articles", params={"limit": len(TITLES)}).json()
    assert len(page["items"]) == len(TITLES) and page["next_cursor"] is None


def test_q_matches_id_or_title_whatever_the_case(client: TestClient) -> None:
    def found(q: str) -> list[str]:
        return walk(client, {"q": q})

    assert found("ZÜRICH") == ["k-zurich"]  # Unicode case folding, beyond SQLite's LIKE
    assert found("FERRY") == ["f-ferry"]
    assert found("P-PI") == ["p-pier"]  # the id
    assert found("opens") == ["b-bridge", "m-museum"]
    assert found("%") == [] and found("_") == []  # LIKE's wildcards are plain characters
    assert (
        client.get("/v1/articles", params={"q": "ferry", "limit": 1}).json()["next_cursor"] is None
    )


def test_status_filters_by_the_state_of_the_latest_version(
    client: TestClient, gate_dir: Gate
) -> None:
    gate_dir.close()
    try:
        body = {
            "title": "Held story",
            "body": "The council met late into the night.",
            "voice": GATE_VOICE,
        }
        assert client.put("/v1/articles/g-held", json=body).status_code == 200
        # The gate holds its render running; wait until it has started, so the two filters
        # are not read across the moment it moves from queued to rendering.
        deadline = time.monotonic() + 30
        while client.get("/v1/articles/g-held").json()["status"] != "rendering":
            assert time.monotonic() < deadline, "the held render never started"
            time.sleep(0.02)
        assert walk(client, {"status": "rendering"}) == ["g-held"]
        assert "g-held" not in walk(client, {"status": "queued"})
        assert "g-held" not in walk(client, {"status": "ready"})
        assert set(TITLES) <= set(walk(client, {"status": "ready"}))
        assert walk(client, {"status": "failed"}) == []
    finally:
        gate_dir.open()
    wait_ready(client, "g-held")
    client.delete("/v1/articles/g-held")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"status": "done"}, "invalid_request"),
        ({"limit": 0}, "invalid_request"),
        ({"limit": 201}, "invalid_request"),
        ({"limit": "many"}, "invalid_request"),
        ({"cursor": "not a cursor"}, "invalid_input"),
        ({"cursor": "MTpiLWJyaWRnZQ!"}, "invalid_input"),  # a valid cursor, tampered
        ({"cursor": "Mjpi"}, "invalid_input"),  # another format version
        ({"q": "x" * 201}, "invalid_request"),
    ],
)
def test_bad_parameters_get_a_json_error(
    client: TestClient, params: dict[str, Any], code: str
) -> None:
    reply = client.get("/v1/articles", params=params)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["code"] == code and reply.json()["error"]["message"]


def test_limits_default_to_50_and_stop_at_200(tmp_path: Path) -> None:
    index_rows = 260
    with app_client(tmp_path) as c:
        index = Index(tmp_path / "index.sqlite3")
        stored = article_to_json(Article(title="Filler", body=("Nothing.",)))
        for n in range(index_rows):
            index.put_article(f"r{n:03d}", "en-gb-espeak", stored, f"key{n}", ArticleStatus.READY)
        index.close()
        assert len(c.get("/v1/articles").json()["items"]) == 50
        page = c.get("/v1/articles", params={"limit": 200}).json()
        assert len(page["items"]) == 200 and page["items"][-1]["id"] == "r199"
        rest = c.get("/v1/articles", params={"limit": 200, "cursor": page["next_cursor"]}).json()
        assert rest["items"][0]["id"] == "r200"
        assert len(rest["items"]) == 60 and rest["next_cursor"] is None


def test_the_listing_is_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    listing = spec["paths"]["/v1/articles"]["get"]
    assert listing["summary"]
    assert {"200", "422"} <= set(listing["responses"])
    params = {p["name"]: p for p in listing["parameters"]}
    assert set(params) == {"status", "q", "limit", "cursor"}
    limit = params["limit"]["schema"]
    assert (limit["default"], limit["maximum"]) == (50, 200)
    ok = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/ArticleList")
    status = params["status"]["schema"]["anyOf"][0]
    assert status["enum"] == [s.value for s in ArticleStatus]  # the states' one vocabulary
    # The article's own model keeps its name (the enum is not a schema beside it).
    assert "ArticleStatus" in spec["components"]["schemas"]
    assert client.get("/v1/articles/nobody").json()["error"]["code"] == "not_found"
