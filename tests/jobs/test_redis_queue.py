"""The queue on a real Redis: the API and two worker processes share a batch; one is killed.

`.ci/run` installs Debian's redis-server and starts it on loopback (AUDIO_SERVICE_TEST_REDIS_URL).
Elsewhere the test starts its own redis-server when the program is there, and skips otherwise;
in CI a missing Redis fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.support.batches import (
    audio_path,
    completions,
    jobs_of,
    long_story,
    owner_of,
    ready_articles,
    start_worker,
)
from tests.support.media import decode_mp3
from tests.support.service_process import free_port, running_service


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("AUDIO_SERVICE_TEST_REDIS_URL")
    if given:
        yield given
        return
    program = shutil.which("redis-server")
    if program is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide Redis (AUDIO_SERVICE_TEST_REDIS_URL or redis-server)")
        pytest.skip("no redis-server on this machine")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_two_workers_share_a_batch_and_a_killed_one_loses_nothing(
    tmp_path: Path, redis_url: str
) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    data = tmp_path / "data"
    env = {
        **os.environ,
        "AUDIO_SERVICE_QUEUE_URL": redis_url,
        "AUDIO_SERVICE_DATA_DIR": str(data),
        "AUDIO_SERVICE_DEFAULT_VOICE": "en-gb-espeak",
        "AUDIO_SERVICE_LEASE_S": "6",
    }
    # The API only takes requests here; the two workers do every job.
    api_env = {"AUDIO_SERVICE_QUEUE_URL": redis_url, "AUDIO_SERVICE_EMBEDDED_WORKER": "false"}
    with running_service(data, env=api_env) as api:
        logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
        workers = [start_worker(data, env, log) for log in logs]
        try:
            owners = [owner_of(log) for log in logs]
            articles = [long_story(n) for n in range(24)]
            with httpx.Client(base_url=api.url, timeout=60) as c:
                posted = c.post("/v1/batches", json={"articles": articles})
                assert posted.status_code == 202, posted.text
                batch_id = posted.json()["id"]

                # Kill worker A in the middle of a job, once it has finished at least one.
                killed_key = None
                deadline = time.monotonic() + 120
                while killed_key is None:
                    jobs = jobs_of(data)
                    done_by_a = '"outcome": "rendered"' in logs[0].read_text()
                    running = [k for k, s, o, _, _ in jobs if s == "running" and o == owners[0]]
                    if done_by_a and running:
                        os.killpg(workers[0].pid, signal.SIGKILL)
                        killed_key = running[0]
                    assert time.monotonic() < deadline, "worker A never ran a job"
                    time.sleep(0.01)

                deadline = time.monotonic() + 300
                while not (state := c.get(f"/v1/batches/{batch_id}").json())["finished"]:
                    assert time.monotonic() < deadline, state["counts"]
                    time.sleep(0.2)
                assert state["counts"]["ready"] == 24, state
                metrics = c.get("/metrics").text
        finally:
            for proc in workers:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=30)

    # Both workers did jobs; the job cut off in A was finished by B, once.
    assert '"outcome": "rendered"' in logs[1].read_text()
    by_key = {k: (s, a, c) for k, s, _, a, c in jobs_of(data)}
    assert by_key[killed_key][0] == "done" and by_key[killed_key][1] >= 2
    assert set(completions(data).values()) == {1}
    assert "taken_back" in logs[1].read_text() or "taken_back" in (data / "service.log").read_text()
    assert "audio_service_job_queue_depth 0.0" in metrics

    # Every article's audio decodes, to the length the index records.
    ready = ready_articles(data)
    assert len(ready) == 24
    with sqlite3.connect(data / "index.sqlite3") as db:
        durations = dict(db.execute("SELECT id, duration_ms FROM articles").fetchall())
    for article_id, digest in ready.items():
        seconds = decode_mp3(audio_path(data, digest)).size / 22050
        assert seconds == pytest.approx(durations[article_id] / 1000, rel=0.01)
