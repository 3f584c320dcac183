"""Tests for segmentation: sentences, chunks, long words, pauses and speed."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from audio_service.article import Article, load_article
from audio_service.text.segment import (
    MAX_CHUNK_CHARS,
    MAX_WORD_CHARS,
    Segment,
    SegmentKind,
    break_long_words,
    chunk_sentence,
    segment_article,
    split_sentences,
)
from audio_service.voices import Pauses, VoiceDef

EXAMPLES = Path(__file__).resolve().parents[2] / "audio_service" / "examples"
VOICE = VoiceDef(id="test", name="Test", engine="espeak", engine_voice="en-gb")


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("Mr Smith met Mrs Jones. They talked.", ["Mr Smith met Mrs Jones.", "They talked."]),
        (
            "Mr. Smith met Mrs. Jones, Ms. Lee and Dr. Who at St. Paul's. Then they left.",
            ["Mr. Smith met Mrs. Jones, Ms. Lee and Dr. Who at St. Paul's.", "Then they left."],
        ),
        ("Prof. Brown spoke. He was brief.", ["Prof. Brown spoke.", "He was brief."]),
        ("Cllr. Smith spoke. Then Mr. Jones.", ["Cllr. Smith spoke.", "Then Mr. Jones."]),
        ("It was No. 10 that said so. Really.", ["It was No. 10 that said so.", "Really."]),
        (
            "The U.S. and the U.K. agreed. Others did not.",
            ["The U.S. and the U.K. agreed.", "Others did not."],
        ),
        (
            "Fruit, e.g. apples, is good. So, i.e. pears, are too.",
            ["Fruit, e.g. apples, is good.", "So, i.e. pears, are too."],
        ),
        ("Growth was 3.5 per cent. Prices fell.", ["Growth was 3.5 per cent.", "Prices fell."]),
        ("We meet at 10.30am. Be there.", ["We meet at 10.30am.", "Be there."]),
        (
            "He arrived at 9 p.m. on Monday. It rained.",
            ["He arrived at 9 p.m. on Monday.", "It rained."],
        ),
        ('She said: "We are ready." Then left.', ['She said: "We are ready."', "Then left."]),
        ("It was the 'wrong' choice. Yes.", ["It was the 'wrong' choice.", "Yes."]),
        ('He called it "wrong." They agreed.', ['He called it "wrong."', "They agreed."]),
        ("The vote was 5-4... Then chaos.", ["The vote was 5-4...", "Then chaos."]),
        ("Is it? Yes! Fine.", ["Is it?", "Yes!", "Fine."]),
        # pysbd keeps a quoted passage whole; it is split again, quotes kept in place.
        (
            '"A war would be disastrous. And Nato has made it clear. Really?" he said.',
            ['"A war would be disastrous.', "And Nato has made it clear.", 'Really?" he said.'],
        ),
        ("'Step back. Now,' he said.", ["'Step back.", "Now,' he said."]),
    ],
)
def test_split_sentences(paragraph: str, expected: list[str]) -> None:
    assert split_sentences(paragraph) == expected


def test_long_sentence_is_chunked_at_clauses() -> None:
    clause = "the council agreed to spend more on roads and schools this year"
    sentence = "; ".join([clause] * 3) + ", " + ", ".join([clause] * 3) + " - " + clause + "."
    chunks = chunk_sentence(sentence)
    assert len(chunks) > 1
    assert all(len(c) <= MAX_CHUNK_CHARS for c in chunks)
    assert chunks[0].endswith(";")  # the strongest break is used first
    assert " ".join(chunks).replace(" - ", " ") == sentence.replace(" - ", " ")


def test_sentence_without_punctuation_is_chunked_at_spaces() -> None:
    sentence = " ".join(["word"] * 300)
    chunks = chunk_sentence(sentence)
    assert all(len(c) <= MAX_CHUNK_CHARS for c in chunks)
    assert " ".join(chunks) == sentence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("short words stay", "short words stay"),
        ("x" * 100 + ".", " ".join(["x" * 37, "x" * 37, "x" * 26 + "."])),
        ("see https://example.org/news/2025/a-very-long-slug-for-the-story-here now", None),
        ("!" * 500 + " ok", "ok"),
    ],
)
def test_break_long_words(text: str, expected: str | None) -> None:
    broken = break_long_words(text)
    assert all(len(word) <= MAX_WORD_CHARS for word in broken.split())
    if expected is not None:
        assert broken == expected


def test_huge_word_gives_bounded_segments_quickly() -> None:
    article = Article(title="T", body=("Before. " + "a" * 10_000 + ". After.",))
    started = time.perf_counter()
    segments = segment_article(article, VOICE)
    print(f"10,000-char word: {len(segments)} segments in {time.perf_counter() - started:.3f}s")
    assert all(len(s.text) <= MAX_CHUNK_CHARS for s in segments)
    assert all(len(w) <= MAX_WORD_CHARS for s in segments for w in s.spoken.split())
    assert segments[1].text.startswith("Before. ") and segments[-1].text == "After."


def _kinds(segments: list[Segment]) -> list[SegmentKind]:
    return [s.kind for s in segments]


def test_segment_article_order_and_pauses() -> None:
    pauses = VOICE.pauses
    article = Article(
        title="Title",
        subtitle="Sub",
        byline="Ann Lee",
        body=("One. Two.", "Three."),
    )
    segments = segment_article(article, VOICE)
    assert [(s.kind, s.text, s.pause_after_ms, s.paragraph) for s in segments] == [
        (SegmentKind.TITLE, "Title", pauses.title_ms, -1),
        (SegmentKind.SUBTITLE, "Sub", pauses.subtitle_ms, -1),
        (SegmentKind.BYLINE, "By Ann Lee", pauses.byline_ms, -1),
        (SegmentKind.SENTENCE, "One.", pauses.sentence_ms, 0),
        (SegmentKind.SENTENCE, "Two.", pauses.paragraph_ms, 0),
        (SegmentKind.SENTENCE, "Three.", 0, 1),
    ]
    assert pauses.title_ms > pauses.sentence_ms
    assert pauses.paragraph_ms > pauses.sentence_ms > pauses.clause_ms


def test_chunks_pause_briefly_then_keep_the_sentence_pause() -> None:
    voice = VoiceDef(
        id="v", name="V", engine="espeak", engine_voice="en", pauses=Pauses(clause_ms=111)
    )
    long_sentence = ", ".join(["a clause of about forty characters here"] * 12) + "."
    segments = segment_article(Article(title="T", body=(long_sentence, "End.")), voice)
    body = [s for s in segments if s.paragraph == 0]
    assert len(body) > 1
    assert [s.pause_after_ms for s in body] == [111] * (len(body) - 1) + [voice.pauses.paragraph_ms]


def _speak(text: str) -> str:
    return "..." if text == "Skip me." else text.replace("%", " per cent")


def test_speak_fills_spoken_and_unspeakable_segments_are_dropped() -> None:
    article = Article(title="Title", byline="By Jo", body=("It rose 5%. Skip me.", "🎉 👍", "End."))
    segments = segment_article(article, VOICE, speak=_speak)
    assert [s.text for s in segments] == ["Title", "By Jo", "It rose 5%.", "End."]
    assert segments[2].spoken == "It rose 5 per cent."
    # The dropped sentence ended the paragraph: its longer pause moves to the sentence before.
    assert segments[2].pause_after_ms == VOICE.pauses.paragraph_ms


def test_empty_fields_give_no_segments() -> None:
    assert _kinds(segment_article(Article(title="", body=("Only.",)), VOICE)) == [
        SegmentKind.SENTENCE
    ]


@pytest.mark.parametrize("name", ["council-budget.json", "harbor-bridge.txt", "storm-warning.html"])
def test_examples_segment_cleanly(name: str) -> None:
    segments = segment_article(load_article(EXAMPLES / name), VOICE)
    assert segments[0].kind is SegmentKind.TITLE
    assert segments[-1].pause_after_ms == 0
    assert all(0 < len(s.text) <= MAX_CHUNK_CHARS for s in segments)
    assert all(s.text == s.text.strip() for s in segments)


def test_sample_page_segments(sample_page: Path) -> None:
    segments = segment_article(load_article(sample_page), VOICE)
    texts = [s.text for s in segments]
    assert texts[2] == "By Emma Soteriou"
    assert "We're always ready." in texts
    assert "And, together, Nato has made it clear that" in " ".join(texts)
    assert texts[-1] == '"Diplomacy is the only way forward and Russia must pursue that path."'


def test_speed_of_a_50000_word_article() -> None:
    """Printed, not asserted: timing asserts make flaky tests."""
    body = load_article(EXAMPLES / "council-budget.json").body
    words = sum(len(p.split()) for p in body)
    article = Article(title="Long read", body=body * (50_000 // words + 1))
    started = time.perf_counter()
    segments = segment_article(article, VOICE)
    elapsed = time.perf_counter() - started
    copies = 50_000 // words + 1
    print(f"segment_article: {copies} x {words} words -> {len(segments)} in {elapsed:.2f}s")
    one = Article(title="One paragraph", body=(" ".join(article.body),))
    started = time.perf_counter()
    single = segment_article(one, VOICE)
    elapsed = time.perf_counter() - started
    print(f"segment_article: the same as one paragraph -> {len(single)} in {elapsed:.2f}s")
    assert abs(len(single) - len(segments)) < len(segments) // 20


def test_segmenting_in_many_threads_at_once_loses_nothing(sample_page: Path) -> None:
    # Renders run on several threads; pysbd keeps its current paragraph in the segmenter, so a
    # shared one dropped sentences. Each thread must get exactly what one thread alone gets.
    articles = [load_article(EXAMPLES / n) for n in sorted(p.name for p in EXAMPLES.iterdir())]
    articles = [*articles, load_article(sample_page)] * 3
    alone = [segment_article(a, VOICE) for a in articles]
    with ThreadPoolExecutor(max_workers=len(articles)) as pool:
        for _ in range(3):
            together = list(pool.map(lambda a: segment_article(a, VOICE), articles))
            assert together == alone
