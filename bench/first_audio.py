"""First-audio benchmark: PUT of a new article -> the first MPEG audio frame a client reads.

Run: .venv/bin/python bench/first_audio.py [--rounds 9] [--voices en-us-piper-joe en-gb-espeak]
     [--batch-words 1500] [--batch-voice en-us-piper-joe]

The whole service runs on uvicorn (uvloop + httptools, 2 synthesis workers, a fresh data dir)
in a child process, as `audio-service serve` runs it. For each voice, `rounds` fresh articles
(every sentence unique, so no cached piece helps) are PUT and their audio.mp3 read with httpx
until the first MPEG frame after the ID3 tag has arrived: once with the service idle, once
beside a batch render (a ~1,500-word article of the batch voice rendering at the same time;
a new one is PUT whenever the last has finished). The time is split into PUT answered, GET
headers, first byte (the ID3 tag) and first frame. Baseline, in this process after the server
has stopped: the same first segment of each article made into a piece (synthesis, shaping,
encoding) by the engine in-process, i.e. the least any first audio can cost. Traffic goes only
to 127.0.0.1. Figures only; no asserts.
"""

from __future__ import annotations

import argparse
import itertools
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
# The repository root, not bench/ itself, goes first on the import path.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]

# The port and article helpers the other benchmarks already have (stdlib only at import).
from bench.batch import example_paragraphs  # noqa: E402
from bench.serving import free_port, wait_for_port  # noqa: E402

NEURAL = "en-us-piper-joe"
VOICES = [NEURAL, "en-gb-espeak"]
MEASURED_WORDS = 150  # a short story: its length does not change its first audio
GOAL_MS = {NEURAL: 250.0, "en-gb-espeak": 60.0}
# Headlines of three or four words before their first phrase break, every head different
# (12 x 6 of them): the head is the first piece, and a repeated one would come from the cache.
SUBJECTS = (
    *("Harbour bridge", "City council", "Storm warning", "Ferry operator", "School board"),
    *("Rail service", "Cycle lanes", "Hospital trust", "Town museum", "Water company"),
    *("Police chief", "Airport expansion"),
)
VERBS = ("wins support", "faces delay", "draws criticism", "gets approval", "sees cuts", "returns")
TAILS = (
    "after a long review of costs",
    "for the third year running",
    "despite objections from residents",
    "with new money from the region",
)


def serve(data_dir: Path, port: int) -> None:
    """Child process: the whole service on uvicorn, as `audio-service serve` runs it."""
    import uvicorn

    from audio_service.config import Settings
    from audio_service.http.app import create_app

    settings = Settings(data_dir=data_dir, examples=False, workers=2)
    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )


# Articles


class Articles:
    """Newsroom-shaped articles whose every sentence (and title) is new to the service."""

    def __init__(self, run: str) -> None:
        self._paragraphs = example_paragraphs()
        self._notes = itertools.count(1)
        self._made = itertools.count(1)
        self._run = run  # in the title's tail: the rest of the headline is new each run too

    def _unique(self, paragraph: str) -> str:
        return re.sub(r"\.(\s|$)", lambda m: f", note {next(self._notes)}.{m.group(1)}", paragraph)

    def make(self, words: int) -> dict[str, object]:
        n = next(self._made)
        body: list[str] = []
        count = 0
        start = n % len(self._paragraphs)
        for paragraph in itertools.islice(itertools.cycle(self._paragraphs), start, None):
            body.append(self._unique(paragraph))
            count += len(body[-1].split())
            if count >= words:
                break
        head = f"{SUBJECTS[n % len(SUBJECTS)]} {VERBS[n // len(SUBJECTS) % len(VERBS)]}"
        return {
            "title": f"{head} {TAILS[n % len(TAILS)]}, {self._run}",
            "byline": "By Priya Castellane",
            "body": body,
        }


# Client


@dataclass(frozen=True)
class Sample:
    put_ms: float  # PUT answered
    headers_ms: float  # GET answered with headers
    first_byte_ms: float  # the ID3 tag's first bytes
    frame_ms: float  # the first MPEG frame after the tag: what a listener hears first


def first_frame_offset(data: bytes) -> int | None:
    """Offset just past the first MPEG frame header after the ID3 tag; None until it is there."""
    if len(data) < 10:
        return None
    start = 0
    if data[:3] == b"ID3":
        size = data[6:10]
        start = 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3])
    if len(data) < start + 4:
        return None
    if data[start] != 0xFF or data[start + 1] & 0xE0 != 0xE0:
        raise RuntimeError(f"no MPEG frame sync after the ID3 tag (byte {start})")
    return start + 4


def measure(client: httpx.Client, article_id: str, article: dict[str, object]) -> Sample:
    started = time.perf_counter()
    response = client.put(f"/v1/articles/{article_id}", json=article)
    response.raise_for_status()
    put = time.perf_counter()
    first_byte = 0.0
    with client.stream("GET", f"/v1/articles/{article_id}/audio.mp3") as stream:
        headers = time.perf_counter()
        stream.raise_for_status()
        data = b""
        for chunk in stream.iter_raw():
            if not data:
                first_byte = time.perf_counter()
            data += chunk
            if first_frame_offset(data) is not None:
                break
        else:
            raise RuntimeError(f"{article_id}: the stream ended before its first frame")
        frame = time.perf_counter()

    def ms(t: float) -> float:
        return (t - started) * 1000

    return Sample(ms(put), ms(headers), ms(first_byte), ms(frame))


