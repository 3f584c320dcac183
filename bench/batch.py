"""Batch benchmark: articles and audio minutes per wall minute through the queue, 1 and 2 workers.

Run: .venv/bin/python bench/batch.py            (the default run: about 20 minutes on 2 cores)
     .venv/bin/python bench/batch.py --quick    (10 articles a voice: about 10 minutes)
     .venv/bin/python bench/batch.py --voices en-gb-espeak --articles 100

The default run gives eSpeak 100 articles but the neural voice (Piper) only 12: Piper renders
about 20x real time per core here, so 100 articles (about 600 minutes of audio) would take some
30 minutes per row, two hours in all. `--articles N` sets one count for every voice.

For each voice, the same folder of articles (newsroom length: 400 to 1,200 words, median about
700, every sentence unique so the segment cache cannot hit across articles) is rendered:
- plain loop: one process, a Renderer over a SynthPool of ONE synthesis process, the articles
  one after another to a sink that keeps nothing (the baseline);
- queue, 1 worker / 2 workers: `audio-service worker` processes (one synthesis process each,
  AUDIO_SERVICE_JOB_THREADS=2) on the SQLite queue, and `audio-service batch FOLDER` timed from
  its start to its exit; the workers' start-up is timed apart and not counted;
- --local: `audio-service batch FOLDER --local` with one synthesis process per core, its own
  start-up (engines, voice calibration) counted, as a user would wait for it.
Every run starts from a fresh data folder (cold segment cache, no calibration). Audio minutes
are the `duration_ms` of the ready articles in the index. Figures only; no asserts.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
# The repository root, not bench/ itself, goes first on the import path.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]

EXAMPLES = REPO / "audio_service" / "examples"
VOICES = ["en-gb-espeak", "en-us-piper-joe"]
# Piper renders about 20x real time per core here: 100 articles (~600 audio minutes) would
# take about 30 minutes per configuration, so the default run gives it fewer articles.
DEFAULT_ARTICLES = {"en-gb-espeak": 100, "en-us-piper-joe": 12}
BYLINES = ["Priya Castellane", "Tom Achebe", "Ruth Lindqvist", "Daniel Okafor", "Mei Tanaka"]
MIN_WORDS, MEDIAN_WORDS, MAX_WORDS = 400, 700, 1200
WORKER_START_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 30.0


# Articles


def article_lengths(count: int) -> list[int]:
    """Word counts spread evenly over 400..700..1,200 (median 700), in a fixed shuffled order."""
    lengths = []
    for i in range(count):
        q = (i + 0.5) / count
        if q < 0.5:
            words = MIN_WORDS + (MEDIAN_WORDS - MIN_WORDS) * q / 0.5
        else:
            words = MEDIAN_WORDS + (MAX_WORDS - MEDIAN_WORDS) * (q - 0.5) / 0.5
        lengths.append(round(words))
    random.Random(6).shuffle(lengths)
    return lengths


def example_paragraphs() -> list[str]:
    from audio_service.article import load_article

    paragraphs: list[str] = []
    for path in sorted(EXAMPLES.iterdir()):
        if path.suffix in {".json", ".txt", ".html"}:
            paragraphs.extend(load_article(path).body)
    return paragraphs


def write_articles(folder: Path, count: int) -> list[int]:
    """`count` articles as .json files in `folder`; returns their written word counts.

    Each starts at a different example paragraph, and every sentence carries a numbered note
    (as in bench/render.py) so that no segment repeats across articles.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paragraphs = example_paragraphs()
    counter = itertools.count(1)
    counts = []
    for n, target in enumerate(article_lengths(count)):
        body: list[str] = []
        words = 0
        for paragraph in itertools.islice(itertools.cycle(paragraphs), n % len(paragraphs), None):
            unique = re.sub(
                r"\.(\s|$)", lambda m: f", note {next(counter)}.{m.group(1)}", paragraph
            )
            body.append(unique)
            words += len(unique.split())
            if words >= target:
                break
        article = {
            "title": f"Story {n + 1} of the day's batch",
            "byline": f"By {BYLINES[n % len(BYLINES)]}",
            "body": body,
        }
        (folder / f"story-{n + 1:03d}.json").write_text(json.dumps(article), encoding="utf-8")
        counts.append(words)
    return counts


