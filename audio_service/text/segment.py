"""Article -> list[Segment]: what the engine speaks, in order, with the pause after each."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

import pysbd

from audio_service.article import Article
from audio_service.voices import VoiceDef

# Engines pace and sound best on clause-sized input; a long sentence becomes clauses.
MAX_CHUNK_CHARS = 250
# eSpeak crashes on absurdly long "words"; nothing longer than this ever reaches an engine.
MAX_WORD_CHARS = 40
# The article's first chunk is what a first listener waits for: a neural voice takes about
# 0.1 s per second of speech on one core here, so the headline's first phrase goes alone.
FIRST_CHUNK_WORDS = 5
# A phrase boundary a headline can be cut at: before a word that opens a phrase of its own
# ("Council approves budget | despite protests"). Not before "of", "to", "in", "and": those
# bind what follows to what comes before ("Bank of England", "Fares to rise"), and a cut there
# would be heard as a break in the middle of a name.
_PHRASE_STARTS = frozenset(
    ("after", "amid", "as", "before", "but", "despite", "over", "while", "with", "without")
)
# pysbd's cost grows with the square of its input; longer paragraphs are cut into blocks first.
_BLOCK_CHARS = 1000


class SegmentKind(StrEnum):
    TITLE = "title"
    SUBTITLE = "subtitle"
    BYLINE = "byline"
    SENTENCE = "sentence"


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    text: str  # as written (captions, timings)
    spoken: str  # what the engine is given (normalised, lexicon applied)
    pause_after_ms: int
    paragraph: int  # index of the body paragraph, -1 for title/subtitle/byline


# Titles after which pysbd sometimes ends a sentence; a sentence never ends on one of these.
_TITLES = frozenset(
    (
        *("Mr.", "Mrs.", "Ms.", "Mx.", "Dr.", "Prof.", "St.", "Cllr.", "Rev.", "Revd."),
        *("Gen.", "Col.", "Capt.", "Lt.", "Maj.", "Sgt.", "Cpl.", "Brig.", "Adm.", "Cdr."),
        *("Insp.", "Supt.", "Det.", "Con.", "Sen.", "Rep.", "Gov.", "Pres.", "Hon.", "Fr."),
        *("Sr.", "Jr.", "Mt.", "Ft.", "vs.", "v.", "e.g.", "i.e.", "approx.", "c.", "cf."),
    )
)
_NUMBER_ABBREVIATIONS = frozenset(("No.", "no.", "Nos.", "Art.", "Fig.", "p.", "pp.", "Vol."))
_LONG_WORD = re.compile(rf"\S{{{MAX_WORD_CHARS + 1},}}")
# Letters and digits with up to three marks after them (a full stop, "://"), so no piece
# exceeds MAX_WORD_CHARS and a sentence's final full stop stays on its word.
_WORD_PIECES = re.compile(rf"[^\W_]{{1,{MAX_WORD_CHARS - 3}}}[\W_]{{0,3}}|[\W_]{{1,3}}")
_PUNCT_RUN = re.compile(r"[\W_]{4,}")
_ALNUM = re.compile(r"[^\W_]")
_NO_SPLIT_AFTER = _TITLES | _NUMBER_ABBREVIATIONS
# Where a long paragraph may be cut before pysbd sees it: end punctuation, closing quotes,
# space, and a capital (or quote) next.
_BLOCK_BREAK = re.compile(r"""[.!?]['")\]]*\s+(?=['"(]?[A-Z0-9])""")
# pysbd never splits between quote marks, so a quoted paragraph of several sentences would
# come back whole: such passages are split again with the marks swapped for invisible ones.
_INNER_END = re.compile(r"""[.!?]['"]*\s+['"]*[A-Z]""")
_QUOTE_MARK = re.compile(r""""|(?<![^\W_])'|'(?![^\W_])""")
_HIDDEN_QUOTES = {'"': "\u2063", "'": "\u2064"}
_SHOWN_QUOTES = str.maketrans({"\u2063": '"', "\u2064": "'"})
_LEADING_CLOSE = re.compile(r"""^['"]+(?:\s+|$)""")
_CLAUSE_BREAKS = (
    re.compile(r"(?<=;)\s+"),
    re.compile(r"(?<=:)\s+"),
    re.compile(r"(?<=,)\s+"),
    re.compile(r"\s+-\s+"),
    re.compile(r"\s+"),
)


def _identity(text: str) -> str:
    return text


_local = threading.local()