class Batch:
    """Keeps one long article of the batch voice rendering: a new one when the last is done."""

    def __init__(
        self, client: httpx.Client | None, articles: Articles, voice: str, words: int
    ) -> None:
        self.client, self.articles, self.voice, self.words = client, articles, voice, words
        self.current: str | None = None
        self.started = 0
        self.numbers = itertools.count(1)

    def status(self) -> str:
        if self.client is None or self.current is None:
            return "none"
        return str(self.client.get(f"/v1/articles/{self.current}").json()["status"])

    def ensure_running(self) -> None:
        if self.client is None:
            raise RuntimeError("the batch has no client yet")
        if self.status() in ("queued", "rendering"):
            return
        self.current = f"batch-{self.voice}-{next(self.numbers)}"
        article = {**self.articles.make(self.words), "voice": self.voice}
        self.client.put(f"/v1/articles/{self.current}", json=article).raise_for_status()
        self.started += 1
        deadline = time.monotonic() + 30
        while self.status() != "rendering" and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # let its window of segments fill the workers


def run_voice(
    port: int, voice: str, rounds: int, articles: Articles, batch: Batch | None
) -> tuple[list[Sample], list[dict[str, object]]]:
    samples: list[Sample] = []
    made: list[dict[str, object]] = []
    label = "batch" if batch else "idle"
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, trust_env=False) as c:
        if batch is not None:
            batch.client = c
        for i in range(rounds):
            if batch is not None:
                batch.ensure_running()
            else:
                time.sleep(0.3)  # idle means idle: the last render's tail has finished
            article = {**articles.make(MEASURED_WORDS), "voice": voice}
            article_id = f"first-{label}-{voice}-{i}"
            samples.append(measure(c, article_id, article))
            made.append(article)
            # Its render finishes before the next round, so only the batch is ever beside it.
            while c.get(f"/v1/articles/{article_id}").json()["status"] in ("queued", "rendering"):
                time.sleep(0.05)
    return samples, made


# Baseline


def piece_times_ms(voice_id: str, articles: list[dict[str, object]]) -> list[float]:
    """The first segment of each article made into a piece by the engine in this process."""
    from audio_service.article import Article
    from audio_service.config import Settings
    from audio_service.engines.registry import builtin_engines
    from audio_service.render.pieces import make_piece
    from audio_service.render.script import Scripter
    from audio_service.voices import load_voices

    settings = Settings()
    voice = load_voices(settings.voices_dir)[voice_id]
    factory = builtin_engines()[voice.engine]
    scripter = Scripter(*settings.lexicon_dirs)
    make_piece(factory, "Warm up.", voice, 0.0, 0, settings.audio)
    times = []
    for raw in articles:
        body = raw["body"]
        paragraphs = tuple(str(p) for p in body) if isinstance(body, list) else ()
        article = Article(title=str(raw["title"]), byline=str(raw["byline"]), body=paragraphs)
        first = scripter.script(article, voice).segments[0]
        started = time.perf_counter()
        make_piece(factory, first.spoken, voice, 0.0, first.pause_after_ms, settings.audio)
        times.append((time.perf_counter() - started) * 1000)
    return times


# Report


def summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):4.0f} ms "
        f"(min {min(values):4.0f}, max {max(values):4.0f})"
    )


def report(voice: str, label: str, samples: list[Sample], baseline_ms: float) -> None:
    frame = [s.frame_ms for s in samples]
    goal = GOAL_MS.get(voice)
    verdict = (
        ""
        if goal is None
        else f"  goal < {goal:.0f} ms: {'met' if statistics.median(frame) < goal else 'MISSED'}"
    )
    print(f"{voice:>16} {label:>5}: first frame {summary(frame)}{verdict}")
    print(
        f"{'':>16} {'':>5}  PUT answered {statistics.median(s.put_ms for s in samples):4.0f}, "
        f"GET headers {statistics.median(s.headers_ms for s in samples):4.0f}, "
        f"ID3 bytes {statistics.median(s.first_byte_ms for s in samples):4.0f} ms (medians); "
        f"first frame / first piece alone {statistics.median(frame) / baseline_ms:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--voices", nargs="+", default=VOICES)
    parser.add_argument("--batch-words", type=int, default=1500)
    parser.add_argument("--batch-voice", default=NEURAL)
    parser.add_argument("--serve", nargs=2, metavar=("DATA_DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]))
        return
    results: dict[tuple[str, str], list[Sample]] = {}
    firsts: dict[str, list[dict[str, object]]] = {}
    articles = Articles(run=f"edition {int(time.time()) % 100000}")
    with tempfile.TemporaryDirectory(prefix="first-audio-") as tmp:
        port = free_port()
        child = subprocess.Popen([sys.executable, __file__, "--serve", tmp, str(port)])
        try:
            started = time.perf_counter()
            wait_for_port(port, 300)
            print(f"service up in {time.perf_counter() - started:.1f} s (warm-up included)")
            for voice in args.voices:
                idle, made = run_voice(port, voice, args.rounds, articles, None)
                results[voice, "idle"] = idle
                firsts[voice] = made
                batch = Batch(None, articles, args.batch_voice, args.batch_words)
                beside, made = run_voice(port, voice, args.rounds, articles, batch)
                results[voice, "batch"] = beside
                firsts[voice] += made
                print(
                    f"{voice}: beside {batch.started} batch article(s) of ~{args.batch_words} "
                    f"words, voice {args.batch_voice}"
                )
        finally:
            child.terminate()
            child.wait(timeout=30)
    print(f"PUT -> first MPEG frame after the ID3 tag, {args.rounds} fresh articles each:")
    for voice in args.voices:
        baseline = statistics.median(piece_times_ms(voice, firsts[voice]))
        print(f"{voice:>16} first piece made alone in-process: median {baseline:.0f} ms")
        for label in ("idle", "batch"):
            report(voice, label, results[voice, label], baseline)


if __name__ == "__main__":
    main()
