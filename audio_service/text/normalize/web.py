"""Web text and symbols: markup, URLs, e-mail addresses, hashtags, @handles, & + = ~ / and kin."""

from __future__ import annotations

import re

_MARKUP_RE = re.compile(
    r"<[^<>\n]{0,300}>"  # HTML/XML tags that survived cleaning
    r"|\[(?:\d{1,3}|[a-z]|citation needed|edit|note \d{1,3})\]"  # footnote marks
    r"|(?<![\w*_])[*_]{1,3}(?=[^\s*_])"  # opening **bold** / _italic_
    r"|(?<=[^\s*_])[*_]{1,3}(?![\w*_])"  # closing
)
_TLDS = (
    "com|org|net|edu|gov|mil|int|uk|co|io|eu|info|news|tv|ly|me|de|fr|ie|au|ca|us|app|ai|nz|"
    "in|es|it|nl|ch|se|no|jp|cn|ru|ua|za|biz|online|site|org\\.uk"
)
_URL_RE = re.compile(
    r"(?<![\w@./-])(?:www\.)?"
    r"(?P<host>[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.(?:" + _TLDS + r"))"
    r"(?P<path>/(?:[\w.%=&+#~/-]{0,500}[\w/])?)?(?:\?[\w.%=&+#~/-]{0,500})?(?![\w@/])"
)
_SCHEME_URL_RE = re.compile(r"(?<![\w@])https?://(?:www\.)?(?P<rest>[^\s<>\"]{1,500}[\w/])")
_EMAIL_RE = re.compile(
    r"(?<![\w.+@-])(?P<user>[A-Za-z0-9][\w.+-]{0,63})@"
    r"(?P<dom>[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8})(?![\w@-])"
)
# Necessary for an e-mail address; opens with "@" so the engine can skip straight to it.
_EMAIL_HINT_RE = re.compile(r"@(?<=[\w.+-]@)[A-Za-z0-9-]{1,63}\.[A-Za-z0-9-]")
_MARKUP_CHARS = "<[*_"
# The symbol first, its guard after it: the engine skips to the symbol instead of trying the
# lookbehind at every character.
_HANDLE_RE = re.compile(r"@(?<![\w@]@)(?P<h>[A-Za-z0-9_]{1,30})(?!\w)")
_HASHTAG_RE = re.compile(r"#(?<![\w#&]#)(?P<h>[A-Za-z][A-Za-z0-9_]{0,60})(?!\w)")
_CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SEPARATORS = {".": "dot", "/": "slash", "-": "dash", "_": "underscore", "@": "at"}

# (trigger, pattern, words): each pattern starts at its symbol so the regex engine can skip
# straight to it, and only runs when its trigger occurs at all.
_SYMBOLS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("and/or", re.compile(r"\band/or\b"), "and or"),
    ("&", re.compile(r"&(?<=\s&)(?=\s)"), "and"),
    ("+", re.compile(r"\+(?<=\d\+)(?!\w)"), " plus"),
    ("+", re.compile(r"\+(?<![\w+]\+)(?=\d)"), "plus "),
    ("+", re.compile(r"\+(?<=\s\+)(?=\s)"), "plus"),
    ("=", re.compile(r"="), " equals "),
    ("#", re.compile(r"#(?=\d)"), "number "),
    ("°", re.compile(r"°"), " degrees"),
    ("×", re.compile(r"×"), " times "),
    ("x", re.compile(r"x(?<=\dx)(?=\d)"), " by "),
    ("~", re.compile(r"~(?<![\w~]~)\s?(?=\d)"), "about "),
    ("<", re.compile(r"<(?<![\w<]<)\s?(?=\d)"), "less than "),
    (">", re.compile(r">(?<![\w>]>)\s?(?=\d)"), "more than "),
    ("/", re.compile(r"/(?<=[A-Za-z]/)(?=[A-Za-z])"), " or "),
    ("@", re.compile(r"@(?<=\s@)(?=\s)"), "at"),
    ("|", re.compile(r"\|"), ", "),
    ("--", re.compile(r"-{2,}"), " - "),
    ("....", re.compile(r"\.{4,}"), "..."),
)
# Long runs of one punctuation mark ("!!!!", "////") say nothing; keep one.
_RUN_RE = re.compile(r"([!?,;:*_=~#/\\^])\1{2,}")
_TIMES_RE = re.compile(r"(?P<n>\d(?<![\w.,]\d)\d{0,5})x(?!\w)")


def split_camel(token: str) -> str:
    """ "BBCNews" -> "BBC News", "MeToo" -> "Me Too"; underscores become spaces."""
    return " ".join(_CAMEL_RE.findall(token)) or token


def _label(label: str) -> str:
    # Short vowel-less labels ("bbc", "nhs") are letters; anything else is read as a word.
    if label.isalpha() and 2 <= len(label) <= 3 and not set(label.lower()) & set("aeiouy"):
        return ".".join(label.upper())
    if label.lower() == "uk":
        return "U.K"
    return label


def _speak_address(text: str) -> str:
    parts = re.split(r"([./@_-])", text)
    return " ".join(
        _SEPARATORS[p] if p in _SEPARATORS else _label(p)
        for p in parts
        if p and not (p.isdigit() and len(p) >= 5)
    )


def _url(m: re.Match[str]) -> str:
    spoken = _speak_address(m["host"])
    path = (m["path"] or "").strip("/")
    if path:
        spoken += " slash " + _speak_address(path)
    return spoken


def _scheme_url(m: re.Match[str]) -> str:
    host, _, path = m["rest"].partition("/")
    spoken = _speak_address(host.split("?", 1)[0])
    path = path.split("?", 1)[0].strip("/")
    return spoken + (" slash " + _speak_address(path) if path else "")


def _email(m: re.Match[str]) -> str:
    return f"{_speak_address(m['user'])} at {_speak_address(m['dom'])}"


def normalize_markup_and_web(text: str) -> str:
    """Strip leftover markup, then read addresses before anything else splits them at dots."""
    if any(ch in text for ch in _MARKUP_CHARS):
        text = _MARKUP_RE.sub("", text)
    if "@" in text:
        if _EMAIL_HINT_RE.search(text):
            text = _EMAIL_RE.sub(_email, text)
        text = _HANDLE_RE.sub(lambda m: "at " + split_camel(m["h"].replace("_", " ")), text)
    if "#" in text:
        text = _HASHTAG_RE.sub(lambda m: "hashtag " + split_camel(m["h"].replace("_", " ")), text)
    if "://" in text:
        text = _SCHEME_URL_RE.sub(_scheme_url, text)
    if "." in text:
        text = _URL_RE.sub(_url, text)
    return text


_SLASH_WORDS_RE = re.compile(r"/(?<=[A-Za-z]/)(?=[A-Za-z])")


def normalize_slashes(text: str) -> str:
    """A slash between words read after numbers became words: "twenty/thirty" -> "or"."""
    return _SLASH_WORDS_RE.sub(" or ", text) if "/" in text else text


def normalize_symbols(text: str) -> str:
    """Read the symbols left after numbers, money and units have claimed theirs."""
    if "x" in text:
        text = _TIMES_RE.sub(lambda m: f"{m['n']} times", text)
    for trigger, pattern, words in _SYMBOLS:
        if trigger in text:
            text = pattern.sub(words, text)
    return _RUN_RE.sub(lambda m: " " if m[1] in "/\\" else m[1], text)