def _segmenter() -> pysbd.Segmenter:
    """One per thread, built on first use (constructing one compiles many rules).

    A Segmenter keeps the paragraph it is working on in itself and looks its sentences up
    there, so one shared by two threads loses sentences (seen: renders running at once
    dropped whole sentences from their audio)."""
    segmenter: pysbd.Segmenter | None = getattr(_local, "segmenter", None)
    if segmenter is None:
        segmenter = _local.segmenter = pysbd.Segmenter(language="en", clean=False)
    return segmenter


def _break_word(word: str) -> str:
    """A word too long to speak -> pieces of at most MAX_WORD_CHARS, or "" if unspeakable."""
    if not _ALNUM.search(word):
        return ""
    # A run of punctuation says nothing more for being long.
    word = _PUNCT_RUN.sub(lambda m: m.group()[:3], word)
    pieces: list[str] = []
    current = ""
    for match in _WORD_PIECES.finditer(word):
        if len(current) + len(match.group()) > MAX_WORD_CHARS:
            pieces.append(current)
            current = ""
        current += match.group()
    pieces.append(current)
    return " ".join(p for p in pieces if _ALNUM.search(p))


def break_long_words(text: str) -> str:
    """Make every whitespace-separated word at most MAX_WORD_CHARS long."""
    if len(text) <= MAX_WORD_CHARS or not _LONG_WORD.search(text):
        return text
    return " ".join(_LONG_WORD.sub(lambda m: _break_word(m.group()), text).split())


