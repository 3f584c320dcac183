"""Reading the SOURCE of `audio-service batch`: folders, JSON Lines and RSS/Atom feeds."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from audio_service.batch.sources import ARTICLE_ID_PATTERN, SourceItem, read_source, safe_id
from audio_service.errors import InputError
from tests.support.http_server import serve

MAX = 100_000

COUNCIL = (
    "The town council of Eastbrook voted seven to four on Tuesday night to approve a budget "
    "that raises spending on road repairs for the first time in six years."
)
LIBRARY = (
    "Volunteers reopened the Millfield branch library on Saturday after a month of repairs to "
    "its leaking roof, and more than two hundred readers came through the doors by noon."
)
FERRY = (
    "The morning ferry to Gull Island was cancelled for a third day as strong winds kept the "
    "harbour master from letting any boat larger than a rowing dinghy leave the quay."
)
ORCHARD = (
    "A community orchard planted on the old railway sidings produced its first full crop of "
    "apples this autumn, and the surplus will go to the school kitchens in the valley."
)

RSS = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Eastbrook Evening News</title>
  <link>https://news.example/</link>
  <description>Local news</description>
  <item>
    <title>Council approves road budget</title>
    <link>https://news.example/2026/11/25/council-budget-vote</link>
    <guid>https://news.example/2026/11/25/council-budget-vote</guid>
    <dc:creator>By Mara Quill</dc:creator>
    <pubDate>Wed, 25 Nov 2026 07:30:00 GMT</pubDate>
    <description>A short teaser only.</description>
    <content:encoded><![CDATA[<p>{COUNCIL}</p><p>The new budget starts in April.</p>]]>
    </content:encoded>
  </item>
  <item>
    <title>Library reopens after roof repairs</title>
    <link>https://news.example/local/library-reopens?edition=late</link>
    <description>&lt;p&gt;{LIBRARY}&lt;/p&gt;</description>
  </item>
  <item>
    <title>Photo gallery: autumn colours</title>
    <link>https://news.example/gallery/autumn</link>
    <guid isPermaLink="false">gallery-autumn</guid>
  </item>
  <item>
    <title>Ferry cancelled again</title>
    <description>{FERRY}</description>
  </item>
</channel>
</rss>
"""

ATOM = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Valley Gazette</title>
  <id>tag:gazette.example,2026:feed</id>
  <updated>2026-11-24T18:00:00Z</updated>
  <entry>
    <title>Orchard crop goes to school kitchens</title>
    <id>tag:gazette.example,2026:orchard-crop</id>
    <link href="https://gazette.example/stories/orchard-crop"/>
    <published>2026-11-24T09:15:00+01:00</published>
    <updated>2026-11-24T17:00:00Z</updated>
    <author><name>Tomas Reed</name></author>
    <summary>Apples for the schools.</summary>
    <content type="html">&lt;p&gt;{ORCHARD}&lt;/p&gt;
      &lt;p&gt;Pupils will help pick next year.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Orchard crop goes to school kitchens (corrected)</title>
    <id>tag:gazette.example,2026:orchard-crop</id>
    <content type="html">&lt;p&gt;{ORCHARD} A date has been corrected.&lt;/p&gt;</content>
  </entry>
