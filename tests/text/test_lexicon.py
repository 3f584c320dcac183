"""Tests for audio_service.text.lexicon: matching, overrides, versions and rule files."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio_service.errors import InputError
from audio_service.text.lexicon import (
    Lexicon,
    Rule,
    add_rule,
    list_rules,
    load_lexicon,
    parse_tsv,
    remove_rule,
    validate_scope,
)

REPO_LEXICON = Path(__file__).resolve().parents[2] / "voices" / "lexicon"


def _lex(*rules: Rule) -> Lexicon:
    return Lexicon(rules)


def test_word_boundaries() -> None:
    lex = _lex(Rule("Kyiv", "Keev"))
    assert lex.apply("Kyiv, Kyivan, in-Kyiv and Kyiv's") == "Keev, Kyivan, in-Keev and Keev's"


def test_case_insensitive_by_default_and_case_flag() -> None:
    lex = _lex(Rule("kyiv", "Keev"), Rule("Xi", "Shee", case_sensitive=True))
    assert lex.apply("KYIV kyiv Kyiv") == "Keev Keev Keev"
    assert lex.apply("Xi and xi and XI") == "Shee and xi and XI"


def test_longest_phrase_first_across_case_modes() -> None:
    lex = _lex(
        Rule("Xi", "Shee", case_sensitive=True),
        Rule("Xi Jinping", "Shee Jin-ping"),
        Rule("Khan", "Kahn"),
        Rule("Khan Younis", "Kahn Yoonis"),
    )
    assert lex.apply("Xi Jinping in Khan  Younis; Khan, Xi.") == (
        "Shee Jin-ping in Kahn Yoonis; Kahn, Shee."
    )


def test_single_pass_does_not_rewrite_replacements() -> None:
    lex = _lex(Rule("a", "b"), Rule("b", "c"))
    assert lex.apply("a b") == "b c"


def test_empty_lexicon_is_identity() -> None:
    assert Lexicon().apply("anything at all") == "anything at all"


def test_many_rules_compile_and_apply() -> None:
    lex = Lexicon(tuple(Rule(f"name{i}", f"say{i}") for i in range(5000)))
    assert lex.apply("name4999 met name12 and name") == "say4999 met say12 and name"


def test_version_changes_only_when_rules_change() -> None:
    a = _lex(Rule("Kyiv", "Keev"), Rule("Rafah", "Raffa"))
    same = _lex(Rule("Rafah", "Raffa"), Rule("Kyiv", "Keev"))
    changed = _lex(Rule("Kyiv", "Keeve"), Rule("Rafah", "Raffa"))
    flagged = _lex(Rule("Kyiv", "Keev", case_sensitive=True), Rule("Rafah", "Raffa"))
    assert a.version == same.version
    assert len({a.version, changed.version, flagged.version}) == 3
    assert len(a.version) == 64


def test_parse_tsv_skips_comments_blank_and_bad_rows() -> None:
    rules = parse_tsv("# note\n\nKyiv\tKeev\nnoreplacement\nXi\tShee\tcase\nbad\tx\twhat\n")
    assert [(r.word, r.replacement, r.case_sensitive) for r in rules] == [
        ("Kyiv", "Keev", False),
        ("Xi", "Shee", True),
    ]


def test_later_scopes_override_earlier(tmp_path: Path) -> None:
    (tmp_path / "common.tsv").write_text("Qatar\tKattar\nKyiv\tKeev\n", encoding="utf-8")
    (tmp_path / "en-US.tsv").write_text("qatar\tKatter\n", encoding="utf-8")
    (tmp_path / "voice-1.tsv").write_text("Kyiv\tKeeve\n", encoding="utf-8")
    gb = load_lexicon(tmp_path, "en-GB", "voice-2")
    us = load_lexicon(tmp_path, "en-US", "voice-1")
    assert gb.apply("Qatar, Kyiv") == "Kattar, Keev"
    assert us.apply("Qatar, Kyiv") == "Katter, Keeve"
    assert len(us.rules) == 2


def test_add_list_remove_round_trip(tmp_path: Path) -> None:
    add_rule(tmp_path, "en-gb-espeak", "Kyiv", "Keev")
    add_rule(tmp_path, "en-gb-espeak", "Xi", "Shee", flags="case")
    add_rule(tmp_path, "en-gb-espeak", "kyiv", "Keeve")  # replaces, does not duplicate
    rules = list_rules(tmp_path, "en-gb-espeak")
    assert [(r.word, r.replacement, r.case_sensitive) for r in rules] == [
        ("Xi", "Shee", True),
        ("kyiv", "Keeve", False),
    ]
    before = load_lexicon(tmp_path, "en-GB", "en-gb-espeak").version
    assert remove_rule(tmp_path, "en-gb-espeak", "KYIV") is True
    assert remove_rule(tmp_path, "en-gb-espeak", "Kyiv") is False
    after = load_lexicon(tmp_path, "en-GB", "en-gb-espeak")
    assert after.version != before
    assert after.apply("Kyiv Xi") == "Kyiv Shee"
    # The write is atomic: no temporary files are left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["en-gb-espeak.tsv"]


@pytest.mark.parametrize("scope", ["", "../etc/passwd", "a/b", ".hidden", "x" * 65, "sp ace"])
def test_invalid_scopes_are_rejected(tmp_path: Path, scope: str) -> None:
    with pytest.raises(InputError):
        validate_scope(scope)
    with pytest.raises(InputError):
        add_rule(tmp_path, scope, "Kyiv", "Keev")
    with pytest.raises(InputError):
        load_lexicon(tmp_path, "en-GB", scope)


@pytest.mark.parametrize(
    ("word", "replacement", "flags"),
    [("", "x", ""), ("x", "", ""), ("a\tb", "x", ""), ("x", "y\nz", ""), ("x", "y", "loud")],
)
def test_invalid_rules_are_rejected(
    tmp_path: Path, word: str, replacement: str, flags: str
) -> None:
    with pytest.raises(InputError):
        add_rule(tmp_path, "common", word, replacement, flags)


def test_shipped_lexicon_loads_for_both_voices() -> None:
    gb = load_lexicon(REPO_LEXICON, "en-GB", "en-gb-espeak")
    us = load_lexicon(REPO_LEXICON, "en-US", "en-us-espeak")
    assert 40 <= len(gb.rules) <= 120
    assert gb.apply("Zelensky visited Kyiv and Kharkiv.") == "zeh-lensky visited Keev and Harkiv."
    assert gb.apply("Qatar") == "Kattar"
    assert us.apply("Qatar") == "Katter"
    assert gb.version != us.version


def test_applied_version_changes_only_with_rules_the_text_uses() -> None:
    before = Lexicon((Rule("Kyiv", "Keev"), Rule("Rafah", "Rah-fah")))
    after = Lexicon((Rule("Kyiv", "Keeve"), Rule("Rafah", "Rah-fah")))
    assert before.applied_version("Talks in Rafah") == after.applied_version("Talks in Rafah")
    assert before.applied_version("Talks in Kyiv") != after.applied_version("Talks in Kyiv")
    assert before.applied_version("No names here") == Lexicon().applied_version("No names")