# Runs


@dataclass(frozen=True)
class Row:
    name: str
    wall_s: float  # what is counted: the loop, or `audio-service batch` start to exit
    ready: int  # articles with audio at the end
    audio_ms: int  # their total duration
    load: float  # 1-minute load average when the run started
    startup_s: float | None = None  # workers up (not counted in wall_s)
    submit_s: float | None = None  # batch CLI start -> batch recorded and queued
    first_job_s: float | None = None  # batch CLI start -> first render started
    tail_s: float | None = None  # last render finished -> batch CLI exit
    short: int | None = None  # articles with fewer segments than in the plain loop
    rc: int = 0


class Discard:
    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def plain_loop(folder: Path, voice_id: str, data_dir: Path) -> tuple[Row, dict[str, int]]:
    """The articles one after another, in this process, over one synthesis process.

    Also returns each article's segment count: the reference the other runs are checked
    against (a render that loses sentences is faster, and wrong).
    """
    from audio_service.article import load_article
    from audio_service.config import Settings
    from audio_service.engines.pool import SynthPool
    from audio_service.engines.registry import builtin_engines
    from audio_service.render.renderer import Renderer
    from audio_service.voices import load_voices

    load = os.getloadavg()[0]
    settings = Settings(data_dir=data_dir, workers=1, default_voice=voice_id)
    voice = load_voices(settings.voices_dir)[voice_id]
    with SynthPool(1, settings.synth_timeout_s, builtin_engines(), warm=[voice.engine]) as pool:
        renderer = Renderer.for_settings(pool, settings)
        renderer.gain_db(voice)  # once per voice in the service: not part of a render
        started = time.perf_counter()
        ready, audio_ms = 0, 0
        segments: dict[str, int] = {}
        for path in sorted(folder.glob("*.json")):
            result = renderer.render(
                renderer.script(load_article(path), voice, path.stem), Discard()
            )
            ready += 1
            audio_ms += result.timings.duration_ms
            segments[path.stem] = len(result.timings.segments)
        wall = time.perf_counter() - started
    return Row("plain loop, 1 process", wall, ready, audio_ms, load, short=0), segments


def cli_env(data_dir: Path, voice_id: str, synth_processes: int) -> dict[str, str]:
    return {
        **os.environ,
        "AUDIO_SERVICE_DATA_DIR": str(data_dir),
        "AUDIO_SERVICE_DEFAULT_VOICE": voice_id,
        "AUDIO_SERVICE_WORKERS": str(synth_processes),
        "AUDIO_SERVICE_JOB_THREADS": "2",
        "AUDIO_SERVICE_QUEUE_URL": "",
    }


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "audio_service", *args]


def start_workers(
    count: int, env: dict[str, str], logs: Path
) -> tuple[list[subprocess.Popen[bytes]], float | None]:
    """Start `count` workers; returns them and the seconds until all said they run jobs."""
    started = time.perf_counter()
    procs: list[subprocess.Popen[bytes]] = []
    outs: list[Path] = []
    for n in range(count):
        out, err = logs / f"worker-{n}.out", logs / f"worker-{n}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            procs.append(
                subprocess.Popen(
                    command("worker"),
                    cwd=REPO,
                    env=env,
                    stdout=stdout,
                    stderr=stderr,
                    start_new_session=True,  # its synthesis processes join its group
                )
            )
        outs.append(out)
    deadline = started + WORKER_START_TIMEOUT_S
    while time.perf_counter() < deadline:
        if all("running jobs" in p.read_text(errors="replace") for p in outs):
            return procs, time.perf_counter() - started
        if any(proc.poll() is not None for proc in procs):
            break
        time.sleep(0.05)
    return procs, None


