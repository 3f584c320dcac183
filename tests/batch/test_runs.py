"""`audio-service batch` end to end: the embedded queue, --local, interruption, --dry-run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.batches import (
    REPO,
    audio_path,
    batch_cmd,
    cli_env,
    completions,
    ready_articles,
    run_batch,
    write_folder,
)
from tests.support.media import decode_mp3
from tests.support.service_process import running_service


def test_200_articles_through_the_embedded_queue(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ids = write_folder(tmp_path / "articles", 200)
    with running_service(data, env={"AUDIO_SERVICE_JOB_THREADS": "2"}):
        first = run_batch(data, str(tmp_path / "articles"))
        # The unreadable file fails and is reported; the other 200 are rendered.
        assert first.returncode == 1, first.stdout + first.stderr
        assert "zz-broken" in first.stdout and "not valid JSON" in first.stdout
        assert "no worker is running" not in first.stdout
        done = completions(data)
        assert sorted(done) == ids
        assert set(done.values()) == {1}  # each article rendered exactly once
        ready = ready_articles(data)
        assert sorted(ready) == ids
        for article_id in ids[::50]:
            samples = decode_mp3(audio_path(data, ready[article_id]))
            assert samples.size / 22050 > 3  # a title and two sentences of speech

        second = run_batch(data, str(tmp_path / "articles"))
        assert second.returncode == 1  # the broken file is still broken
        assert completions(data) == done  # nothing rendered again
        summary = second.stdout
        assert "rendered" in summary and "skipped" in summary
        assert "│        0 │     200 │      1 │" in summary


def test_local_run_killed_halfway_then_rerun_renders_each_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ids = write_folder(tmp_path / "articles", 200, broken=False)
    proc = subprocess.Popen(
        batch_cmd(str(tmp_path / "articles"), "--local"),
        cwd=REPO,
        env=cli_env(data),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while len(ready_articles(data)) < 60:
            assert proc.poll() is None, "the batch ended before it could be interrupted"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # no clean-up: renders in flight are cut off
        proc.wait(timeout=10)
    halfway = ready_articles(data)
    assert 60 <= len(halfway) < 200

    again = run_batch(data, str(tmp_path / "articles"), "--local")
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(ready_articles(data)) == ids
    done = completions(data)
    assert sorted(done) == ids
    assert set(done.values()) == {1}  # nothing finished twice, nothing lost
    assert {k: v for k, v in ready_articles(data).items() if k in halfway} == halfway
    for digest in list(ready_articles(data).values())[::40]:
        assert decode_mp3(audio_path(data, digest)).size > 22050


def test_dry_run_estimates_and_records_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_folder(tmp_path / "articles", 3)
    result = run_batch(data, str(tmp_path / "articles"), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would render 3 articles" in result.stdout
    assert "minutes of audio" in result.stdout
    assert "1 unreadable" in result.stdout
    assert ready_articles(data) == {}
    assert completions(data) == {}


def test_queued_jobs_wait_for_a_worker_and_survive_until_one_starts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ids = write_folder(tmp_path / "articles", 4, broken=False)
    result = run_batch(data, str(tmp_path / "articles"), "--no-wait")
    assert result.returncode == 0, result.stderr
    assert "no worker is running" in result.stdout
    assert ready_articles(data) == {}  # queued, not rendered
    # The queue is a file in the data folder: a service started later runs the jobs.
    with running_service(data):
        deadline = time.monotonic() + 120
        while sorted(ready_articles(data)) != ids:
            assert time.monotonic() < deadline, ready_articles(data)
            time.sleep(0.1)
    assert set(completions(data).values()) == {1}


@pytest.mark.parametrize(
    ("source", "message"),
    [("missing-folder", "no such"), ("empty", "no articles found")],
)
def test_bad_source_is_a_clear_error(tmp_path: Path, source: str, message: str) -> None:
    (tmp_path / "empty").mkdir()
    env = cli_env(tmp_path / "data")
    result = subprocess.run(
        batch_cmd(source),
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr.lower()
