"""Numbers left after dates, money and units: scores, ranges, fractions, ordinals, plain numbers."""

from __future__ import annotations

import re

from audio_service.text.normalize.number_words import (
    NUM,
    cardinal,
    digits,
    num_not_after,
    number,
    ordinal,
    plural_word,
)

# Each pattern opens with a character, not a lookbehind, so the regex engine skips straight to
# candidates (see numbers.num_not_after); the guard follows that first character.
_SPECIAL_RE = re.compile(
    r"(?P<s>2(?<![\w/.,]2)4/7|9(?<![\w/.,]9)/11|7(?<![\w/.,]7)/7|3(?<![\w/.,]3)65/24/7)(?![\w/])"
)
_SPECIAL = {
    "24/7": "twenty-four seven",
    "9/11": "nine eleven",
    "7/7": "seven seven",
    "365/24/7": "three sixty-five, twenty-four seven",
}
_PAIR_RE = re.compile("(?P<a>" + num_not_after(r"\w.,-") + rf")-(?P<b>{NUM})(?![\w%]|[.,]\d)")
# A score needs a sporting or electoral word around it; otherwise "10-15" is a range.
_SCORE_BEFORE = re.compile(
    r"\b(?:won|win|wins|winning|lost|lose|loses|losing|beat|beats|beaten|beating|defeated|"
    r"defeat|drew|draw|draws|drawn|lead|leads|led|leading|trail|trailed|trailing|thrashed|"
    r"edged|routed|crushed|hammered|stunned|score|scored|scoreline|finished|ended|at)\b"
    r"(?:\s[\w'-]{1,20}){0,3}\s$"
)
_SCORE_AFTER = re.compile(
    r"\s(?:win|wins|tie|ties|victory|victories|defeat|defeats|loss|losses|draw|draws|lead|"
    r"thrashing|triumph|home|away|aggregate|scoreline|success|reverse|humbling|on\b|in\sfavour)"
)
# Both shapes start with a digit: "2 1/2" (whole, then fraction) is tried before "1/2"; the
# first digit is matched once, outside the groups, and put back by _fraction_parts.
_FRACTION_RE = re.compile(
    r"\d(?<![\w.,/]\d)(?:(?P<whole>\d{0,5})\s(?P<a>\d{1,3})|(?P<a1>\d{0,2}))"
    r"/(?P<b>\d{1,3})(?![\w/]|[.,]\d)"
)
_UNICODE_FRACTIONS = {"½": (1, 2), "¼": (1, 4), "¾": (3, 4), "⅓": (1, 3), "⅔": (2, 3)}
_UNICODE_FRACTION_RE = re.compile(r"(?:(?<![\w.,])(?P<whole>\d{1,6})\s?)?(?P<f>[½¼¾⅓⅔])")
_ORDINAL_RE = re.compile(r"(?P<n>\d(?<![\w.,]\d)(?:\d{0,2}(?:,\d{3})+|\d{0,14}))(?:st|nd|rd|th)\b")
_SCALE_RE = re.compile("(?P<a>" + num_not_after(r"\w.,") + r")\s?(?P<s>k|bn|mn|tn)\b")
_SCALES = {"k": "thousand", "bn": "billion", "mn": "million", "tn": "trillion"}
_PLURAL_RE = re.compile(r"(?P<n>\d(?<![\w.,]\d)\d{0,2})s\b")
_NEGATIVE_RE = re.compile(r"-(?<![\w.,-]-)(?=\d)")
_LEADING_ZERO_RE = re.compile(r"(?P<n>0(?<![\w.,]0)\d+)(?![\w]|[.,]\d)")
_PLAIN_RE = re.compile("(?P<n>" + num_not_after(r"\w.,") + r")(?![\dA-Za-z])")
# Whatever digits are still left (over-long runs, odd separators) are read one by one, except
# inside letter-digit codes ("A1", "M25", "COP26") that eSpeak NG already reads well.
_LEFTOVER_RE = re.compile(r"\d(?<![A-Za-z\d]\d)\d*(?![A-Za-z\d])")
_UNICODE_FRACTION_CHARS = "".join(_UNICODE_FRACTIONS)