def stop(procs: Sequence[subprocess.Popen[bytes] | subprocess.Popen[str]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_TIMEOUT_S)
        # Whatever is left of its process group (its synthesis processes, if it hung).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@dataclass(frozen=True)
class Ledger:
    ready: int
    audio_ms: int
    first_start: float | None  # epoch s
    last_finish: float | None
    short: int  # ready articles with fewer segments than the reference


def ledger(data_dir: Path, reference: dict[str, int]) -> Ledger:
    """What the index and job ledger say about a finished batch."""
    from audio_service.store.local import AudioStore
    from audio_service.timings import Timings

    with sqlite3.connect(data_dir / "index.sqlite3") as db:
        rows = db.execute(
            "SELECT id, digest, duration_ms FROM articles WHERE status = 'ready'"
        ).fetchall()
        first, last = db.execute("SELECT MIN(started), MAX(finished) FROM jobs").fetchone()
    store = AudioStore(data_dir)
    short = 0
    for article_id, digest, _ in rows:
        raw = json.loads(store.timings_path(digest).read_text(encoding="utf-8"))
        timings = Timings.from_dict(raw)
        short += len(timings.segments) < reference.get(article_id, 0)
    return Ledger(len(rows), sum(int(r[2]) for r in rows), first, last, short)


def run_batch(
    name: str,
    folder: Path,
    voice_id: str,
    env: dict[str, str],
    log: Path,
    reference: dict[str, int],
    *extra: str,
) -> Row:
    """Time `audio-service batch FOLDER` from its start to its exit."""
    load = os.getloadavg()[0]
    submit_s: float | None = None
    with log.open("w", encoding="utf-8") as err:
        epoch = time.time()
        started = time.perf_counter()
        proc = subprocess.Popen(
            command("batch", str(folder), "--voice", voice_id, *extra),
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            start_new_session=True,
        )
        try:
            stdout: IO[str] | None = proc.stdout
            for line in stdout or ():
                err.write(line)
                if submit_s is None and line.startswith("batch "):
                    submit_s = time.perf_counter() - started
            rc = proc.wait()
        finally:
            stop([proc])
        wall = time.perf_counter() - started
        ended = epoch + wall
    data_dir = Path(env["AUDIO_SERVICE_DATA_DIR"])
    done = ledger(data_dir, reference)
    return Row(
        name,
        wall,
        done.ready,
        done.audio_ms,
        load,
        submit_s=submit_s,
        first_job_s=None if done.first_start is None else done.first_start - epoch,
        tail_s=None if done.last_finish is None else ended - done.last_finish,
        short=done.short,
        rc=rc,
    )


def queue_run(
    workers: int, folder: Path, voice_id: str, root: Path, reference: dict[str, int]
) -> Row:
    data_dir = root / f"queue-{workers}"
    logs = root / f"logs-{workers}"
    logs.mkdir(parents=True)
    env = cli_env(data_dir, voice_id, synth_processes=1)
    name = f"queue, {workers} worker{'s' if workers > 1 else ''}"
    procs, startup_s = start_workers(workers, env, logs)
    try:
        if startup_s is None:
            print(f"  {name}: workers did not start; see {logs}", file=sys.stderr)
            return Row(name, float("nan"), 0, 0, os.getloadavg()[0], rc=-1)
        row = run_batch(name, folder, voice_id, env, logs / "batch.log", reference)
    finally:
        stop(procs)
    return replace(row, startup_s=startup_s)


def local_run(folder: Path, voice_id: str, root: Path, reference: dict[str, int]) -> Row:
    cores = os.cpu_count() or 1
    data_dir = root / "local"
    data_dir.mkdir(parents=True)
    env = cli_env(data_dir, voice_id, synth_processes=cores)
    name = f"--local, {cores} processes"
    return run_batch(name, folder, voice_id, env, root / "local.log", reference, "--local")


# Report


def fmt(value: float | int | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


HEADER = (
    f"{'run':<24} {'wall s':>8} {'articles':>8} {'audio min':>9} {'art/min':>8} "
    f"{'audio min/':>10} {'ratio':>6} {'load':>5} {'start s':>7} {'submit s':>8} "
    f"{'1st job s':>9} {'tail s':>6} {'short':>5} {'rc':>3}\n"
    f"{'':<24} {'':>8} {'':>8} {'':>9} {'':>8} {'wall min':>10}"
)


def print_row(row: Row, base: Row) -> None:
    minutes = row.wall_s / 60
    rate = row.ready / minutes if minutes else 0.0
    base_rate = base.ready / base.wall_s * 60 if base.wall_s else 0.0
    audio_min = row.audio_ms / 60_000
    ratio = rate / base_rate if base_rate else float("nan")
    print(
        f"{row.name:<24} {row.wall_s:>8.1f} {row.ready:>8} {audio_min:>9.1f} {rate:>8.1f} "
        f"{audio_min / minutes if minutes else 0.0:>10.1f} {ratio:>6.2f} {row.load:>5.2f} "
        f"{fmt(row.startup_s):>7} {fmt(row.submit_s):>8} {fmt(row.first_job_s):>9} "
        f"{fmt(row.tail_s):>6} {fmt(row.short, 'd'):>5} {row.rc:>3}",
        flush=True,
    )


def main() -> None:
    import argparse
    import shutil

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--articles",
        type=int,
        help="articles in the batch, for every voice (default: "
        + ", ".join(f"{n} for {v}" for v, n in DEFAULT_ARTICLES.items())
        + ")",
    )
    parser.add_argument("--quick", action="store_true", help="10 articles: a smoke run")
    parser.add_argument("--voices", nargs="+", default=VOICES)
    parser.add_argument("--no-local", action="store_true", help="skip the --local row")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    folders: dict[int, tuple[Path, list[int]]] = {}
    try:
        print(
            f"{os.cpu_count()} cores; load average at start "
            + " ".join(f"{x:.2f}" for x in os.getloadavg()),
            flush=True,
        )
        for voice_id in args.voices:
            count = 10 if args.quick else args.articles or DEFAULT_ARTICLES.get(voice_id, 100)
            if count not in folders:
                folder = root / f"articles-{count}"
                folders[count] = folder, write_articles(folder, count)
            folder, words = folders[count]
            print(
                f"\n{voice_id}: {count} articles, {sum(words):,} words (median "
                f"{statistics.median(words):.0f}, {min(words)}..{max(words)})\n{HEADER}",
                flush=True,
            )
            base, reference = plain_loop(folder, voice_id, root / voice_id / "loop")
            print_row(base, base)
            for workers in (1, 2):
                row = queue_run(workers, folder, voice_id, root / voice_id, reference)
                print_row(row, base)
            if not args.no_local:
                print_row(local_run(folder, voice_id, root / voice_id, reference), base)
            shutil.rmtree(root / voice_id, ignore_errors=True)
        print(
            "\nwall s = plain loop, or `audio-service batch` start to exit (workers already up); "
            "art/min = ready articles / wall min; audio min/wall min = audio rendered per "
            "minute; ratio = art/min / plain loop art/min; load = 1-min load average at the "
            "run's start; start s = workers' start-up until they run jobs (not counted); "
            "submit s = batch CLI start until the batch is recorded and queued; 1st job s = "
            "batch CLI start until the first render started; tail s = last render finished "
            "until the batch CLI exited; short = ready articles with fewer segments than the "
            "plain loop made of the same article (sentences lost); rc = batch CLI exit code. "
            "Queue workers: one synthesis process each, 2 job threads; --local counts its own "
            "start-up."
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