</feed>
"""


def ok(items: list[SourceItem]) -> dict[str, SourceItem]:
    assert all(ARTICLE_ID_PATTERN.match(item.id) for item in items), [i.id for i in items]
    return {item.id: item for item in items}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- folders --------------------------------------------------------------------------------


def test_folder_reads_nested_files_in_order_and_ignores_other_suffixes(tmp_path: Path) -> None:
    write(tmp_path / "news" / "c.html", f"<h1>Ferry cancelled</h1><p>{FERRY}</p>")
    write(tmp_path / "news" / "2026" / "b.txt", f"Library reopens\n\n{LIBRARY}\n")
    write(tmp_path / "news" / "Late edition.txt", f"Orchard crop\n\n{ORCHARD}\n")
    write(tmp_path / "a.json", json.dumps({"title": "Council budget", "body": [COUNCIL]}))
    write(tmp_path / "notes.md", "# Not an article for the batch\n\nIgnored.\n")
    write(tmp_path / ".drafts" / "secret.txt", "Draft\n\nNot ready.\n")

    items = read_source(str(tmp_path), max_chars=MAX)

    assert [item.id for item in items] == ["a", "news-2026-b", "news-Late-edition", "news-c"]
    assert all(item.error is None and item.article is not None for item in items)
    assert [item.article.title for item in items if item.article] == [
        "Council budget",
        "Library reopens",
        "Orchard crop",
        "Ferry cancelled",
    ]
    assert items[1].origin == str(tmp_path / "news" / "2026" / "b.txt")


def test_folder_reports_a_broken_file_with_its_path_and_loads_the_rest(tmp_path: Path) -> None:
    write(tmp_path / "broken.json", '{"title": "Half written", "body": ')
    write(tmp_path / "good.txt", f"Council budget\n\n{COUNCIL}\n")
    write(tmp_path / "long.txt", "Long story\n\n" + (LIBRARY + "\n\n") * 20)

    items = ok(read_source(str(tmp_path), max_chars=2_000))

    broken = items["broken"]
    assert broken.article is None
    assert broken.error is not None and "not valid JSON" in broken.error
    assert broken.origin == str(tmp_path / "broken.json")
    assert items["long"].article is None and "too large" in (items["long"].error or "")
    assert items["good"].article is not None and items["good"].error is None


# --- JSON Lines -----------------------------------------------------------------------------


def test_jsonl_good_blank_bad_and_missing_id_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "council-budget", "title": "Council budget", "body": COUNCIL}),
        "",
        "{not json at all",
        json.dumps({"title": "Library reopens", "body": [LIBRARY]}),
        "   ",
        json.dumps(["a", "list"]),
        json.dumps({"id": "news/2026/ferry", "title": "Ferry", "body": FERRY, "byline": "Ana"}),
        json.dumps({"id": "empty", "title": "", "body": []}),
    ]
    source = write(tmp_path / "articles.jsonl", "\n".join(lines) + "\n")

    items = read_source(str(source), max_chars=MAX)

    assert [(item.id, item.error) for item in items] == [
        ("council-budget", None),
        ("line-3", "line 3: not valid JSON (Expecting property name enclosed in double quotes)"),
        ("line-4", None),
        ("line-6", "line 6: not a JSON object (list)"),
        ("news-2026-ferry", None),
        ("empty", "line 8: article has no speakable text"),
    ]
    assert items[2].article is not None and items[2].article.body == (LIBRARY,)
    assert items[4].article is not None and items[4].article.byline == "Ana"
    assert items[1].origin == f"{source}:3"


# --- feeds ----------------------------------------------------------------------------------


def test_rss_feed_items_with_content_encoded_description_and_no_body(tmp_path: Path) -> None:
    items = read_source(str(write(tmp_path / "feed.rss", RSS)), max_chars=MAX)

    assert [item.id for item in items] == [
        "2026-11-25-council-budget-vote",
        "local-library-reopens-edition-late",
        "gallery-autumn",
        "item-4",
    ]
    council, library, gallery, ferry = items
    assert council.article is not None
    assert council.article.title == "Council approves road budget"
    assert council.article.body == (COUNCIL, "The new budget starts in April.")  # not the teaser
    assert council.article.byline == "Mara Quill"
    assert council.article.published == "2026-11-25T07:30:00Z"
    assert council.article.updated == ""  # not feedparser's fallback to the published date
    assert council.origin == "https://news.example/2026/11/25/council-budget-vote"
    assert library.article is not None and library.article.body == (LIBRARY,)
    assert gallery.article is None and gallery.error == "feed item has no body text"
    assert gallery.origin == "https://news.example/gallery/autumn"
    assert ferry.article is not None and ferry.article.body == (FERRY,)
    assert ferry.origin == f"{tmp_path / 'feed.rss'}#item-4"


def test_atom_feed_with_html_content_and_duplicate_ids(tmp_path: Path) -> None:
    source = write(tmp_path / "latest", ATOM)  # no suffix: sniffed as a feed

    items = read_source(str(source), max_chars=MAX)

    assert [item.id for item in items] == [
        "tag-gazette.example-2026-orchard-crop",
        "tag-gazette.example-2026-orchard-crop-2",
    ]
    first = items[0].article
    assert first is not None
    assert first.body == (ORCHARD, "Pupils will help pick next year.")
    assert first.byline == "Tomas Reed"
    assert first.published == "2026-11-24T08:15:00Z"
    assert first.updated == "2026-11-24T17:00:00Z"
    assert items[1].article is not None and "corrected" in items[1].article.body[0]


def test_duplicate_ids_get_numbered_suffixes_in_order(tmp_path: Path) -> None:
    write(tmp_path / "story.json", json.dumps({"title": "Council", "body": COUNCIL}))
    write(tmp_path / "story.txt", f"Library\n\n{LIBRARY}\n")
    write(tmp_path / "Story.html", f"<h1>Ferry</h1><p>{FERRY}</p>")
    assert [item.id for item in read_source(str(tmp_path), max_chars=MAX)] == [
        "Story",
        "story-2",
        "story-3",
    ]
    lines = [json.dumps({"id": "same", "title": "T", "body": COUNCIL})] * 3
    source = write(tmp_path / "same.ndjson", "\n".join(lines))
    assert [item.id for item in read_source(str(source), max_chars=MAX)] == [
        "same",
        "same-2",
        "same-3",
    ]


def test_safe_id_rules() -> None:
    url = "https://news.example/2026/11/25/council-budget-vote"
    assert safe_id(url) == "2026-11-25-council-budget-vote"
    assert safe_id("https://news.example/") == "news.example"
    assert safe_id("  ..weird id / with spaces!!  ") == "weird-id-with-spaces"
    assert safe_id("x" * 300) == "x" * 128
    long_url = "https://news.example/" + "/".join(["section"] * 30) + "/final-story"
    assert safe_id(long_url).endswith("section-final-story")
    assert len(safe_id(long_url)) <= 128
    hashed = safe_id("///")
    assert hashed.startswith("item-") and len(hashed) == 21
    assert hashed == safe_id("///")


# --- sources over HTTP and bad sources ------------------------------------------------------


async def _chunks() -> AsyncIterator[bytes]:
    for _ in range(64):
        yield b"<!-- padding -->" * 64


def _app() -> Starlette:
    def feed(request: Request) -> Response:
        return Response(RSS, media_type="application/rss+xml")

    def page(request: Request) -> Response:
        return Response(f"<html><body><p>{COUNCIL}</p></body></html>", media_type="text/html")

    def big(request: Request) -> Response:
        return Response(RSS + "<!--" + "x" * 50_000 + "-->", media_type="application/rss+xml")

    def endless(request: Request) -> Response:
        return StreamingResponse(_chunks(), media_type="application/rss+xml")

    return Starlette(
        routes=[
            Route("/feed.xml", feed),
            Route("/old-feed", lambda request: RedirectResponse("/feed.xml", 301)),
            Route("/page.html", page),
            Route("/big.xml", big),
            Route("/endless.xml", endless),
        ]
    )


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(_app()) as url:
        yield url


def test_feed_over_http_follows_redirects(base_url: str) -> None:
    items = read_source(f"{base_url}/old-feed", max_chars=MAX)
    assert [item.id for item in items][:2] == [
        "2026-11-25-council-budget-vote",
        "local-library-reopens-edition-late",
    ]
    assert items[0].article is not None and items[0].article.byline == "Mara Quill"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing.xml", "HTTP 404"),
        ("/page.html", "not an RSS or Atom feed"),
        ("/big.xml", "too large"),  # refused on its Content-Length
        ("/endless.xml", "too large"),  # streamed without a length: cut off while reading
    ],
)
def test_bad_feed_urls_raise_input_error(base_url: str, path: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_source(base_url + path, max_chars=MAX, max_bytes=20_000)


def test_unreachable_url_and_other_schemes_raise_input_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    with pytest.raises(InputError, match="cannot fetch feed"):
        read_source(f"http://127.0.0.1:{port}/feed.xml", max_chars=MAX)
    with pytest.raises(InputError, match="unsupported URL scheme"):
        read_source("ftp://news.example/feed.xml", max_chars=MAX)


def test_missing_and_unsupported_sources_raise_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no such file or folder.*SOURCE must be"):
        read_source(str(tmp_path / "nowhere"), max_chars=MAX)
    with pytest.raises(InputError, match="unsupported SOURCE"):
        read_source(str(write(tmp_path / "list.csv", "id,title\n")), max_chars=MAX)
    with pytest.raises(InputError, match="not an RSS or Atom feed"):
        read_source(str(write(tmp_path / "data.xml", "<?xml version='1.0'?><x/>")), max_chars=MAX)
    big = write(tmp_path / "big.rss", RSS)
    with pytest.raises(InputError, match="too large"):
        read_source(str(big), max_chars=MAX, max_bytes=100)
