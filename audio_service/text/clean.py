"""Text cleaning: Unicode and markup repair of one string, and page-furniture removal."""

from __future__ import annotations

import html
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from audio_service.errors import ConfigError

FURNITURE_FILE = Path(__file__).resolve().parents[1] / "data" / "furniture.toml"

# Characters mapped one to one (or to nothing). Everything else keeps its meaning and is
# left for the normaliser: £ $ € % ° ½ ² and so on.
_CHAR_MAP: dict[str, str] = {
    # quotes and primes: eSpeak and the normaliser only know the ASCII ones
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u2039": "'",
    "\u203a": "'",
    "\u00b4": "'",
    "\u02bc": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    # hyphens and minus signs that are never clause breaks
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2212": "-",
    "\ufe63": "-",
    "\uff0d": "-",
    "\u2026": "...",
    # a stray backtick is a typo or markdown code fence, never something to say
    "`": "",
    "\u00ad": "",
    "\t": " ",
    "\n": " ",
    "\r": " ",
}
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
_SPACES += "\u202f\u205f\u3000"

# Control and format characters, surrogates (lone ones arrive from JSON "\ud800"), private use,
# variation selectors and the replacement character: none of them can be spoken.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff"
    "\ufff9-\ufffd\ufffe\uffff\ud800-\udfff\ue000-\uf8ff"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef]+"
)
# These run on text whose whitespace is already collapsed to single spaces: a pattern like
# \s*— would be quadratic on a long run of spaces.
_EM_DASH = re.compile(r" ?[\u2014\u2015] ?")
_EN_DASH_NUMBERS = re.compile(r"(?<=\d) ?\u2013 ?(?=\d)")
_EN_DASH_SPACED = re.compile(r" \u2013 ?|\u2013 ")
_DOUBLE_HYPHEN = re.compile(r"(?<=\w) ?-- ?(?=\w)")
_MD_LINK = re.compile(r"\[([^\[\]]{1,500})\]\([^()\s]{1,2000}\)")
_MD_EMPHASIS = re.compile(r"\*{2,}|(?<!\w)_{2,}|_{2,}(?!\w)")
_MD_LEAD = re.compile(r"^(?:#{1,6}|>|[-*+\u2022\u25aa\u25e6\u2023\u2219])\s+")
_ALNUM = re.compile(r"[^\W_]")
_TERMINAL = re.compile(r"""[.!?:;]['")\]]*$""")


@cache
def _table() -> dict[int, str]:
    """The translation table, built on first use (scans a few Unicode blocks once)."""
    table = {ord(k): v for k, v in _CHAR_MAP.items()}
    table.update({ord(c): " " for c in _SPACES})
    # Full-width forms, ligatures and "fancy text" maths letters are styling, not meaning.
    blocks = [range(0xFF01, 0xFF5F), range(0xFB00, 0xFB07), range(0x1D400, 0x1D800)]
    for block in blocks:
        for code in block:
            folded = unicodedata.normalize("NFKC", chr(code))
            if folded != chr(code) and code not in table:
                table[code] = folded
    return table


def clean_text(s: str, *, unescape: bool = True) -> str:
    """Repair one paragraph or field: Unicode, entities, dashes, markup leftovers, whitespace.

    Pass `unescape=False` for text an HTML parser has already decoded, so "&amp;lt;" stays "&lt;".
    """
    if unescape and "&" in s:
        s = html.unescape(s)
    s = " ".join(_INVISIBLE.sub("", s.translate(_table())).split())
    if not s.isascii():
        s = unicodedata.normalize("NFC", s)
        s = _EM_DASH.sub(" - ", s)
        s = _EN_DASH_NUMBERS.sub("-", s)
        s = _EN_DASH_SPACED.sub(" - ", s).replace("\u2013", "-")
    if "--" in s:
        s = _DOUBLE_HYPHEN.sub(" - ", s)
    if "](" in s:
        s = _MD_LINK.sub(r"\1", s)
    if "**" in s or "__" in s:
        s = _MD_EMPHASIS.sub("", s)
    # A bullet, heading mark or dialogue dash at the start opens nothing worth saying.
    return _MD_LEAD.sub("", " ".join(s.split()))


