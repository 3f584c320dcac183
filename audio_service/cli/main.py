"""The `audio-service` command: render, preview, voices, lexicon, podcast, batch, worker, serve."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from audio_service.cli import articles, batch, serve
from audio_service.config import Settings
from audio_service.errors import AudioServiceError, InputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="audio-service", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = parser.add_subparsers(dest="command", required=True)
    for commands in (articles, serve, batch):
        commands.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = Settings()
        return int(args.func(args, settings))
    except BrokenPipeError:
        # The reader (e.g. `head`) went away: not an error of ours.
        sys.stdout = Path(os.devnull).open("w")  # noqa: SIM115
        return 0
    except InputError as exc:
        print(f"audio-service: error: {exc}", file=sys.stderr)
        return 2
    except AudioServiceError as exc:
        print(f"audio-service: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
