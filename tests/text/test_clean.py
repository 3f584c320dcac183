"""Tests for text cleaning and page-furniture rules."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from audio_service.errors import ConfigError
from audio_service.text.clean import (
    FurnitureRules,
    clean_text,
    drop_furniture,
    has_terminal_punctuation,
    load_furniture_rules,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("“Quoted” and ‘single’ and it’s", "\"Quoted\" and 'single' and it's"),
        ("«guillemets» ‹one›", "\"guillemets\" 'one'"),
        ("2021–22 season, pages 10 – 12", "2021-22 season, pages 10-12"),
        ("London–Paris route", "London-Paris route"),
        ("He paused – then spoke", "He paused - then spoke"),
        ("Her ally—Belarus—acted", "Her ally - Belarus - acted"),
        ("— Who said that?", "Who said that?"),
        ("a cold −5C night", "a cold -5C night"),
        ("well -- maybe", "well - maybe"),
        ("Wait for it…", "Wait for it..."),
        ("£5\u00a0million\u2009today\u202fat 9", "£5 million today at 9"),
        ("zero\u200bwidth\u200d join\ufeff", "zerowidth join"),
        ("nul\x00 and bell\x07 and del\x7f", "nul and bell and del"),
        ("soft\u00adhyphen", "softhyphen"),
        ("  lots \t of\n\n space  ", "lots of space"),
        ("AT&amp;T &pound;3 &#8220;hi&#8221; &nbsp;x", 'AT&T £3 "hi" x'),
        ("a huge mistake,`' she added", "a huge mistake,' she added"),
        ("**Bold** and __strong__ text", "Bold and strong text"),
        ("see [the report](https://example.org/r) now", "see the report now"),
        ("## A crosshead", "A crosshead"),
        ("- a list item", "a list item"),
        ("ﬁnal ＦＵＬＬ 𝐁𝐨𝐥𝐝", "final FULL Bold"),
        ("e\u0301te\u0301", "été"),
        ("£ $ € % ° ½ m²", "£ $ € % ° ½ m²"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ("snake_case stays", "snake_case stays"),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_clean_text_can_leave_entities_alone() -> None:
    # Text from an HTML parser is already decoded: a literal "&lt;" must survive.
    assert clean_text("type &lt;b&gt;", unescape=False) == "type &lt;b&gt;"
    assert clean_text("type &lt;b&gt;") == "type <b>"


def test_clean_text_is_fast_on_a_long_article() -> None:
    text = "Mr Wallace said “we’re ready” – at 10.30am… \u00a0" * 20_000
    started = time.perf_counter()
    cleaned = clean_text(text)
    print(f"clean_text: {len(text):,} chars in {time.perf_counter() - started:.3f}s")
    assert "\u00a0" not in cleaned and "…" not in cleaned


@pytest.mark.parametrize(
    "hostile",
    [" " * 200_000 + "é—x", "a" + "\t" * 200_000 + "–1", "[" * 100_000 + "](", "&#" * 100_000],
)
def test_clean_text_stays_linear_on_hostile_input(hostile: str) -> None:
    # A quadratic pattern (\s*— on a run of spaces) took minutes here before it was fixed.
    started = time.perf_counter()
    cleaned = clean_text(hostile)
    print(f"hostile {hostile[:3]!r}...: {time.perf_counter() - started:.3f}s")
    assert len(cleaned) <= len(hostile)


@pytest.mark.parametrize(
    ("line", "terminal"),
    [
        ("He said so.", True),
        ('to keep things at a "calmer level."', True),
        ('the "wrong" option.', True),
        ("Is it?", True),
        ("She said:", True),
        ("(as it was.)", True),
        ("Truss: West needs to deter Russia from invading Ukraine", False),
        ('There will be "economic consequences" if it happens', False),
    ],
)
def test_terminal_punctuation(line: str, terminal: bool) -> None:
    assert has_terminal_punctuation(line) is terminal


@pytest.fixture(scope="module")
def rules() -> FurnitureRules:
    return load_furniture_rules()


@pytest.mark.parametrize(
    "line",
    [
        "Listen to this article",
        "LISTEN TO THIS ARTICLE",
        "Loading audio...",
        "  Advertisement  ",
        "Share this article",
        "Sign up to our newsletter",
        "Read more: Council votes on a plan for the park",
        "READ MORE: Another story",
        "Related: Something else",
        "Pictured: The mayor at the opening",
        "Getty Images",
        "The harbour at dawn / Getty Images",
    ],
)
def test_furniture_lines_are_dropped(rules: FurnitureRules, line: str) -> None:
    assert drop_furniture(["First paragraph.", line, "Last paragraph."], rules) == [
        "First paragraph.",
        "Last paragraph.",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "Readers were asked to listen to this article before voting.",
        "Read more carefully, the report says something else.",
        "More from the council is expected next week.",
        "The Share this article button was removed, the editor said.",
    ],
)
def test_story_lines_that_look_like_furniture_are_kept(rules: FurnitureRules, line: str) -> None:
    assert drop_furniture([line, "Next."], rules) == [line, "Next."]


@pytest.mark.parametrize("marker", ["Latest World News", "See more Latest World News", "Most read"])
def test_cut_marker_drops_the_rest(rules: FurnitureRules, marker: str) -> None:
    paragraphs = ["Story ends here.", marker, "Other headline", "Another headline."]
    assert drop_furniture(paragraphs, rules) == ["Story ends here."]


def test_headline_rule_only_when_asked(rules: FurnitureRules) -> None:
    paragraphs = [
        "He said they were needed to keep things at a “calmer level.”",
        "Defence chief warns half of the army is on the border",
        "It was the “wrong” option.",
    ]
    cleaned = [clean_text(p) for p in paragraphs]
    assert drop_furniture(cleaned, rules) == cleaned
    assert drop_furniture(cleaned, rules, headlines=True) == [cleaned[0], cleaned[2]]


def test_headline_rule_keeps_a_list_the_story_introduced(rules: FurnitureRules) -> None:
    paragraphs = ["Measures include:", "more troops in Estonia", "a destroyer", "That is all."]
    assert drop_furniture(paragraphs, rules, headlines=True) == paragraphs


def test_rules_come_from_the_data_file(tmp_path: Path) -> None:
    path = tmp_path / "furniture.toml"
    path.write_text(
        '[drop]\nlines = ["Sponsored by Acme"]\nprefixes = ["Promo:"]\n'
        '[cut]\nlines = ["The end"]\n[headlines]\nformats = []\n',
        encoding="utf-8",
    )
    rules = load_furniture_rules(path)
    paragraphs = ["Keep.", "sponsored by  ACME", "Promo: buy", "Listen to this article", "The end"]
    assert drop_furniture([*paragraphs, "Gone."], rules) == ["Keep.", "Listen to this article"]
    assert rules.headline_formats == frozenset()
    assert load_furniture_rules(path) is rules  # cached


def test_broken_rules_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "furniture.toml"
    path.write_text("[drop]\nlines = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a list of strings"):
        load_furniture_rules(path)
