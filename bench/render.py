"""Render benchmark: speed, pipeline overhead against the raw engine + encoder, peak memory.

Run: .venv/bin/python bench/render.py
Each case runs in a fresh process so its peak memory is its own. Figures only; no asserts.
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SAMPLE = REPO.parent / "shared" / "samples" / "news-page-ukraine-2022-02-09.txt"
EXAMPLES = REPO / "audio_service" / "examples"


def long_article_text(words: int) -> str:
    """About `words` words of the project's own example paragraphs, repeated."""
    from audio_service.article import load_article

    paragraphs: list[str] = []
    for path in sorted(EXAMPLES.iterdir()):
        if path.suffix in {".json", ".txt", ".html"}:
            paragraphs.extend(load_article(path).body)
    body: list[str] = []
    count = 0
    while count < words:
        for paragraph in paragraphs:
            body.append(paragraph)
            count += len(paragraph.split())
    return "A long read for the benchmark\n\n" + "\n\n".join(body)


class Discard:
    """A sink that keeps nothing, so memory shows the pipeline, not the output."""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def case(name: str, text: str, queue: multiprocessing.Queue[dict[str, object]]) -> None:
    from audio_service.article import parse_text
    from audio_service.config import Settings
    from audio_service.engines import ENGINES
    from audio_service.engines.espeak import EspeakEngine
    from audio_service.engines.pool import SynthPool
    from audio_service.mp3 import Mp3Encoder
    from audio_service.render import Renderer
    from audio_service.script import Scripter
    from audio_service.voices import load_voices

    settings = Settings(data_dir=Path("/tmp/audio-service-bench"))
    voice = load_voices(settings.voices_dir)[settings.default_voice]
    article = parse_text(text)
    scripter = Scripter(*settings.lexicon_dirs)
    with SynthPool(settings.workers, 60, ENGINES, warm=["espeak"]) as pool:
        renderer = Renderer(
            pool, scripter, settings.audio, calibration_file=settings.data_dir / "calibration.json"
        )
        renderer.gain_db(voice)  # calibration is once per voice, not per render
        started = time.perf_counter()
        result = renderer.render(article, voice, Discard())
        full_s = time.perf_counter() - started
    rss_render_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    # Baseline, same text, same process: the raw engine on each segment, then the raw encoder.
    segments = scripter.script(article, voice)
    engine = EspeakEngine()
    started = time.perf_counter()
    pcm = [engine.synthesize(seg.spoken, voice) for seg in segments]
    engine_s = time.perf_counter() - started
    import numpy as np

    samples = np.concatenate([np.frombuffer(p.pcm, "<i2") for p in pcm]).astype(np.float32) / 32768
    encoder = Mp3Encoder(22050, settings.audio)
    started = time.perf_counter()
    encoder.encode(samples)
    encoder.flush()
    encoder_s = time.perf_counter() - started
    engine.close()
    audio_s = result.timings.duration_ms / 1000
    queue.put(
        {
            "name": name,
            "words": sum(len(p.split()) for p in article.body),
            "audio_s": audio_s,
            "full_s": full_s,
            "engine_s": engine_s,
            "encoder_s": encoder_s,
            "rss_mb": rss_render_mb,
            "worker_mb": worker_mb,
            "workers": settings.workers,
        }
    )


def main() -> None:
    cases = []
    if SAMPLE.is_file():
        cases.append(("sample page", SAMPLE.read_text(encoding="utf-8")))
    cases.append(("10,000 words", long_article_text(10_000)))
    cases.append(("40,000 words", long_article_text(40_000)))
    ctx = multiprocessing.get_context("spawn")
    print(
        f"{'case':<14} {'words':>6} {'audio s':>8} {'render s':>9} {'x realtime':>10} "
        f"{'engine s':>9} {'encoder s':>9} {'ratio':>6} {'peak MB':>8} {'worker MB':>9}"
    )
    for name, text in cases:
        queue: multiprocessing.Queue[dict[str, object]] = ctx.Queue()
        proc = ctx.Process(target=case, args=(name, text, queue))
        proc.start()
        r = queue.get()
        proc.join()
        ratio = float(r["full_s"]) / (float(r["engine_s"]) + float(r["encoder_s"]))  # type: ignore[arg-type]
        print(
            f"{name:<14} {r['words']:>6} {r['audio_s']:>8.1f} {r['full_s']:>9.2f} "
            f"{float(r['audio_s']) / float(r['full_s']):>10.0f} {r['engine_s']:>9.2f} "  # type: ignore[arg-type]
            f"{r['encoder_s']:>9.2f} {ratio:>6.2f} {r['rss_mb']:>8.0f} {r['worker_mb']:>9.0f}"
        )
    print(
        "ratio = full render (2 workers, streaming, shaped) / (raw engine on one core + raw "
        "encoder), same text, same run; peak MB = render process RSS, worker MB = largest worker"
    )


if __name__ == "__main__":
    main()
