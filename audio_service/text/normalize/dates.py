"""Dates, years, decades and clock times, read the BBC way (en-GB) or the AP way (en-US)."""

from __future__ import annotations

import re

from audio_service.text.normalize.number_words import cardinal, ordinal, plural_word, year

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_MONTH_ABBR = {m[:3]: m for m in _MONTHS} | {"Sept": "September"}
_MONTH = (
    r"(?P<mon>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_WEEKDAY = (
    r"(?:(?P<wd>(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day|Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|"
    r"Sat|Sun)\.?,?\s)?"
)
_WEEKDAY_ABBR = {
    "Mon": "Monday",
    "Tue": "Tuesday",
    "Tues": "Tuesday",
    "Wed": "Wednesday",
    "Thu": "Thursday",
    "Thur": "Thursday",
    "Thurs": "Thursday",
    "Fri": "Friday",
    "Sat": "Saturday",
    "Sun": "Sunday",
}
_DAY_SUFFIX = r"(?:st|nd|rd|th)?"
_YEAR_TAIL = r"(?:(?P<comma>,?)\s(?P<y>\d{4})(?![\w%]|[.,]\d))?"

_DAY_MONTH_RE = re.compile(
    rf"(?<![\w.,]){_WEEKDAY}(?:the\s)?(?P<d>[0-3]?\d){_DAY_SUFFIX}\s(?:of\s)?{_MONTH}(?!\w)"
    + _YEAR_TAIL
)
_MONTH_DAY_RE = re.compile(
    rf"(?<![\w.,]){_WEEKDAY}{_MONTH}\s(?:the\s)?(?P<d>[0-3]?\d){_DAY_SUFFIX}(?![\w%]|[.,:]\d)"
    + _YEAR_TAIL
)
# Patterns open with a character, not a lookbehind, so the regex engine skips straight to
# candidates (see numbers.num_not_after); the guard follows that first character.
_ISO_RE = re.compile(r"(?P<y>\d(?<![\w.,/-]\d)\d{3})-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?![\w-])")
_SLASH_DATE_RE = re.compile(
    r"(?<![\w.,/])(?P<p>[0-3]?\d)/(?P<q>[0-3]?\d)/(?P<y>\d{4}|\d{2})(?![\w/]|[.,]\d)"
)

# "[01]?\d" written digit first: a second digit only after a 0 or 1 (tried first, as before).
_TIME_AMPM_RE = re.compile(
    r"(?P<h>\d(?<![\w.,:]\d)(?:(?<=[01])\d)?)(?:[:.](?P<mi>[0-5]\d))?\s?(?P<ap>[aApP])"
    r"(?:\.[mM]|[mM])(?!\w)"
)
_TIME_HMS_RE = re.compile(r"(?<![\w.,:])(?P<h>\d{1,2}):(?P<mi>[0-5]\d):(?P<s>[0-5]\d)(?![\w:])")
# "[01]?\d|2[0-3]" digit first; the ":" after it means only one reading can ever succeed.
_TIME_24_RE = re.compile(
    r"(?P<h>\d(?<![\w.,:]\d)(?:(?<=[01])\d|(?<=2)[0-3])?):(?P<mi>[0-5]\d)(?![\w:]|[.,]\d)"
)
# "10.30" is a decimal unless a time zone or "at" says it is a time.
_TIME_DOT_RE = re.compile(
    r"(?:(?<=\bat\s)|(?<=\bby\s)|(?<=\buntil\s))(?P<h>[01]?\d|2[0-3])\.(?P<mi>[0-5]\d)(?![\w.,]|\s?%)"
    r"|(?<![\w.,])(?P<h2>[01]?\d|2[0-3])\.(?P<mi2>[0-5]\d)"
    r"(?=\s(?:GMT|BST|UTC|CET|CEST|EST|EDT|ET|PST|PDT|PT|CST|CDT|local time)\b)"
)

_YEAR_RANGE_RE = re.compile(
    r"(?P<a>1(?<![\w.,$£€¥-]1)[1-9]\d\d|2(?<![\w.,$£€¥-]2)0\d\d)[-/]"
    r"(?P<b>1[1-9]\d\d|20\d\d|\d\d)(?![\w%-]|[.,]\d)"
)
# The first character is matched outside the groups; _decade puts it back.
_DECADE_RE = re.compile(
    r"[\d'](?<![\w.,][\d'])"
    r"(?:(?<=1)(?P<y1>[1-9]\d0)|(?<=2)(?P<y2>0\d0)|(?<=')(?P<d1>[1-9]0)|(?<=[1-9])(?P<d2>0))s\b"
)
_YEAR_RE = re.compile(r"(?P<y>1(?<![\w.,$£€¥-]1)[1-9]\d\d|2(?<![\w.,$£€¥-]2)0\d\d)(?![\w%]|[.,]\d)")
# Necessary conditions for passes that rarely have anything to do.
_SLASH_DATE_HINT_RE = re.compile(r"/[0-3]?\d/\d")
_HMS_HINT_RE = re.compile(r":[0-5]\d:[0-5]\d")
_TIME_DOT_HINT_RE = re.compile(r"\d\.[0-5]\d")


def _is_us(locale: str) -> bool:
    return locale.lower().startswith("en-us")


def _month(name: str) -> str:
    return name if name in _MONTHS else _MONTH_ABBR.get(name[:4], _MONTH_ABBR.get(name[:3], name))


def _weekday(m: re.Match[str]) -> str:
    wd = m["wd"]
    if not wd:
        return ""
    return _WEEKDAY_ABBR.get(wd, wd) + " "


