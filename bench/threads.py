"""Threads or processes for a neural engine: one process with 2 threads against 2 with 1 each.

Run: .venv/bin/python bench/threads.py [--voice en-gb-kokoro-emma]
Each case synthesises the same 8 news sentences in fresh spawned processes (models loaded
before the clock starts); the baseline is one process on one thread, in the same run.
Figures only; no asserts.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SENTENCES = [
    "The council met on Tuesday evening to agree the budget for next year, after weeks of talks.",
    "Ministers said the plan would help families in Leicester, Gloucester and Worcestershire.",
    "It was a difficult decision, she told reporters, but the right one for the town.",
    "Rail fares will rise by nearly five per cent in March, the third rise in as many years.",
] * 2


def work(threads: int, voice_id: str, texts: list[str]) -> tuple[float, float]:
    """Seconds spent and seconds of audio made for `texts`, engine loaded first."""
    from audio_service.engines import base
    from audio_service.engines.registry import builtin_engines
    from audio_service.voices import load_voices

    base.set_compute_threads(threads)
    voice = load_voices(REPO / "voices")[voice_id]
    engine = builtin_engines()[voice.engine]()
    started = time.perf_counter()
    audio_s = sum(engine.synthesize(text, voice).duration_ms / 1000 for text in texts)
    return time.perf_counter() - started, audio_s


def run(processes: int, threads: int, voice_id: str) -> float:
    """Real-time factor of the whole set split across `processes` workers."""
    ctx = multiprocessing.get_context("spawn")
    share = len(SENTENCES) // processes
    parts = [SENTENCES[i * share : (i + 1) * share] for i in range(processes)]
    with ProcessPoolExecutor(processes, mp_context=ctx) as pool:
        results = list(pool.map(work, [threads] * processes, [voice_id] * processes, parts))
    return max(r[0] for r in results) / sum(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", default="en-gb-kokoro-emma")
    args = parser.parse_args()
    baseline = run(1, 1, args.voice)
    print(f"{'case':<24} {'RTF':>6} {'vs 1x1':>7}")
    for processes, threads in ((1, 1), (1, 2), (2, 1)):
        rtf = baseline if (processes, threads) == (1, 1) else run(processes, threads, args.voice)
        label = f"{processes} process(es) x {threads} thread(s)"
        print(f"{label:<24} {rtf:>6.3f} {rtf / baseline:>7.2f}")


if __name__ == "__main__":
    main()
