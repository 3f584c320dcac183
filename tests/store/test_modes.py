"""What the store publishes is world-readable (0644 in 0755 folders) whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from audio_service.store.local import AudioStore, atomic_write
from audio_service.text.lexicon import add_rule


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o077, 0o022], ids=["umask077", "umask022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    value: int = request.param
    previous = os.umask(value)
    try:
        yield value
    finally:
        os.umask(previous)


def test_a_committed_render_and_its_timings_are_0644(tmp_path: Path, umask: int) -> None:
    root = tmp_path / "data"
    store = AudioStore(root)
    partial = store.begin("k" * 64)
    partial.write(b"ID3 and some frames")
    partial.flush()
    assert mode(partial.path) == 0o600  # a render in progress stays private
    digest = store.commit(partial, '{"words": []}')
    assert mode(store.path(digest)) == 0o644
    assert mode(store.timings_path(digest)) == 0o644
    for folder in (root, store.audio_dir, store.path(digest).parent, store.tmp_dir):
        assert mode(folder) == 0o755, folder


def test_atomic_write_makes_0644_files_in_0755_folders(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "podcasts" / "feed" / "2026-11-25" / "episode.json"
    with atomic_write(target) as handle:
        handle.write(b"{}")
    assert mode(target) == 0o644
    for folder in (target.parent, target.parent.parent, target.parent.parent.parent):
        assert mode(folder) == 0o755, folder
    with atomic_write(target, mode=0o600) as handle:  # a caller may still ask for private
        handle.write(b"{}")
    assert mode(target) == 0o600


def test_folders_that_exist_keep_their_mode(tmp_path: Path, umask: int) -> None:
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    chosen.chmod(0o750)  # an operator's choice for the data dir itself
    AudioStore(chosen)
    assert mode(chosen) == 0o750
    assert mode(chosen / "audio") == 0o755


def test_publisher_lexicon_files_are_0644(tmp_path: Path, umask: int) -> None:
    add_rule(tmp_path, "common", "Nginx", "engine x")
    assert [mode(p) for p in tmp_path.glob("*.tsv")] == [0o644]
