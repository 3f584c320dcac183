"""Money, percentages and units of measure: "£2.5bn", "10%", "-5C", "5ft 11in", "30mph"."""

from __future__ import annotations

import re
from collections.abc import Callable

from audio_service.text.normalize.number_words import (
    NUM,
    RANGE_SEP,
    SIGNED_NUM,
    cardinal,
    is_one,
    num_not_after,
    number,
    signed_num_not_after,
)

# symbol -> (singular, plural, minor singular, minor plural)
_CURRENCIES: dict[str, tuple[str, str, str, str]] = {
    "£": ("pound", "pounds", "penny", "pence"),
    "$": ("dollar", "dollars", "cent", "cents"),
    "US$": ("US dollar", "US dollars", "cent", "cents"),
    "A$": ("Australian dollar", "Australian dollars", "cent", "cents"),
    "C$": ("Canadian dollar", "Canadian dollars", "cent", "cents"),
    "NZ$": ("New Zealand dollar", "New Zealand dollars", "cent", "cents"),
    "HK$": ("Hong Kong dollar", "Hong Kong dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "sen", "sen"),
}
_SCALE_WORDS = {
    "k": "thousand",
    "m": "million",
    "mn": "million",
    "bn": "billion",
    "tn": "trillion",
    "thousand": "thousand",
    "million": "million",
    "billion": "billion",
    "trillion": "trillion",
}
_CUR = r"(?:US\$|A\$|C\$|NZ\$|HK\$|\$|£|€|¥)"
_SCALE = r"(?:k|mn|m|bn|tn|\s?thousand|\s?million|\s?billion|\s?trillion)(?![\w£$€])"

# Patterns open with a character, not a lookbehind, so the regex engine skips straight to
# candidates (see numbers.num_not_after); the guard follows that first character.
_CUR_FIRST = "|".join(
    re.escape(c[0]) + rf"(?<![\w$£€¥]{re.escape(c[0])})" + re.escape(c[1:])
    for c in ("US$", "A$", "C$", "NZ$", "HK$", "$", "£", "€", "¥")
)
_MONEY_RE = re.compile(
    rf"(?P<cur>{_CUR_FIRST})\s?(?P<a>{NUM})(?P<sa>{_SCALE})?"
    rf"(?:{RANGE_SEP}{_CUR}?(?P<b>{NUM})(?P<sb>{_SCALE})?)?"
)
_MINOR_RE = re.compile("(?P<a>" + num_not_after(r"\w.,$£€") + r")(?P<u>p|c)\b")
_SIGNED_A = "(?P<a>" + signed_num_not_after(r"\w.,-") + ")"
_PERCENT_RE = re.compile(_SIGNED_A + rf"(?:{RANGE_SEP}(?P<b>{SIGNED_NUM}))?\s?(?:%|pc\b)")
_TEMP_RE = re.compile(
    _SIGNED_A + rf"(?:{RANGE_SEP}(?P<b>{SIGNED_NUM}))?"
    r"(?:\s?°(?:\s?(?P<deg>[CF])\b)?|(?P<att>[CF])\b)"
)
_HEIGHT_RE = re.compile(r"(?P<a>\d(?<![\w.,]\d)\d?)\s?ft\s?(?P<b>\d{1,2})\s?ins?\b")

# unit -> (singular, plural), British spelling; American spelling is derived.
_UNITS: dict[str, tuple[str, str]] = {
    "km/h": ("kilometre per hour", "kilometres per hour"),
    "kph": ("kilometre per hour", "kilometres per hour"),
    "kmh": ("kilometre per hour", "kilometres per hour"),
    "mph": ("mile per hour", "miles per hour"),
    "km": ("kilometre", "kilometres"),
    "cm": ("centimetre", "centimetres"),
    "mm": ("millimetre", "millimetres"),
    "m": ("metre", "metres"),
    "mi": ("mile", "miles"),
    "yd": ("yard", "yards"),
    "yds": ("yard", "yards"),
    "ft": ("foot", "feet"),
    "in": ("inch", "inches"),
    "sq km": ("square kilometre", "square kilometres"),
    "sq m": ("square metre", "square metres"),
    "sq ft": ("square foot", "square feet"),
    "sq mi": ("square mile", "square miles"),
    "km2": ("square kilometre", "square kilometres"),
    "m2": ("square metre", "square metres"),
    "ha": ("hectare", "hectares"),
    "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"),
    "g": ("gram", "grams"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "l": ("litre", "litres"),
    "ml": ("millilitre", "millilitres"),
    "cl": ("centilitre", "centilitres"),
    "KB": ("kilobyte", "kilobytes"),
    "kB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "W": ("watt", "watts"),
    "kW": ("kilowatt", "kilowatts"),
    "MW": ("megawatt", "megawatts"),
    "GW": ("gigawatt", "gigawatts"),
    "kWh": ("kilowatt hour", "kilowatt hours"),
    "MWh": ("megawatt hour", "megawatt hours"),
    "GWh": ("gigawatt hour", "gigawatt hours"),
    "TWh": ("terawatt hour", "terawatt hours"),
    "hp": ("horsepower", "horsepower"),
    "bhp": ("brake horsepower", "brake horsepower"),
    "mins": ("minute", "minutes"),
    "min": ("minute", "minutes"),
    "hrs": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "h": ("hour", "hours"),
    "secs": ("second", "seconds"),
    "sec": ("second", "seconds"),
    "ms": ("millisecond", "milliseconds"),
    "s": ("second", "seconds"),
}
# Units that are also ordinary words or letters: only read as units when written
# straight after the number ("6in", "5l"), never "6 in the morning".
_ATTACHED_ONLY = frozenset({"in", "m", "mi", "g", "l", "h", "s", "ha", "W", "min", "sec", "hr"})
# "s" is far more often a plural ("the 1990s", "over-50s") than seconds; only decimals
# ("9.58s") are race times.
_DECIMAL_ONLY = frozenset({"s"})
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
# The match starts at the number; an "a"/"an" just before it is found by _article and kept
# in place (the reading only uses it to choose the singular: "a 10km run").
_UNIT_RE = re.compile(
    "(?P<a>" + num_not_after(r"\w.,-") + rf")(?:{RANGE_SEP}(?P<b>{NUM}))?"
    rf"(?P<sp>\s?)(?P<u>{_UNIT_ALT})(?![\w/])"
)
_ARTICLE_RE = re.compile(r"[Aa](?<![\w.,-][Aa])n?\s")
# Words after "1.5m" that show metres are meant rather than million.
_METRE_CUES = re.compile(
    r"\s(?:tall|high|long|wide|deep|away|above|below|under|sprint|race|hurdles|freestyle|"
    r"backstroke|breaststroke|butterfly|relay|final|heats?|metres|record|title|gold|silver|"
    r"bronze|medal|champion|event|of\s(?:water|snow|rain|sea)|\(|,\s?\d)\b"
)


def _american(words: str, locale: str) -> str:
    if locale.lower().startswith("en-us"):
        return words.replace("metre", "meter").replace("litre", "liter")
    return words


def _amount(text: str, locale: str) -> str:
    return number(text, locale)


def _money(m: re.Match[str], locale: str) -> str:
    cur = m["cur"]
    major1, major_n, minor1, minor_n = _CURRENCIES[cur]
    a, b = m["a"], m["b"]
    sa = _SCALE_WORDS[m["sa"].strip()] if m["sa"] else ""
    sb = _SCALE_WORDS[m["sb"].strip()] if m["sb"] else ""
    if b is not None:
        left = _amount(a, locale) + (f" {sa}" if sa and sa != sb else "")
        right = _amount(b, locale) + (f" {sb}" if sb else "")
        return f"{left} to {right} {major_n}"
    if sa:
        return f"{_amount(a, locale)} {sa} {major_n}"
    whole, _, cents = a.replace(",", "").partition(".")
    if len(cents) == 2:
        # "£3.50" is said "three pounds fifty", and "£0.50" "fifty pence".
        minor = int(cents)
        if int(whole) == 0:
            return f"{cardinal(minor, locale)} {minor1 if minor == 1 else minor_n}"
        head = f"{cardinal(int(whole), locale)} {major1 if int(whole) == 1 else major_n}"
        return head if minor == 0 else f"{head} {cardinal(minor, locale)}"
    return f"{_amount(a, locale)} {major1 if is_one(a) else major_n}"


def _minor(m: re.Match[str], locale: str) -> str:
    a = m["a"]
    if m["u"] == "p":
        return f"{_amount(a, locale)} {'penny' if is_one(a) else 'pence'}"
    return f"{_amount(a, locale)} {'cent' if is_one(a) else 'cents'}"


def _percent_word(locale: str) -> str:
    return "percent" if locale.lower().startswith("en-us") else "per cent"


def _percent(m: re.Match[str], locale: str) -> str:
    words = _amount(m["a"], locale)
    if m["b"] is not None:
        words += " to " + _amount(m["b"], locale)
    return f"{words} {_percent_word(locale)}"


def _temperature(m: re.Match[str], locale: str) -> str:
    a, b = m["a"], m["b"]
    scale = m["deg"] or m["att"]
    words = _amount(a, locale)
    if b is not None:
        words += " to " + _amount(b, locale)
    deg = "degree" if b is None and is_one(a) else "degrees"
    if scale is None:
        return f"{words} {deg}"
    return f"{words} {deg} {'Celsius' if scale == 'C' else 'Fahrenheit'}"


def _height(m: re.Match[str], locale: str) -> str:
    return f"{cardinal(int(m['a']), locale)} foot {cardinal(int(m['b']), locale)}"


def _article(text: str, start: int) -> bool:
    """True when "a " or "an " (a word on its own) ends right at `start`."""
    for back in (3, 2):
        if start >= back:
            art = _ARTICLE_RE.match(text, start - back)
            if art is not None and art.end() == start:
                return True
    return False


def _unit(m: re.Match[str], locale: str) -> str:
    unit, a, b = m["u"], m["a"], m["b"]
    if m["sp"] and unit in _ATTACHED_ONLY:
        return m[0]
    if unit in _DECIMAL_ONLY and "." not in a:
        return m[0]
    if unit == "m" and not _METRE_CUES.match(m.string, m.end()):
        # "1.5m" in news copy is nearly always a million; metres need a cue word after it.
        scale = "million"
        words = _amount(a, locale) + (f" to {_amount(b, locale)}" if b else "")
        return f"{words} {scale}"
    singular, plural = _UNITS[unit]
    words = _amount(a, locale)
    if b is not None:
        words += " to " + _amount(b, locale)
    # "a 10km run" takes the singular, like "a ten-kilometre run".
    name = singular if (b is None and is_one(a)) or _article(m.string, m.start()) else plural
    return f"{words} {_american(name, locale)}"


def _bind(fn: Callable[[re.Match[str], str], str], locale: str) -> Callable[[re.Match[str]], str]:
    return lambda m: fn(m, locale)


def normalize_money_and_units(text: str, locale: str) -> str:
    """Money first (its scales look like units), then temperatures, heights and units."""
    if "£" in text or "$" in text or "€" in text or "¥" in text:
        text = _MONEY_RE.sub(_bind(_money, locale), text)
    text = _MINOR_RE.sub(_bind(_minor, locale), text)
    if "%" in text or "pc" in text:
        text = _PERCENT_RE.sub(_bind(_percent, locale), text)
    text = _TEMP_RE.sub(_bind(_temperature, locale), text)
    if "ft" in text:
        text = _HEIGHT_RE.sub(_bind(_height, locale), text)
    return _UNIT_RE.sub(_bind(_unit, locale), text)