def _date_words(day: int, month: str, yr: str | None, locale: str, day_first: bool) -> str:
    """The spoken date; day_first keeps the writer's order ("9 February" vs "February 9")."""
    if day_first:
        words = f"the {ordinal(day, locale)} of {month}"
        return words + (f" {year(int(yr), locale)}" if yr else "")
    words = f"{month} {ordinal(day, locale)}" if _is_us(locale) else f"{month} the {ordinal(day)}"
    return words + (f", {year(int(yr), locale)}" if yr else "")


def _day_month(m: re.Match[str], locale: str) -> str:
    day = int(m["d"])
    if not 1 <= day <= 31:
        return m[0]
    return _weekday(m) + _date_words(day, _month(m["mon"]), m["y"], locale, day_first=True)


def _month_day(m: re.Match[str], locale: str) -> str:
    day = int(m["d"])
    if not 1 <= day <= 31:
        return m[0]
    return _weekday(m) + _date_words(day, _month(m["mon"]), m["y"], locale, day_first=False)


def _numeric_date(day: int, month: int, yr: str, locale: str) -> str | None:
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None
    if len(yr) == 2:
        yr = ("20" if int(yr) < 50 else "19") + yr
    return _date_words(day, _MONTHS[month - 1], yr, locale, day_first=not _is_us(locale))


def _iso(m: re.Match[str], locale: str) -> str:
    words = _numeric_date(int(m["d"]), int(m["m"]), m["y"], locale)
    return m[0] if words is None else words


def _slash_date(m: re.Match[str], locale: str) -> str:
    p, q = int(m["p"]), int(m["q"])
    day, month = (q, p) if _is_us(locale) else (p, q)
    words = _numeric_date(day, month, m["y"], locale)
    return m[0] if words is None else words


def _minutes(mi: int) -> str:
    return f"oh {cardinal(mi)}" if mi < 10 else cardinal(mi)


def _ampm(m: re.Match[str], locale: str) -> str:
    h = int(m["h"])
    if not 0 < h <= 12:
        return m[0]
    mi = int(m["mi"]) if m["mi"] else 0
    words = cardinal(h, locale) if mi == 0 else f"{cardinal(h, locale)} {_minutes(mi)}"
    # Dotted "a.m" is what eSpeak reliably reads as two letters ("a m" becomes "uh m").
    return f"{words} {m['ap'].lower()}.m"


def _clock(h: int, mi: int, locale: str) -> str:
    if mi:
        return f"{cardinal(h, locale)} {_minutes(mi)}"
    if h == 0:
        return "midnight"
    if h == 12:
        return "midday" if not _is_us(locale) else "noon"
    # BBC style: "14:00" is "fourteen hundred", "09:00" is "nine o'clock".
    return f"{cardinal(h, locale)} hundred" if h > 12 else f"{cardinal(h, locale)} o'clock"


def _time_24(m: re.Match[str], locale: str) -> str:
    return _clock(int(m["h"]), int(m["mi"]), locale)


def _time_dot(m: re.Match[str], locale: str) -> str:
    h, mi = (m["h"], m["mi"]) if m["h"] is not None else (m["h2"], m["mi2"])
    return _clock(int(h), int(mi), locale)


def _hms(m: re.Match[str], locale: str) -> str:
    h, mi, s = int(m["h"]), int(m["mi"]), int(m["s"])
    parts = [
        f"{cardinal(v, locale)} {unit}{'' if v == 1 else 's'}"
        for v, unit in ((h, "hour"), (mi, "minute"), (s, "second"))
        if v
    ]
    return " ".join(parts) if parts else m[0]


def _year_range(m: re.Match[str], locale: str) -> str:
    a, b = m["a"], m["b"]
    if len(b) == 2:
        if int(b) <= int(a[2:]):
            return m[0]
        tail = cardinal(int(b)) if int(b) >= 10 else f"oh {cardinal(int(b))}"
        return f"{year(int(a), locale)} to {tail}"
    if int(b) <= int(a):
        return m[0]
    return f"{year(int(a), locale)} to {year(int(b), locale)}"


def _decade(m: re.Match[str], locale: str) -> str:
    first = m[0][0]
    if m["y1"] or m["y2"]:
        return plural_word(year(int(first + (m["y1"] or m["y2"])), locale))
    return plural_word(cardinal(int(m["d1"] or first + m["d2"])))


def _year(m: re.Match[str], locale: str) -> str:
    return year(int(m["y"]), locale)


def normalize_dates(text: str, locale: str) -> str:
    """Full dates first, then clock times, then year ranges, decades and bare years."""
    text = _ISO_RE.sub(lambda m: _iso(m, locale), text)
    if "/" in text and _SLASH_DATE_HINT_RE.search(text):
        text = _SLASH_DATE_RE.sub(lambda m: _slash_date(m, locale), text)
    text = _DAY_MONTH_RE.sub(lambda m: _day_month(m, locale), text)
    text = _MONTH_DAY_RE.sub(lambda m: _month_day(m, locale), text)
    text = _TIME_AMPM_RE.sub(lambda m: _ampm(m, locale), text)
    if ":" in text:
        if _HMS_HINT_RE.search(text):
            text = _TIME_HMS_RE.sub(lambda m: _hms(m, locale), text)
        text = _TIME_24_RE.sub(lambda m: _time_24(m, locale), text)
    if _TIME_DOT_HINT_RE.search(text):
        text = _TIME_DOT_RE.sub(lambda m: _time_dot(m, locale), text)
    return text


def normalize_years(text: str, locale: str) -> str:
    """Year ranges, decades and bare years; run after money and units claim their numbers."""
    text = _YEAR_RANGE_RE.sub(lambda m: _year_range(m, locale), text)
    text = _DECADE_RE.sub(lambda m: _decade(m, locale), text)
    return _YEAR_RE.sub(lambda m: _year(m, locale), text)
