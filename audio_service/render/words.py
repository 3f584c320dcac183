"""Word timings of what an engine said, mapped back to the words of the text as written."""

from __future__ import annotations

import difflib
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from audio_service.timings import WordTiming

# Kept at a word's edges: they are said ("4.99%", "R&D", "#1").
_KEEP = frozenset("%&#@*+=$£€¥°")
# "U.S", "p.m": an abbreviation whose own full stop was taken for the sentence's.
_DOTTED_RE = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")


def _is_edge_punct(ch: str) -> bool:
    return ch not in _KEEP and unicodedata.category(ch).startswith("P")


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch in _KEEP or unicodedata.category(ch).startswith("S")


def split_words(text: str) -> list[str]:
    """The words of TEXT as a reader sees them: whitespace-separated, quotes, brackets and
    trailing commas dropped from the edges; a lone dash or quote is punctuation, not a word.

    A trailing full stop stays on an abbreviation that has one inside ("U.S.", "p.m.").
    """
    words: list[str] = []
    for token in text.split():
        if not any(_is_word_char(ch) for ch in token):
            continue
        start, end = 0, len(token)
        while _is_edge_punct(token[start]):
            start += 1
        while _is_edge_punct(token[end - 1]):
            end -= 1
        core = token[start:end]
        if token[end:].startswith(".") and _DOTTED_RE.fullmatch(core):
            core += "."
        words.append(core)
    return words


def _key(word: str) -> str:
    """What two spellings of one word share: case-folded letters and digits only."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", word).casefold() if ch.isalnum())


def _weight(word: str) -> int:
    return max(1, len(_key(word)))


@dataclass(frozen=True)
class _Group:
    """Source words [s0, s1) said target words [t0, t1)."""

    s0: int
    s1: int
    t0: int
    t1: int


def _groups(source: Sequence[str], target: Sequence[str]) -> list[_Group]:
    # A word with no letters or digits matches nothing, rather than every other such word.
    src = [_key(w) or f"\0s{i}" for i, w in enumerate(source)]
    tgt = [_key(w) or f"\0t{i}" for i, w in enumerate(target)]
    groups: list[_Group] = []
    stray: tuple[int, int] | None = None  # source words that said no target word yet
    matcher = difflib.SequenceMatcher(None, src, tgt, autojunk=False)
    for tag, s0, s1, t0, t1 in matcher.get_opcodes():
        if tag == "equal":
            new = [_Group(s0 + k, s0 + k + 1, t0 + k, t0 + k + 1) for k in range(s1 - s0)]
        elif tag == "delete":
            # Extra source words (an engine's repeated event) belong to the word before.
            if groups:
                last = groups[-1]
                groups[-1] = _Group(last.s0, s1, last.t0, last.t1)
            else:
                stray = (s0, s1)
            continue
        else:  # replace, insert
            new = [_Group(s0, s1, t0, t1)]
        if stray is not None:
            first = new[0]
            new[0] = _Group(stray[0], first.s1, first.t0, first.t1)
            stray = None
        groups.extend(new)
    return groups


def _split(start: int, end: int, words: Sequence[str]) -> list[tuple[int, int]]:
    """START..END shared among WORDS in proportion to their length."""
    total = sum(_weight(w) for w in words)
    bounds = [start]
    done = 0
    for w in words:
        done += _weight(w)
        bounds.append(start + round((end - start) * done / total))
    return list(itertools.pairwise(bounds))


def _transfer(
    source: Sequence[WordTiming], target: Sequence[str], span: tuple[int, int]
) -> list[tuple[int, int]]:
    """Spans for TARGET words, from the timed SOURCE words that said them."""
    if not target:
        return []
    if not source:
        return _split(span[0], span[1], target)
    spans: list[tuple[int, int]] = [(0, 0)] * len(target)
    for g in _groups([w.word for w in source], target):
        if g.t0 == g.t1:
            continue
        if g.s0 < g.s1:
            start, end = source[g.s0].start_ms, source[g.s1 - 1].end_ms
        else:
            # Said by no source word (an engine dropped its event): the gap it sits in.
            start = source[g.s0 - 1].end_ms if g.s0 > 0 else span[0]
            end = source[g.s0].start_ms if g.s0 < len(source) else span[1]
        spans[g.t0 : g.t1] = _split(start, max(start, end), target[g.t0 : g.t1])
    return spans


def written_words(
    written: str,
    spoken: Sequence[WordTiming],
    said: str | None = None,
    span: tuple[int, int] | None = None,
) -> tuple[WordTiming, ...]:
    """Timings of the words of WRITTEN, from the timed words an engine SPOKE.

    SAID is the text the engine was given (normalised, lexicon applied). Where it is known,
    the engine's words are first matched to it, so a word the engine timed oddly or not at
    all still gets its share; then its words are matched to the written ones. Words that
    are the same on both sides map one to one; a run that differs ("£3.5bn" against "three
    point five billion pounds", "Dr" against "Doctor") shares the run's time by length.
    Every written word comes out once, in order, with non-decreasing spans inside SPAN
    (default: from the first spoken word's start to the last one's end). Empty when the
    engine timed no word: there is nothing to map.
    """
    if not spoken:
        return ()
    ordered: list[WordTiming] = []
    for w in spoken:
        # Engines are trusted for order, not for never overlapping.
        start = max(w.start_ms, ordered[-1].start_ms if ordered else w.start_ms)
        ordered.append(WordTiming(w.word, start, max(start, w.end_ms)))
    lo, hi = span if span is not None else (ordered[0].start_ms, ordered[-1].end_ms)
    hi = max(lo, hi)
    if said is not None:
        said_words = split_words(said)
        if said_words:
            ordered = [
                WordTiming(w, s, e)
                for w, (s, e) in zip(
                    said_words, _transfer(ordered, said_words, (lo, hi)), strict=True
                )
            ]
    target = split_words(written)
    out: list[WordTiming] = []
    floor = lo
    for word, (start, end) in zip(target, _transfer(ordered, target, (lo, hi)), strict=True):
        start = min(max(start, floor), hi)
        end = min(max(end, start), hi)
        out.append(WordTiming(word, start, end))
        floor = end
    return tuple(out)
