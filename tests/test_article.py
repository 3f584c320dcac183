"""Tests for the article loaders: JSON, plain text, HTML, limits and the real sample page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audio_service.article import (
    MAX_ARTICLE_CHARS,
    Article,
    load_article,
    parse_article,
    parse_html,
    parse_json,
    parse_text,
)
from audio_service.errors import ArticleError, ArticleTooLargeError

EXAMPLES = Path(__file__).resolve().parents[1] / "audio_service" / "examples"


def _json(**fields: Any) -> str:
    return json.dumps(fields)


# --- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "First paragraph.\n\nSecond paragraph\nwrapped.",
        ["First paragraph.", "Second paragraph wrapped."],
        "<p>First paragraph.</p>\n<p>Second <b>paragraph</b><br>wrapped.</p>",
    ],
    ids=["text", "list", "html"],
)
def test_json_body_forms(body: Any) -> None:
    article = parse_json(_json(title="A title", body=body))
    assert article.title == "A title"
    assert article.body == ("First paragraph.", "Second paragraph wrapped.")


def test_json_fields_and_unknown_keys() -> None:
    article = parse_json(
        _json(
            title="T",
            body="Body.",
            subtitle="Sub",
            byline="By Ann Lee",
            published="2025-01-02",
            updated="2025-01-03T10:00",
            language="en-us",
            voice="alan",
            tags=["ignored"],
        ).encode()
    )
    assert article == Article(
        title="T",
        body=("Body.",),
        subtitle="Sub",
        byline="Ann Lee",
        published="2025-01-02",
        updated="2025-01-03T10:00",
        language="en-US",
        voice="alan",
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en-GB", "en-GB"), ("en-gb", "en-GB"), ("EN_US", "en-US"), ("en", ""), ("", ""), (None, "")],
)
def test_json_language(language: str | None, expected: str) -> None:
    assert parse_json(_json(title="T", body="B.", language=language)).language == expected


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ('{"title": "T", "body": 3}', "'body'"),
        ('{"title": 7, "body": "B."}', "'title'"),
        ('{"title": "T", "body": ["ok", 2]}', "'body' item 1"),
        ('{"title": "T", "body": "B.", "byline": {"x": 1}}', "'byline'"),
        ('{"title": "T", "body": "B.", "language": "fr"}', "'language'"),
        ('{"title": "T"}', "'body' is required"),
        ('["not", "an", "object"]', "must be an object"),
        ('{"title": "T", "body": ', "not valid JSON"),
        ("[" * 100_000, "not valid JSON"),
    ],
)
def test_json_errors_name_the_problem(doc: str, message: str) -> None:
    with pytest.raises(ArticleError, match=message):
        parse_json(doc)


# --- plain text -----------------------------------------------------------------------------


def test_text_title_and_paragraphs() -> None:
    article = parse_text(b"\n\nThe title\n\nOne line\nwrapped here.\n\n\n  \nTwo.\n")
    assert article.title == "The title"
    assert article.body == ("One line wrapped here.", "Two.")
    assert article.byline == article.subtitle == article.published == ""


def test_text_header_lines() -> None:
    text = (
        "Title here\r\n\r\n"
        "March 14, 2025, 6:05 p.m. ET | Updated: March 14, 2025, 9:30 p.m. ET\r\n\r\n"
        "A standfirst line\r\n\r\nBy Jo Bloggs\r\n\r\nFirst paragraph.\r\n"
    )
    article = parse_text(text)
    assert (article.published, article.updated) == ("2025-03-14T18:05", "2025-03-14T21:30")
    assert (article.subtitle, article.byline) == ("A standfirst line", "Jo Bloggs")
    assert article.body == ("First paragraph.",)


def test_text_without_byline_takes_no_standfirst() -> None:
    # Without a byline closing the header, the line after the title is story text.
    article = parse_text(
        "Title\n\n9 February 2022\n\nThe story starts here.\n\nBy then it was late."
    )
    assert article.published == "2022-02-09"
    assert article.subtitle == ""
    assert article.body == ("The story starts here.", "By then it was late.")


def test_markdown_heading_title() -> None:
    article = parse_article(b"# A **bold** title\n\nBody text.", "md")
    assert article.title == "A bold title"


# --- HTML -----------------------------------------------------------------------------------


def test_html_structure_and_furniture() -> None:
    html = """
    <script>var x = "<p>not text</p>";</script>
    <h1>Headline</h1>
    <p>First   para,
       <a href="#">with a link</a>.</p>
    <figure><img src="x.jpg"><figcaption>A caption.</figcaption></figure>
    <h2>A crosshead</h2>
    <div>Loose text in a div.<p>Nested para.</p>tail text.</div>
    <blockquote><p>Quoted words.</p></blockquote>
    <ul><li>item one</li><li>item two</li></ul>
    <aside><p>Related: other story</p></aside>
    <nav>Home</nav><footer>Copyright</footer><iframe src="x"></iframe>
    <form><button>Go</button></form>
    <p>Listen to this article</p>
    <p>Last&nbsp;para.</p>
    """
    article = parse_html(html)
    assert article.title == "Headline"
    assert article.body == (
        "First para, with a link.",
        "A crosshead",
        "Loose text in a div.",
        "Nested para.",
        "tail text.",
        "Quoted words.",
        "item one",
        "item two",
        "Last para.",
    )


def test_html_given_title_keeps_other_h1() -> None:
    article = parse_html("<h1>Same</h1><p>Body.</p><h1>Other</h1>", title="Same")
    assert article.title == "Same"
    assert article.body == ("Body.", "Other")


def test_html_survives_deep_nesting() -> None:
    html = "<div>" * 5000 + "<p>Deep text.</p>" + "</div>" * 5000
    assert parse_html(html, title="T").body == ("Deep text.",)


# --- bytes, limits, emptiness ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "text", "html"])
def test_invalid_utf8_is_an_article_error(fmt: str) -> None:
    with pytest.raises(ArticleError, match=r"not valid UTF-8 \(byte 6\)"):
        parse_article(b"Title \xff\xfe\n\nbody", fmt)


def test_nul_and_control_characters_are_cleaned_not_errors() -> None:
    article = parse_text(b"Ti\x00tle\n\nBo\x01dy\x1b text.")
    assert (article.title, article.body) == ("Title", ("Body text.",))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n\n \t ",
        "🎉🎉\n\n🙂 👍".encode(),
        b"...\n\n!!! ???",
        b'{"title": "", "body": ["", "   "]}',
        b"<p> </p><script>alert(1)</script>",
    ],
)
def test_no_speakable_text(data: bytes) -> None:
    fmt = "json" if data.startswith(b"{") else "html" if data.startswith(b"<") else "text"
    with pytest.raises(ArticleError, match="article has no speakable text"):
        parse_article(data, fmt)


def test_size_limit() -> None:
    assert MAX_ARTICLE_CHARS == 1_000_000
    with pytest.raises(ArticleTooLargeError, match="1000"):
        parse_text("Title\n\n" + "word " * 500, max_chars=1000)
    with pytest.raises(ArticleTooLargeError, match=str(MAX_ARTICLE_CHARS)):
        parse_text(b"x" * (4 * MAX_ARTICLE_CHARS + 1))
    words = "Title\n\n" + "A short sentence of news English here. " * 8_000  # ~50k words
    assert len(parse_text(words).body) == 1


def test_unknown_format_and_extension(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="unknown article format"):
        parse_article(b"x", "pdf")
    path = tmp_path / "story.pdf"
    path.write_bytes(b"x")
    with pytest.raises(ArticleError, match="unknown article extension"):
        load_article(path)
    with pytest.raises(ArticleError, match="cannot read"):
        load_article(tmp_path / "missing.txt")


# --- the project's examples and the real sample page ----------------------------------------


def test_example_council_budget() -> None:
    article = load_article(EXAMPLES / "council-budget.json")
    assert article.title.startswith("Council agrees £48.6m budget")
    assert article.language == "en-GB"
    assert article.byline == "Priya Castellane, Local Democracy Reporter"
    text = "\n".join(article.body)
    assert "Listen to this article" not in text and "Read more" not in text
    assert "Share this article" not in text
    assert "2025-26" in text and '"no realistic alternative"' in text
    assert len(article.body) == 11


def test_example_harbor_bridge() -> None:
    article = load_article(EXAMPLES / "harbor-bridge.txt")
    assert article.title.startswith("Harbor Bridge to close")
    assert article.byline == "Daniel Okafor-Reyes"
    assert article.subtitle.startswith("Commuters face longer trips")
    assert (article.published, article.updated) == ("2025-03-14T18:05", "2025-03-14T21:30")
    text = "\n".join(article.body)
    for furniture in ("Listen to this", "Advertisement", "Read more", "More stories", "bike lanes"):
        assert furniture not in text
    assert "suspension cable" not in text  # an embedded video title
    assert article.body[-1].endswith("from Sept. 1, 2025.")


def test_example_storm_warning() -> None:
    article = load_article(EXAMPLES / "storm-warning.html")
    assert article.title == "Amber warning as Storm Elowen heads for the south-west"
    assert article.byline == "Rhiannon Treharne, Environment Correspondent"
    assert article.published == "2025-11-06T07:15:00+00:00"
    text = "\n".join(article.body)
    for furniture in ("Porthleven", "dataLayer", "Related stories", "storms get their names"):
        assert furniture not in text
    for furniture in ("Share", "All rights reserved", "Home"):
        assert furniture not in article.body
    assert "Travel disruption expected" in article.body
    assert "40-60mm could fall in 12 hours. Up to 90mm" in text


def test_sample_news_page(sample_page: Path) -> None:
    article = load_article(sample_page)
    assert article.title == (
        "'Step back from invading Ukraine' Defence secretary warns Putin amid Nato talks"
    )
    assert article.byline == "Emma Soteriou"
    assert article.subtitle.startswith("Defence Secretary: Further British troops")
    assert (article.published, article.updated) == ("2022-02-09T22:31", "2022-02-10T10:08")
    text = "\n".join(article.body)
    for furniture in (
        "Listen to this article",
        "Loading audio",
        "Read more",
        "Latest World News",
        "See more",
        "Malaysia Helicopter Crash",
        "Modi",
        "Defence Sec warns half of Russia's military",
        "Truss: West needs to deter Russia",
        "`",
        "22:31",
    ):
        assert furniture not in text, furniture
    assert article.body[0].startswith("Defence Secretary Ben Wallace has called")
    assert (
        article.body[-1] == '"Diplomacy is the only way forward and Russia must pursue that path."'
    )
    assert any(p.endswith('at a "calmer level."') for p in article.body)
    assert len(article.body) == 27
