"""The one ID3 writer: article tags, and episode tags with chapters and a cover."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from mutagen.id3 import ID3

from audio_service.audio.id3 import ChapterMark, Cover, Tags, id3_bytes, read_cover
from audio_service.errors import ConfigError


def test_id3_tag_reads_back() -> None:
    data = id3_bytes(
        Tags(
            title="Café prices rise",
            artist="By A Writer",
            album="The Gazette",
            date="2026-11-25T10:00:00Z",
            language="en-GB",
            comment="article-id: x1",
        ),
        encoder="test",
    )
    tag = ID3(BytesIO(data))
    assert str(tag["TIT2"]) == "Café prices rise"
    assert str(tag["TPE1"]) == "By A Writer"
    assert str(tag["TDRC"]) == "2026-11-25"
    assert str(tag["TLAN"]) == "eng"
    assert tag.version[:2] == (2, 3)


def test_article_tags_write_no_chapters_genre_or_picture() -> None:
    tag = ID3(BytesIO(id3_bytes(Tags(title="T", language="fr"), encoder="test")))
    assert sorted(tag.keys()) == ["TIT2", "TSSE"]


def test_article_tags_repr_is_unchanged_by_the_episode_fields() -> None:
    # The renderer hashes this repr into every article's render key.
    assert repr(Tags(title="T", artist="A", comment="c")) == (
        "Tags(title='T', artist='A', album='', date='', language='', comment='c')"
    )
    assert "genre='Podcast'" in repr(Tags(title="T", genre="Podcast"))


def test_episode_tag_has_an_ordered_chapter_table_and_a_cover() -> None:
    chapters = (ChapterMark("Introduction", 0, 1200), ChapterMark("Ferry fares", 1200, 61000))
    tags = Tags(
        title="Daily: 26 February",
        artist="The Desk",
        album="Daily",
        date="2025-02-26",
        language="en-GB",
        genre="Podcast",
        chapters=chapters,
        cover=Cover("image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64),
    )
    data = id3_bytes(tags, "test")
    assert data == id3_bytes(tags, "test")  # no dates of writing: same tags, same bytes
    tag = ID3(BytesIO(data))
    assert str(tag["TCON"]) == "Podcast"
    (toc,) = tag.getall("CTOC")
    assert toc.child_element_ids == ["chp0", "chp1"]
    chaps = sorted(tag.getall("CHAP"), key=lambda c: c.element_id)
    assert [(c.start_time, c.end_time) for c in chaps] == [(0, 1200), (1200, 61000)]
    assert str(chaps[1].sub_frames["TIT2"]) == "Ferry fares"
    assert tag.getall("APIC")[0].mime == "image/png"


def test_cover_must_be_a_readable_jpeg_or_png(tmp_path: Path) -> None:
    jpeg = tmp_path / "cover.JPG"
    jpeg.write_bytes(b"\xff\xd8\xff")
    assert read_cover(jpeg) == Cover("image/jpeg", b"\xff\xd8\xff")
    with pytest.raises(ConfigError, match="JPEG or PNG"):
        read_cover(tmp_path / "cover.gif")
    with pytest.raises(ConfigError, match="cannot read"):
        read_cover(tmp_path / "missing.png")