_DENOMINATORS = {2: ("half", "halves"), 4: ("quarter", "quarters")}


def _is_us(locale: str) -> bool:
    return locale.lower().startswith("en-us")


def _score_side(value: str, locale: str) -> str:
    if value == "0":
        return "zero" if _is_us(locale) else "nil"
    return cardinal(int(value), locale)


def _pair(m: re.Match[str], locale: str) -> str:
    a, b = m["a"], m["b"]
    before = m.string[max(0, m.start() - 60) : m.start()]
    after = m.string[m.end() : m.end() + 25]
    small = a.isdigit() and b.isdigit() and len(a) <= 2 and len(b) <= 2
    if small and (_SCORE_BEFORE.search(before) or _SCORE_AFTER.match(after)):
        if a == b and not _is_us(locale):
            # British scores: "one-all", and "nil-nil" for a goalless draw.
            return "nil-nil" if a == "0" else f"{cardinal(int(a))}-all"
        return f"{_score_side(a, locale)}-{_score_side(b, locale)}"
    if a.startswith("0") and len(a) > 1:
        return m[0]
    return f"{number(a, locale)} to {number(b, locale)}"


def fraction_words(num: int, den: int, locale: str) -> str | None:
    """3/4 -> "three-quarters", 1/2 -> "a half"; None when it is not a simple fraction."""
    if not (0 < num < den < 10):
        return None
    if den in _DENOMINATORS:
        one, many = _DENOMINATORS[den]
    else:
        one = ordinal(den, locale)
        many = one + "s"
    return f"a {one}" if num == 1 else f"{cardinal(num, locale)}-{many}"


def _fraction(m: re.Match[str], locale: str) -> str:
    first, whole = m[0][0], m["whole"]
    if whole is not None:
        whole, a_text = first + whole, m["a"]
    else:
        a_text = first + m["a1"]
    a, b = int(a_text), int(m["b"])
    words = fraction_words(a, b, locale)
    if words is None:
        head = f"{number(whole, locale)} " if whole else ""
        # "8/10" in reviews and surveys is "eight out of ten".
        return f"{head}{cardinal(a, locale)} out of {cardinal(b, locale)}"
    if whole:
        return f"{number(whole, locale)} and {words}"
    return words


def _unicode_fraction(m: re.Match[str], locale: str) -> str:
    a, b = _UNICODE_FRACTIONS[m["f"]]
    words = fraction_words(a, b, locale) or ""
    return f"{number(m['whole'], locale)} and {words}" if m["whole"] else f" {words}"


def _ordinal(m: re.Match[str], locale: str) -> str:
    value = m["n"].replace(",", "")
    return ordinal(int(value), locale)


def _scale(m: re.Match[str], locale: str) -> str:
    return f"{number(m['a'], locale)} {_SCALES[m['s']]}"


def _leading_zero(m: re.Match[str]) -> str:
    return digits(m["n"], zero="oh")


def normalize_numbers(text: str, locale: str) -> str:
    """Read every remaining number; must run after dates, money, units and years."""
    if "/" in text:
        text = _SPECIAL_RE.sub(lambda m: _SPECIAL[m["s"]], text)
    if "-" in text:
        text = _PAIR_RE.sub(lambda m: _pair(m, locale), text)
    if "/" in text:
        text = _FRACTION_RE.sub(lambda m: _fraction(m, locale), text)
    if any(ch in text for ch in _UNICODE_FRACTION_CHARS):
        text = _UNICODE_FRACTION_RE.sub(lambda m: _unicode_fraction(m, locale), text)
    text = _ORDINAL_RE.sub(lambda m: _ordinal(m, locale), text)
    text = _SCALE_RE.sub(lambda m: _scale(m, locale), text)
    text = _PLURAL_RE.sub(lambda m: plural_word(cardinal(int(m["n"]), locale)), text)
    if "-" in text:
        text = _NEGATIVE_RE.sub("minus ", text)
    text = _LEADING_ZERO_RE.sub(_leading_zero, text)
    text = _PLAIN_RE.sub(lambda m: number(m["n"], locale), text)
    return _LEFTOVER_RE.sub(lambda m: f" {digits(m[0])} ", text)
