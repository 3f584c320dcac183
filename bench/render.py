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
    """About `words` words of the project's own example paragraphs, every sentence made
    unique (a numbered note) so that the segment cache cannot hit within one article."""
    import itertools
    import re

    from audio_service.article import load_article

    paragraphs: list[str] = []
    for path in sorted(EXAMPLES.iterdir()):
        if path.suffix in {".json", ".txt", ".html"}:
            paragraphs.extend(load_article(path).body)
    counter = itertools.count(1)
    body: list[str] = []
    count = 0
    while count < words:
        for paragraph in paragraphs:
            unique = re.sub(
                r"\.(\s|$)", lambda m: f", note {next(counter)}.{m.group(1)}", paragraph
            )
            body.append(unique)
            count += len(unique.split())
    return "A long read for the benchmark\n\n" + "\n\n".join(body)


class Discard:
    """A sink that keeps nothing, so memory shows the pipeline, not the output."""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def case(
    name: str, text: str, voice_id: str, queue: multiprocessing.Queue[dict[str, object]]
) -> None:
    import tempfile

    import numpy as np

    from audio_service.article import Article, parse_text
    from audio_service.audio.mp3 import Mp3Encoder
    from audio_service.config import Settings
    from audio_service.engines.pool import SynthPool
    from audio_service.engines.registry import builtin_engines
    from audio_service.render.pieces import PieceCache
    from audio_service.render.renderer import Renderer
    from audio_service.render.script import Scripter
    from audio_service.voices import load_voices

    settings = Settings(data_dir=Path("/tmp/audio-service-bench"))
    voice = load_voices(settings.voices_dir)[voice_id]
    article = parse_text(text)
    scripter = Scripter(*settings.lexicon_dirs)
    pieces = PieceCache(Path(tempfile.mkdtemp(prefix="bench-pieces-")), 4 << 30)
    with SynthPool(settings.workers, 120, builtin_engines(), warm=[voice.engine]) as pool:
        renderer = Renderer(
            pool,
            scripter,
            settings.audio,
            pieces=pieces,
            calibration_file=settings.data_dir / "calibration.json",
        )
        # Once per voice and per process in the service: not part of a render.
        renderer.gain_db(voice)
        renderer.render(
            renderer.script(Article(title="Warm up", body=("Warm up.",)), voice), Discard()
        )
        started = time.perf_counter()
        result = renderer.render(renderer.script(article, voice), Discard())
        full_s = time.perf_counter() - started
        # A newsroom edit: one paragraph in the middle rewritten.
        body = list(article.body)
        middle = len(body) // 2
        body[middle] = "In a late change, officials revised the figures. " + body[middle]
        edited = Article(title=article.title, body=tuple(body))
        started = time.perf_counter()
        edit = renderer.render(renderer.script(edited, voice), Discard())
        edit_s = time.perf_counter() - started
    rss_render_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    # Baseline, same text, same process: the raw engine on each segment, then the raw encoder.
    segments = scripter.script(article, voice).segments
    engine = builtin_engines()[voice.engine]()
    started = time.perf_counter()
    pcm = [engine.synthesize(seg.spoken, voice) for seg in segments]
    engine_s = time.perf_counter() - started
    engine.close()
    rate = pcm[0].sample_rate_hz
    # A float32 divisor: numpy's stubs type float32 / int as float64 (at run time it is float32).
    pcm16 = np.concatenate([np.frombuffer(p.pcm, "<i2") for p in pcm])
    samples = pcm16.astype(np.float32) / np.float32(32768)
    encoder = Mp3Encoder(rate, settings.audio)
    started = time.perf_counter()
    encoder.encode(samples)
    encoder.flush()
    encoder_s = time.perf_counter() - started
    queue.put(
        {
            "name": name,
            "voice": voice_id,
            "words": sum(len(p.split()) for p in article.body),
            "audio_s": result.timings.duration_ms / 1000,
            "full_s": full_s,
            "edit_s": edit_s,
            "edit_made": edit.synthesized,
            "segments": len(segments),
            "engine_s": engine_s,
            "engine_audio_s": samples.size / rate,
            "encoder_s": encoder_s,
            "rss_mb": rss_render_mb,
            "worker_mb": worker_mb,
        }
    )


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", nargs="+", default=["en-gb-espeak"])
    parser.add_argument(
        "--texts", nargs="+", default=["sample", "10k"], choices=["sample", "10k", "40k"]
    )
    args = parser.parse_args()
    texts = []
    if "sample" in args.texts and SAMPLE.is_file():
        texts.append(("sample page", SAMPLE.read_text(encoding="utf-8")))
    if "10k" in args.texts:
        texts.append(("10,000 words", long_article_text(10_000)))
    if "40k" in args.texts:
        texts.append(("40,000 words", long_article_text(40_000)))
    ctx = multiprocessing.get_context("spawn")
    print(
        f"{'voice':<16} {'case':<13} {'audio s':>8} {'render s':>8} {'RTF':>6} "
        f"{'raw RTF':>7} {'ratio':>6} {'edit s':>7} {'edit/full':>9} {'peak MB':>7} "
        f"{'worker MB':>9}"
    )
    for voice_id in args.voices:
        for name, text in texts:
            queue: multiprocessing.Queue[dict[str, object]] = ctx.Queue()
            proc = ctx.Process(target=case, args=(name, text, voice_id, queue))
            proc.start()
            r = queue.get()
            proc.join()
            full = float(r["full_s"])  # type: ignore[arg-type]
            audio_s = float(r["audio_s"])  # type: ignore[arg-type]
            raw = float(r["engine_s"]) + float(r["encoder_s"])  # type: ignore[arg-type]
            raw_rtf = float(r["engine_s"]) / float(r["engine_audio_s"])  # type: ignore[arg-type]
            edit = float(r["edit_s"])  # type: ignore[arg-type]
            print(
                f"{voice_id:<16} {name:<13} {audio_s:>8.1f} {full:>8.2f} "
                f"{full / audio_s:>6.3f} {raw_rtf:>7.3f} {full / raw:>6.2f} {edit:>7.3f} "
                f"{edit / full:>9.3f} {r['rss_mb']:>7.0f} {r['worker_mb']:>9.0f}"
                f"   ({r['edit_made']} of {r['segments']} segments re-made)"
            )
    print(
        "RTF = render seconds / audio seconds (2 workers, cold piece cache); raw RTF = the "
        "engine alone in one process; ratio = render / (raw engine + raw encoder), same text, "
        "same run; edit = re-render after one paragraph changed; peak MB = render process, "
        "worker MB = largest worker"
    )


if __name__ == "__main__":
    main()