def has_speakable(s: str) -> bool:
    """True when the text contains at least one letter or digit."""
    return _ALNUM.search(s) is not None


def has_terminal_punctuation(s: str) -> bool:
    """True when a line ends like a sentence: . ! ? : ; possibly followed by closing quotes."""
    return _TERMINAL.search(s.rstrip()) is not None


def _fold(line: str) -> str:
    return " ".join(line.split()).casefold()


def _key(line: str) -> str:
    # Whole-line rules ignore trailing dots and colons: "Loading audio..." is "Loading audio".
    return _fold(line).rstrip(" .:")


@dataclass(frozen=True)
class FurnitureRules:
    """What a news page has around a story; loaded from data/furniture.toml."""

    drop_lines: frozenset[str] = frozenset()
    drop_prefixes: tuple[str, ...] = ()
    drop_suffixes: tuple[str, ...] = ()
    cut_lines: frozenset[str] = frozenset()
    cut_prefixes: tuple[str, ...] = ()
    cut_max_words: int = 8
    headline_formats: frozenset[str] = frozenset()
    headline_max_words: int = 20

    def is_cut(self, line: str) -> bool:
        if len(line.split()) > self.cut_max_words or has_terminal_punctuation(line):
            return False
        return _key(line) in self.cut_lines or _fold(line).startswith(self.cut_prefixes)

    def is_furniture(self, line: str) -> bool:
        folded = _fold(line)
        if _key(line) in self.drop_lines or folded.startswith(self.drop_prefixes):
            return True
        return (
            folded.endswith(self.drop_suffixes)
            and len(line.split()) <= self.cut_max_words
            and not has_terminal_punctuation(line)
        )

    def is_headline(self, line: str) -> bool:
        """A short unpunctuated line: an embedded video title or promoted headline."""
        return len(line.split()) <= self.headline_max_words and not has_terminal_punctuation(line)


def _strings(raw: dict[str, Any], section: str, name: str, path: Path) -> list[str]:
    value = raw.get(section, {}).get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: [{section}] {name} must be a list of strings")
    fold = _key if name == "lines" else _fold
    return [fold(clean_text(v)) for v in value if v.strip()]


def _int(raw: dict[str, Any], section: str, name: str, default: int, path: Path) -> int:
    value = raw.get(section, {}).get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{path}: [{section}] {name} must be a positive integer")
    return value


@cache
def _load(path: Path) -> FurnitureRules:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return FurnitureRules(
        drop_lines=frozenset(_strings(raw, "drop", "lines", path)),
        drop_prefixes=tuple(_strings(raw, "drop", "prefixes", path)),
        drop_suffixes=tuple(_strings(raw, "drop", "suffixes", path)),
        cut_lines=frozenset(_strings(raw, "cut", "lines", path)),
        cut_prefixes=tuple(_strings(raw, "cut", "prefixes", path)),
        cut_max_words=_int(raw, "cut", "max_words", 8, path),
        headline_formats=frozenset(_strings(raw, "headlines", "formats", path)),
        headline_max_words=_int(raw, "headlines", "max_words", 20, path),
    )


def load_furniture_rules(path: Path | None = None) -> FurnitureRules:
    """Read the furniture rules (the packaged file by default); cached per path."""
    return _load((path or FURNITURE_FILE).resolve())


def drop_furniture(
    paragraphs: list[str], rules: FurnitureRules, *, headlines: bool = False
) -> list[str]:
    """Remove furniture paragraphs and everything after a cut marker.

    With `headlines`, short unpunctuated lines between paragraphs go too, except after a
    paragraph ending in a colon, where they are the items of a list the story introduced.
    """
    kept: list[str] = []
    in_list = False
    for paragraph in paragraphs:
        if rules.is_cut(paragraph):
            break
        if rules.is_furniture(paragraph):
            continue
        if headlines and rules.is_headline(paragraph):
            if in_list:
                kept.append(paragraph)
            continue
        kept.append(paragraph)
        in_list = paragraph.rstrip().endswith(":")
    return kept
