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
from audio_service.engines.registry import builtin_engines, usable_voices
from audio_service.errors import InputError
from audio_service.render.renderer import Renderer, RenderResult
from audio_service.render.script import Scripter
from audio_service.service.core import example_paths
from audio_service.store.local import atomic_write
from audio_service.voices import VoiceDef, load_voices, pick_voice


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


def _voices(settings: Settings) -> tuple[dict[str, VoiceDef], str]:
    """The voices this machine can speak and the default voice's id (eSpeak if Piper is not
    installed)."""
    voices, default = usable_voices(
        load_voices(settings.voices_dir), settings.default_voice, builtin_engines()
    )
    return voices, default.id


def _voice_for(
    voices: dict[str, VoiceDef], article: Article, asked: str | None, default: str
) -> VoiceDef:
    return pick_voice(voices, asked or article.voice or default)


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
    voices, default = _voices(settings)
    article, stem = _read_article(args.input, args.format, settings.max_article_chars)
    voice = _voice_for(voices, article, args.voice, default)
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
    voices, default = _voices(settings)
    article, _ = _read_article(args.input, args.format, settings.max_article_chars)
    voice = _voice_for(voices, article, args.voice, default)
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
    voices, default_id = _voices(settings)
    for voice in voices.values():
        if args.json:
            print(json.dumps(voice.to_dict(), ensure_ascii=False))
        else:
            default = " (default)" if voice.id == default_id else ""
            print(f"{voice.id:<16} {voice.locale:<6} {voice.engine:<7} {voice.name}{default}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Render every example article shipped with the package into the data folder."""
    voices, default = _voices(settings)
    renderer = _renderer(settings, sorted({v.engine for v in voices.values()}))
    try:
        for path in example_paths():
            article = load_article(path, max_chars=settings.max_article_chars)
            voice = _voice_for(voices, article, None, default)
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

    voices, default = _voices(settings)
    voice = pick_voice(voices, args.voice or default)
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

    voices = sub.add_parser("voices", help="list the voices")
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