def _blocks(paragraph: str) -> list[str]:
    """Cut a very long paragraph into blocks of about _BLOCK_CHARS at likely sentence ends."""
    blocks: list[str] = []
    start = 0
    while len(paragraph) - start > _BLOCK_CHARS:
        cut = -1
        window = (start + _BLOCK_CHARS // 2, start + 2 * _BLOCK_CHARS)
        for match in _BLOCK_BREAK.finditer(paragraph, *window):
            word = paragraph[paragraph.rfind(" ", start, match.start()) + 1 : match.start()]
            # Not after a title, an initial ("J.") or a dotted abbreviation ("U.S.").
            if f"{word}." not in _NO_SPLIT_AFTER and "." not in word and len(word) > 1:
                cut = match.end()
                if cut - start >= _BLOCK_CHARS:
                    break
        if cut < 0:
            # No sentence end in sight (hostile or odd text): a space will do.
            space = paragraph.rfind(" ", start + 1, start + _BLOCK_CHARS)
            cut = space if space > 0 else start + _BLOCK_CHARS
        blocks.append(paragraph[start:cut])
        start = cut
    blocks.append(paragraph[start:])
    return blocks


def _joins_next(sentence: str, following: str) -> bool:
    """pysbd split where it should not: after a title, or before a lowercase continuation."""
    # Words are at most MAX_WORD_CHARS long by now: the tail is enough, and stays cheap.
    tail = sentence[-MAX_WORD_CHARS - 2 :].rsplit(None, 1)
    last = tail[-1] if tail else ""
    if last in _TITLES or last.lstrip("(\"'") in _TITLES:
        return True
    if last in _NUMBER_ABBREVIATIONS and following[:1].isdigit():
        return True
    return following[:1].islower()


def _split_quoted(sentence: str) -> list[str]:
    """Split a quoted passage pysbd kept whole, with its quote marks hidden from it."""
    if not _INNER_END.search(sentence) or ('"' not in sentence and "'" not in sentence):
        return [sentence]
    hidden = _QUOTE_MARK.sub(lambda m: _HIDDEN_QUOTES[m.group()], sentence)
    pieces = [p.strip() for p in _segmenter().segment(hidden) if p.strip()]
    if len(pieces) < 2:
        return [sentence]
    sentences: list[str] = []
    for hidden_piece in pieces:
        piece = hidden_piece.translate(_SHOWN_QUOTES)
        # pysbd hands a closing quote to the next sentence; give it back.
        closing = _LEADING_CLOSE.match(piece)
        if closing and sentences:
            sentences[-1] += closing.group().strip()
            piece = piece[closing.end() :].strip()
        if piece:
            sentences.append(piece)
    return sentences


def split_sentences(paragraph: str) -> list[str]:
    """One paragraph -> its sentences, closing quotes kept with the sentence they close."""
    segmenter = _segmenter()
    pieces = [
        sentence
        for block in _blocks(break_long_words(paragraph))
        for piece in segmenter.segment(block)
        if piece.strip()
        for sentence in _split_quoted(piece.strip())
    ]
    sentences: list[list[str]] = []
    for piece in pieces:
        # A piece without letters is a stray quote or the tail of an ellipsis pysbd cut off.
        if sentences and (not _ALNUM.search(piece) or _joins_next(sentences[-1][-1], piece)):
            glue = "" if not _ALNUM.search(piece) and piece[0] in ".!?'\")]" else " "
            sentences[-1].append(glue + piece)
        else:
            sentences.append([piece])
    return ["".join(parts) for parts in sentences]


def _clauses(text: str, level: int) -> list[str]:
    if len(text) <= MAX_CHUNK_CHARS:
        return [text]
    if level == len(_CLAUSE_BREAKS):
        # Unreachable after break_long_words, but never hand an engine an oversized piece.
        return [text[i : i + MAX_CHUNK_CHARS] for i in range(0, len(text), MAX_CHUNK_CHARS)]
    cuts = [(m.start(), m.end()) for m in _CLAUSE_BREAKS[level].finditer(text)]
    if not cuts:
        return _clauses(text, level + 1)
    # Pieces between separators; each keeps the separator that follows it.
    spans: list[tuple[int, int]] = []
    start = 0
    for cut_start, cut_end in cuts:
        spans.append((start, cut_start))
        start = cut_end
    spans.append((start, len(text)))
    chunks: list[str] = []
    first = spans[0][0]
    last = first
    for span_start, span_end in spans:
        if span_end - first > MAX_CHUNK_CHARS and last > first:
            chunks.extend(_clauses(text[first:last], level + 1))
            first = span_start
        last = span_end
    chunks.extend(_clauses(text[first:last], level + 1))
    return [c.strip() for c in chunks if c.strip()]


def chunk_sentence(sentence: str) -> list[str]:
    """A sentence -> pieces of at most MAX_CHUNK_CHARS, cut at ; : , " - " then spaces."""
    return _clauses(break_long_words(sentence), 0)


def first_chunk(text: str) -> list[str]:
    """The article's first chunk -> a short first phrase (at most FIRST_CHUNK_WORDS words,
    ended by punctuation or before a word that starts a phrase) and the rest; a chunk with
    no such cut near its start, or short already, stays whole."""
    words = text.split()
    if len(words) <= FIRST_CHUNK_WORDS + 2:
        return [text]
    for cut in range(2, FIRST_CHUNK_WORDS + 1):
        if words[cut - 1][-1] in ",;:" or words[cut].lower() in _PHRASE_STARTS:
            return [" ".join(words[:cut]), " ".join(words[cut:])]
    return [text]


def segment_article(
    article: Article, voice: VoiceDef, speak: Callable[[str], str] = _identity
) -> list[Segment]:
    """Everything to be spoken, in order: title, subtitle, byline, then each sentence."""
    pauses = voice.pauses
    segments: list[Segment] = []

    def add(kind: SegmentKind, text: str, pause_ms: int, paragraph: int) -> None:
        chunks = chunk_sentence(text)
        if not segments and chunks:
            chunks = [*first_chunk(chunks[0]), *chunks[1:]]
        for number, written in enumerate(chunks):
            spoken = break_long_words(speak(written))
            pause = pause_ms if number == len(chunks) - 1 else pauses.clause_ms
            if _ALNUM.search(spoken):
                segments.append(Segment(kind, written, spoken, pause, paragraph))
            elif segments and segments[-1].pause_after_ms < pause:
                # The dropped piece's pause still belongs here (e.g. a paragraph's end).
                segments[-1] = replace(segments[-1], pause_after_ms=pause)

    add(SegmentKind.TITLE, article.title, pauses.title_ms, -1)
    add(SegmentKind.SUBTITLE, article.subtitle, pauses.subtitle_ms, -1)
    if article.byline:
        byline = article.byline
        if not byline.lower().startswith("by "):
            byline = f"By {byline}"
        add(SegmentKind.BYLINE, byline, pauses.byline_ms, -1)
    for index, paragraph in enumerate(article.body):
        sentences = split_sentences(paragraph)
        for number, sentence in enumerate(sentences):
            last = number == len(sentences) - 1
            add(
                SegmentKind.SENTENCE,
                sentence,
                pauses.paragraph_ms if last else pauses.sentence_ms,
                index,
            )
    if segments:
        segments[-1] = replace(segments[-1], pause_after_ms=0)
    return segments
