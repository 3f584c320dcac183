"""Spoken word timings mapped to written words: real normaliser cases, real eSpeak, properties."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audio_service.article import load_article
from audio_service.render.renderer import Renderer
from audio_service.render.words import split_words, written_words
from audio_service.text.lexicon import Lexicon, Rule
from audio_service.text.normalize import normalize
from audio_service.timings import TimedSegment, Timings, WordTiming
from audio_service.voices import VoiceDef

EXAMPLE = Path(__file__).resolve().parents[2] / "audio_service" / "examples" / "council-budget.json"
LEXICON = Lexicon((Rule("Starmer", "Starmah"), Rule("Kyiv", "Keev")))


def evenly(said: str, ms_per_char: int = 10) -> tuple[WordTiming, ...]:
    """Timings an engine could give for SAID: each word as long as its letters."""
    out, at = [], 0
    for word in said.split():
        out.append(WordTiming(word, at, at + ms_per_char * len(word)))
        at += ms_per_char * len(word)
    return tuple(out)


def spoken_of(written: str) -> str:
    return LEXICON.apply(normalize(written, "en-GB"))


def mapped(written: str) -> dict[str, WordTiming]:
    said = spoken_of(written)
    words = written_words(written, evenly(said), said=said)
    assert [w.word for w in words] == split_words(written)
    return {w.word: w for w in words}


def span_of(said: str, first: str, last: str) -> tuple[int, int]:
    """The evenly() span from spoken word FIRST to spoken word LAST, inclusive."""
    timings = evenly(said)
    names = [w.word for w in timings]
    i, j = names.index(first), len(names) - 1 - names[::-1].index(last)
    return timings[i].start_ms, timings[j].end_ms


@pytest.mark.parametrize(
    ("written", "word", "first", "last"),
    [
        ("Prices rose to £3.5bn last year.", "£3.5bn", "three", "pounds"),
        (
            "Council agrees £48.6m budget as tax rises 4.99% for second year",
            "4.99%",
            "four",
            "cent",
        ),
        ("Dr Helen Achterberg spoke.", "Dr", "Doctor", "Doctor"),
        ("Keir Starmer said so.", "Starmer", "Starmah", "Starmah"),
        ("Troops left Kyiv on Monday.", "Kyiv", "Keev", "Keev"),
        ("It ran until 10.40pm on Wednesday.", "10.40pm", "ten", "p.m"),
        ("Bills go out on 10 March 2025 as planned.", "10", "the", "of"),
        ("Demand from over-85s was rising.", "over-85s", "over", "eighty-fives"),
    ],
)
def test_a_written_word_spans_the_words_said_for_it(
    written: str, word: str, first: str, last: str
) -> None:
    said = spoken_of(written)
    got = mapped(written)[word]
    assert (got.start_ms, got.end_ms) == span_of(said, first, last), said


def test_unchanged_words_keep_their_own_times() -> None:
    written = "She won't pretend the Ann-Marie Folkes plan was easy."
    said = spoken_of(written)
    assert said == written  # nothing here is normalised: every word maps one to one
    words = written_words(written, evenly(said), said=said)
    assert [(w.start_ms, w.end_ms) for w in words] == [(w.start_ms, w.end_ms) for w in evenly(said)]
    # Quotes and commas at a word's edge are not part of it; an abbreviation keeps its dot.
    assert split_words("“no realistic alternative”, said U.S. officials — at 6.30pm.") == [
        "no",
        "realistic",
        "alternative",
        "said",
        "U.S.",
        "officials",
        "at",
        "6.30pm",
    ]


def test_a_word_the_engine_did_not_time_gets_the_gap_it_sits_in() -> None:
    # eSpeak drops a word's event after a curly quote: "place" has no timing of its own.
    spoken = (WordTiming("the", 0, 100), WordTiming("only", 100, 300), WordTiming("for", 500, 600))
    said = "“the only place” for"
    words = written_words("“the only place” for", spoken, said=said)
    assert [(w.word, w.start_ms, w.end_ms) for w in words] == [
        ("the", 0, 100),
        ("only", 100, 300),
        ("place", 300, 500),
        ("for", 500, 600),
    ]


def test_an_engine_that_repeats_or_splits_words_still_maps_each_written_word_once() -> None:
    # eSpeak times "A3051" as A, 3051, 051, 051 and "per cent" as per, er.
    spoken = tuple(
        WordTiming(w, i * 100, i * 100 + 100)
        for i, w in enumerate(["at", "A", "3051", "051 ", "051 ", "per", "er ", "more"])
    )
    words = written_words("at the A3051 per cent more", spoken, said="at the A3051 per cent more")
    assert [w.word for w in words] == ["at", "the", "A3051", "per", "cent", "more"]
    # "the" has no word of its own here: it and "A3051" share A..051 by length (3 : 5).
    assert [(w.start_ms, w.end_ms) for w in words[1:3]] == [(100, 250), (250, 500)]
    assert (words[3].start_ms, words[3].end_ms) == (500, 600)
    assert (words[-1].start_ms, words[-1].end_ms) == (700, 800)


def test_no_spoken_timings_means_no_word_timings() -> None:
    assert written_words("Anything at all.", ()) == ()


def test_real_espeak_render_times_the_written_words(
    renderer: Renderer, voices: dict[str, VoiceDef], tmp_path: Path
) -> None:
    article = load_article(EXAMPLE)
    script = renderer.script(article, voices["en-gb-espeak"])
    with (tmp_path / "out.mp3").open("wb") as out:
        result = renderer.render(script, out)
    timings = Timings.from_dict(result.timings.to_dict())
    assert timings.segments
    for seg in timings.segments:
        assert [w.word for w in seg.words] == split_words(seg.text), seg
        bounds = [seg.start_ms] + [t for w in seg.words for t in (w.start_ms, w.end_ms)]
        assert bounds == sorted(bounds) and bounds[-1] <= seg.end_ms
    title = timings.segments[0]
    money = next(w for w in title.words if w.word == "£48.6m")
    # Five spoken words ("forty-eight point six million pounds") take longer than one.
    assert money.end_ms - money.start_ms > max(
        w.end_ms - w.start_ms for w in title.words if w.word != "£48.6m"
    )
    vtt = timings.to_vtt()
    assert f"<{_vtt_time(money.start_ms)}>£48.6m" in vtt


def _vtt_time(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def test_vtt_escapes_cue_text_and_srt_keeps_plain_text() -> None:
    seg = TimedSegment(
        index=0,
        kind="sentence",
        text="R&D costs <£5m --> up",
        spoken="",
        paragraph=0,
        start_ms=1000,
        end_ms=3000,
        words=(
            WordTiming("R&D", 1000, 1500),
            WordTiming("costs", 1500, 2000),
            WordTiming("<£5m", 2000, 2500),
            WordTiming("up", 2500, 3000),
        ),
    )
    timings = Timings(duration_ms=3000, sample_rate_hz=22050, voice="v", segments=(seg,))
    cue = timings.to_vtt().splitlines()[4]
    assert cue == ("R&amp;D <00:00:01.500>costs <00:00:02.000>&lt;£5m --&gt; <00:00:02.500>up")
    assert timings.to_vtt(karaoke=False).splitlines()[4] == "R&amp;D costs &lt;£5m --&gt; up"
    assert timings.to_srt().splitlines()[2] == "R&D costs <£5m -> up"


# ---- properties -------------------------------------------------------------------------------

WRITTEN_WORD = st.sampled_from(
    [
        *("£3.5bn", "Dr", "Starmer", "won't", "1", "April", "2025–26", "4.99%", "the", "NHS"),
        *("—", "&", "over-85s", "10.40pm", "“quoted”", "U.S.", "a", "Ann-Marie", "£5,", "20th"),
        "Kyiv",
    ]
) | st.text(alphabet="ab1£%-.,’ ", min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    written=st.lists(WRITTEN_WORD, min_size=0, max_size=25).map(" ".join),
    gaps=st.lists(st.integers(0, 40), min_size=60, max_size=60),
    start=st.integers(0, 100_000),
    drop=st.integers(0, 5),
)
def test_every_written_word_once_in_order_inside_the_segment(
    written: str, gaps: list[int], start: int, drop: int
) -> None:
    said = spoken_of(written)
    spoken, at = [], start
    for i, word in enumerate(said.split()):
        if drop and i % (drop + 1) == drop:
            continue  # an engine that misses words
        gap = gaps[i % len(gaps)]
        spoken.append(WordTiming(word, at + gap, at + gap + 10 * len(word)))
        at += gap + 10 * len(word)
    end = at + gaps[0]
    for given_said in (said, None):
        words = written_words(written, spoken, said=given_said, span=(start, end))
        if not spoken:
            assert words == ()
            continue
        assert [w.word for w in words] == split_words(written)
        bounds = [start] + [t for w in words for t in (w.start_ms, w.end_ms)] + [end]
        assert bounds == sorted(bounds)
