"""`audio-service worker` beside the API on the default SQLite queue: a listener follows a render
that the worker process is doing, and a worker stopped with SIGTERM hands its job back."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx

from tests.support.batches import (
    jobs_of,
    long_story,
    owner_of,
    ready_articles,
    run_batch,
    start_worker,
)
from tests.support.service_process import running_service


def env_for(data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AUDIO_SERVICE_DATA_DIR": str(data),
        "AUDIO_SERVICE_DEFAULT_VOICE": "en-gb-espeak",
    }


def wait_running_by(data: Path, owner: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        running = [k for k, s, o, _, _ in jobs_of(data) if s == "running" and o == owner]
        if running:
            return running[0]
        assert time.monotonic() < deadline, jobs_of(data)
        time.sleep(0.01)


def test_listener_follows_a_render_running_in_a_worker(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_service(data, env={"AUDIO_SERVICE_EMBEDDED_WORKER": "false"}) as api:
        worker = start_worker(data, env_for(data), tmp_path / "worker.log")
        try:
            owner = owner_of(tmp_path / "worker.log")
            article = long_story(1)
            article["body"] = article["body"] * 6  # long enough to be caught mid-render
            with httpx.Client(base_url=api.url, timeout=120) as c:
                posted = c.post("/v1/batches", json={"articles": [article]})
                assert posted.status_code == 202
                wait_running_by(data, owner)
                streamed = c.get("/v1/articles/r01/audio.mp3")  # while the worker renders it
                assert streamed.status_code == 200
                deadline = time.monotonic() + 120
                while "r01" not in ready_articles(data):
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                final = c.get("/v1/articles/r01/audio.mp3")
                assert final.status_code == 200
                assert streamed.content == final.content  # followed to the end, byte for byte
            ((_, _, _, attempts, completions),) = jobs_of(data)
            assert (attempts, completions) == (1, 1)  # rendered once, by the worker alone
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)


def test_sigterm_mid_job_hands_the_job_back(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = env_for(data)
    first = start_worker(data, env, tmp_path / "first.log")
    try:
        owner = owner_of(tmp_path / "first.log")
        article = long_story(2)
        article["body"] = article["body"] * 6
        (tmp_path / "a").mkdir()
        (tmp_path / "a" / "r02.json").write_text(json.dumps(article))
        queued = run_batch(data, str(tmp_path / "a"), "--no-wait")
        assert queued.returncode == 0, queued.stderr
        wait_running_by(data, owner)
        os.killpg(first.pid, signal.SIGTERM)
        assert first.wait(timeout=30) == 0
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert "r02" not in ready_articles(data)
    second = start_worker(data, env, tmp_path / "second.log")
    try:
        deadline = time.monotonic() + 120
        while "r02" not in ready_articles(data):
            assert time.monotonic() < deadline, (tmp_path / "second.log").read_text()[-2000:]
            time.sleep(0.05)
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=30)
    ((_, state, _, attempts, completions),) = jobs_of(data)
    assert state == "done" and attempts == 2 and completions == 1
