"""Number words: cardinals, ordinals, years, decimals and digit strings, per locale."""

from __future__ import annotations

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
# Past this many digits nobody reads a number as a quantity; it is an identifier.
MAX_CARDINAL_DIGITS = 15

_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def uses_and(locale: str) -> bool:
    """British English says "a hundred and five"; AP-style American drops the "and"."""
    return not locale.lower().startswith("en-us")


def _under_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] if ones == 0 else f"{_TENS[tens]}-{_ONES[ones]}"


def _under_thousand(n: int, with_and: bool) -> str:
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _under_hundred(rest)
    head = f"{_ONES[hundreds]} hundred"
    if not rest:
        return head
    return f"{head} and {_under_hundred(rest)}" if with_and else f"{head} {_under_hundred(rest)}"


def cardinal(n: int, locale: str = "en-GB") -> str:
    """Read an integer as a quantity: 1005 -> "one thousand and five" (en-GB)."""
    if n < 0:
        return "minus " + cardinal(-n, locale)
    if n >= 10**MAX_CARDINAL_DIGITS:
        return digits(str(n))
    if n < 1000:
        return _under_thousand(n, uses_and(locale))
    with_and = uses_and(locale)
    parts: list[str] = []
    rest = n
    for value, name in _SCALES:
        if rest >= value:
            count, rest = divmod(rest, value)
            parts.append(f"{_under_thousand(count, with_and)} {name}")
    if rest:
        # "two thousand and five" but "two thousand, three hundred and five" needs no extra "and".
        if rest < 100 and with_and:
            parts.append("and")
        parts.append(_under_thousand(rest, with_and))
    return " ".join(parts)


def ordinal_word(words: str) -> str:
    """Turn the last word of a cardinal reading into its ordinal: "twenty-one" -> "twenty-first"."""
    head, sep, last = words.rpartition(" ")
    stem_head, hyphen, stem = last.rpartition("-")
    if stem in _ORDINAL_IRREGULAR:
        stem = _ORDINAL_IRREGULAR[stem]
    elif stem.endswith("y"):
        stem = stem[:-1] + "ieth"
    else:
        stem += "th"
    return f"{head}{sep}{stem_head}{hyphen}{stem}"


def ordinal(n: int, locale: str = "en-GB") -> str:
    """21 -> "twenty-first"."""
    return ordinal_word(cardinal(n, locale))


def plural_word(words: str) -> str:
    """Plural of a number reading, for decades and age groups: "ninety" -> "nineties"."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    if words.endswith("x"):
        return words + "es"
    return words + "s"


def year(n: int, locale: str = "en-GB") -> str:
    """Read a year as people say it: 1990 -> "nineteen ninety", 2005 -> "two thousand and five"."""
    if n < 1000 or n >= 10000:
        return cardinal(n, locale)
    century, rest = divmod(n, 100)
    if 2000 <= n < 2010 or n % 1000 == 0:
        return cardinal(n, locale)
    if rest == 0:
        return f"{_under_hundred(century)} hundred"
    if rest < 10:
        return f"{_under_hundred(century)} oh {_ONES[rest]}"
    return f"{_under_hundred(century)} {_under_hundred(rest)}"


def digits(text: str, zero: str = "zero") -> str:
    """Read a digit string one digit at a time; `zero` may be "oh" for phone-style numbers."""
    return " ".join(zero if ch == "0" else _ONES[int(ch)] for ch in text if ch.isdigit())


def zero_word(locale: str) -> str:
    """The word for a leading zero before a decimal point: British "nought", American "zero"."""
    return "zero" if locale.lower().startswith("en-us") else "nought"


def number(text: str, locale: str = "en-GB") -> str:
    """Read a written number such as "1,300,000", "3.25" or "-4" (no currency, no unit)."""
    text = text.replace(",", "")
    sign = ""
    if text.startswith("-"):
        sign, text = "minus ", text[1:]
    whole, _, frac = text.partition(".")
    if not whole and not frac:
        return text
    if len(whole) > MAX_CARDINAL_DIGITS:
        head = digits(whole)
    elif whole:
        head = cardinal(int(whole), locale)
    else:
        head = zero_word(locale)
    if whole == "0" and frac:
        head = zero_word(locale)
    if frac:
        return f"{sign}{head} point {digits(frac)}"
    return sign + head


def is_one(text: str) -> bool:
    """True when a written amount is exactly one, which takes a singular unit ("1 mile")."""
    return text.replace(",", "") in {"1", "-1"}


# A written number: "1,300,000", "42", "3.25". Callers put a lookbehind such as (?<![\w.,])
# in front so a match can only start at the beginning of a digit run; with the bounded
# repeats here that keeps every pattern linear on runs like "1" * 100000.
NUM = r"(?:\d{1,3}(?:,\d{3})+|\d{1,15})(?:\.\d{1,12})?"
# Signed number with the same guard, for temperatures and ranges below zero.
SIGNED_NUM = r"-?" + NUM
# Between the two ends of a range: "10-15", "10 - 15", "10 to 15" (never "10 -15", a minus).
RANGE_SEP = r"(?:-|\s-\s|\sto\s)"


# Why these exist: a pattern that opens with a lookbehind makes the regex engine try a match at
# every character, while one that opens with a plain character (or character class) lets it skip
# straight to candidates. So the guard "no X before the number" is written after the first digit,
# as a two-character lookbehind over X and that digit, which tests the same character.
def num_not_after(chars: str) -> str:
    """NUM not preceded by any character in the class body `chars` ("a-z" say); digit first."""
    return rf"\d(?<![{chars}]\d)(?:\d{{0,2}}(?:,\d{{3}})+|\d{{0,14}})(?:\.\d{{1,12}})?"


def signed_num_not_after(chars: str) -> str:
    """SIGNED_NUM not preceded by any of `chars`; starts with its sign or first digit."""
    return (
        rf"[-\d](?<![{chars}][-\d])(?:(?<=-)\d|(?<=\d))"
        r"(?:\d{0,2}(?:,\d{3})+|\d{0,14})(?:\.\d{1,12})?"
    )
