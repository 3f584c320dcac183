"""Acronyms: which are spelled letter by letter ("B.B.C") and which are read as words ("Nato")."""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources

# Dotted capitals ("B.B.C") are what eSpeak NG reads letter by letter without fail: spaced
# letters turn a lone "A" into the article ("B A E" -> "bee uh ee"), and a final dot before a
# capitalised word makes it pause as if a sentence ended ("B.B.C. News"). Acronyms the writer
# already dotted ("U.S.") are left as written: before a lowercase word eSpeak does not pause.
_VOWELS = frozenset("AEIOUY")
_TOKEN_RE = re.compile(
    r"(?<![\w.&'-])(?P<w>[A-Za-z]*[A-Z][A-Za-z]*[A-Z][A-Za-z]*)(?P<pos>'s)?(?![\w&'+-])"
)


@dataclass(frozen=True)
class AcronymTable:
    """The acronym data file, parsed once."""

    spell: frozenset[str]
    words: dict[str, str]
    say: dict[str, str]
    say_re: re.Pattern[str] | None


@functools.cache
def load_acronyms() -> AcronymTable:
    """Read audio_service/data/acronyms.toml (cached: the file ships with the package)."""
    raw = resources.files("audio_service").joinpath("data/acronyms.toml").read_bytes()
    data = tomllib.loads(raw.decode("utf-8"))
    say = {str(k): str(v) for k, v in data.get("say", {}).items()}
    say_re = None
    if say:
        alternation = "|".join(re.escape(k) for k in sorted(say, key=len, reverse=True))
        say_re = re.compile(rf"(?<![\w&])(?:{alternation})(?![\w&+])")
    return AcronymTable(
        spell=frozenset(str(s) for s in data.get("spell", [])),
        words={str(k): str(v) for k, v in data.get("words", {}).items()},
        say=say,
        say_re=say_re,
    )


def spell(letters: str) -> str:
    """ "BBC" -> "B.B.C": the form eSpeak NG reads as letters."""
    return ".".join(ch for ch in letters if ch.isalpha())


def _spelled_plural(base: str) -> str:
    # "M.P.'s" keeps the final letter stressed and adds the /z/ without spelling an "s".
    return spell(base) + ".'s"


def _token(m: re.Match[str], table: AcronymTable) -> str:
    word, pos = m["w"], m["pos"]
    if word in table.words:
        return table.words[word] + (pos or "")
    if word in table.spell:
        return spell(word) + (".'s" if pos else "")
    if word.endswith("s") and word[:-1] in table.spell:
        return _spelled_plural(word[:-1])
    upper = word.isupper()
    if upper and 2 <= len(word) <= 5 and not _VOWELS.intersection(word):
        return spell(word) + (".'s" if pos else "")
    if (
        word.endswith("s")
        and word[:-1].isupper()
        and 2 <= len(word) - 1 <= 5
        and not _VOWELS.intersection(word[:-1])
    ):
        return _spelled_plural(word[:-1])
    return m[0]


def normalize_acronyms(text: str) -> str:
    """Spell or word-read acronyms by the data file, then by the no-vowel rule."""
    table = load_acronyms()
    if table.say_re is not None:
        text = table.say_re.sub(lambda m: table.say[m[0]], text)
    return _TOKEN_RE.sub(lambda m: _token(m, table), text)
