"""Articles for batch tests (written for them), and ways to run and read back batches."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

PLACES = ["Harbour Road", "the old mill", "Station Square", "the library", "Castle Street"]
SUBJECTS = ["a new cycle lane", "longer opening hours", "a bus timetable", "a market on Sundays"]


def story(n: int) -> dict[str, str]:
    """A short made-up local news story, different for each n."""
    place = PLACES[n % len(PLACES)]
    subject = SUBJECTS[n % len(SUBJECTS)]
    return {
        "title": f"Residents back plan number {n} for {place}",
        "body": (
            f"Residents near {place} voted for {subject} at a meeting on Tuesday.\n\n"
            f"The proposal, number {n} this year, now goes to the council for approval."
        ),
    }


def write_folder(folder: Path, count: int, broken: bool = True) -> list[str]:
    """`count` stories as .json files (ids s000...), plus one unreadable file when asked."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for n in range(count):
        article_id = f"s{n:03d}"
        (folder / f"{article_id}.json").write_text(json.dumps(story(n)), encoding="utf-8")
        ids.append(article_id)
    if broken:
        (folder / "zz-broken.json").write_text('{"title": "No body here"', encoding="utf-8")
    return ids


def cli_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "AUDIO_SERVICE_DATA_DIR": str(data_dir),
        "AUDIO_SERVICE_DEFAULT_VOICE": "en-gb-espeak",
        "AUDIO_SERVICE_WORKERS": "2",
        **(extra or {}),
    }


def batch_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "audio_service", "batch", *args]


def run_batch(
    data_dir: Path, *args: str, timeout_s: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        batch_cmd(*args),
        cwd=REPO,
        env=cli_env(data_dir),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def completions(data_dir: Path) -> dict[str, int]:
    """article id -> how many times a render of its key finished, from the ledger."""
    with sqlite3.connect(data_dir / "index.sqlite3") as db:
        rows = db.execute(
            "SELECT article_id, SUM(completions) FROM jobs GROUP BY article_id"
        ).fetchall()
    return {str(a): int(n) for a, n in rows}


def ready_articles(data_dir: Path) -> dict[str, str]:
    """article id -> digest of its audio, for every ready article (none before the index)."""
    if not (data_dir / "index.sqlite3").exists():
        return {}
    with sqlite3.connect(data_dir / "index.sqlite3") as db:
        try:
            rows = db.execute("SELECT id, digest FROM articles WHERE status = 'ready'").fetchall()
        except sqlite3.OperationalError:  # the schema is being created right now
            return {}
    return {str(a): str(d) for a, d in rows}


def audio_path(data_dir: Path, digest: str) -> Path:
    return data_dir / "audio" / digest[:2] / f"{digest}.mp3"


def long_story(n: int) -> dict[str, Any]:
    """A story of a few hundred words, so a render takes long enough to be cut in half."""
    paragraphs = [
        f"Paragraph {p} of report {n}: the ferry company said crossings on route {n} would "
        f"run every {20 + p} minutes from Monday, after a survey of {100 + p * n} passengers "
        "found that most wanted earlier sailings and fewer cancellations in bad weather."
        for p in range(1, 7)
    ]
    return {"id": f"r{n:02d}", "title": f"Ferry timetable changes on route {n}", "body": paragraphs}


def start_worker(data: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "audio_service", "worker", "--workers", "1", "--threads", "1"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def owner_of(log: Path) -> str:
    deadline = time.monotonic() + 60
    while True:
        found = re.search(r"audio-service worker (\S+): running jobs", log.read_text())
        if found:
            return found.group(1)
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)


def jobs_of(data: Path) -> list[tuple[str, str, str | None, int, int]]:
    with sqlite3.connect(data / "index.sqlite3") as db:
        return [
            (str(k), str(s), o, int(a), int(c))
            for k, s, o, a, c in db.execute(
                "SELECT render_key, state, owner, attempts, completions FROM jobs"
            )
        ]
