"""`audio-service batch` and `audio-service worker`: pre-rendering articles through the queue."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from audio_service.batch import runs as batch
from audio_service.batch.sources import read_source
from audio_service.config import Settings
from audio_service.errors import InputError
from audio_service.http.urls import Urls
from audio_service.service.core import Service, build_service
from audio_service.states import BatchItemStatus

POLL_S = 0.5
SHOW_FAILURES = 30


def _job_logs(verbose: bool) -> None:
    """Job lines (JSON) go to stderr at INFO: they are the worker's account of its work."""
    logging.getLogger("audio_service.jobs").setLevel(logging.INFO)
    if not verbose:
        logging.getLogger().setLevel(logging.WARNING)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run queue jobs until SIGTERM/SIGINT; as many of these as you like, on any machine."""
    _job_logs(args.verbose)
    svc = build_service(settings, Urls(settings.public_url), workers=args.workers).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        svc.warm_up()
        if args.metrics_port:
            from prometheus_client import start_http_server

            start_http_server(args.metrics_port, addr=settings.host, registry=svc.metrics.registry)
        svc.start_jobs(args.threads)
        where = settings.queue_url or f"SQLite queue in {settings.data_dir}"
        print(f"audio-service worker {svc.owner}: running jobs from {where}", flush=True)
        stop.wait()
    finally:
        svc.close()
    return 0


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )


def _follow(svc: Service, batch_id: str, console: Console, local: bool, threads: int) -> Any:
    total = len(batch.status(svc, batch_id).items)
    started = time.monotonic()
    with _progress(console) as bar:
        task = bar.add_task("rendering", total=total, rate="")

        def show(state: batch.BatchStatus) -> None:
            c = state.counts
            done = sum(c[s] for s in batch.FINAL)
            minutes = (time.monotonic() - started) / 60
            rate = f"{(done - c['skipped']) / minutes:.0f} articles/min" if minutes > 0 else ""
            bar.update(task, completed=done, rate=rate)

        if local:
            final = batch.render_here(svc, batch_id, threads, on_progress=show)
        else:
            final = batch.status(svc, batch_id)
            while not final.finished:
                show(final)
                time.sleep(POLL_S)
                final = batch.status(svc, batch_id)
        show(final)
    return final


def _summary(console: Console, state: batch.BatchStatus, seconds: float) -> None:
    c = state.counts
    table = Table(title=f"batch {state.id} ({seconds:.1f} s)")
    columns = {"rendered": c["ready"], "skipped": c["skipped"], "failed": c["failed"]}
    if c["superseded"]:
        columns["superseded"] = c["superseded"]
    for name in columns:
        table.add_column(name, justify="right")
    table.add_row(*(str(n) for n in columns.values()))
    console.print(table)
    failed = [i for i in state.items if i.status == BatchItemStatus.FAILED]
    if failed:
        why = Table(title="failed")
        why.add_column("article")
        why.add_column("reason")
        for item in failed[:SHOW_FAILURES]:
            why.add_row(item.article_id, item.error or "unknown")
        console.print(why)
        if len(failed) > SHOW_FAILURES:
            console.print(f"... and {len(failed) - SHOW_FAILURES} more")


def _dry_run(console: Console, planned: list[batch.PlannedItem]) -> int:
    table = Table(title="dry run: nothing recorded, nothing rendered")
    table.add_column("article")
    table.add_column("action")
    table.add_column("audio min", justify="right")
    for p in planned:
        action = (
            "fail: " + (p.error or "") if p.error else ("skip (current)" if p.current else "render")
        )
        table.add_row(p.id, action, f"{p.seconds / 60:.1f}" if p.seconds else "")
    console.print(table)
    todo = [p for p in planned if p.error is None and not p.current]
    minutes = sum(p.seconds for p in todo) / 60
    skipped = sum(p.current for p in planned)
    failed = sum(p.error is not None for p in planned)
    console.print(
        f"would render {len(todo)} articles, about {minutes:.1f} minutes of audio; "
        f"{skipped} current, {failed} unreadable"
    )
    return 0


def cmd_batch(args: argparse.Namespace, settings: Settings) -> int:
    """Pre-render a folder, JSON Lines file or feed: queued for workers, or here with --local."""
    if args.verbose:
        _job_logs(args.verbose)
    console = Console(stderr=False)
    items = read_source(args.source, max_chars=settings.max_article_chars)
    if not items:
        raise InputError(f"no articles found in {args.source}")
    # Only --local synthesises here; otherwise one engine process answers version questions.
    svc = build_service(
        settings, Urls(settings.public_url), workers=None if args.local else 1
    ).start()
    try:
        if args.dry_run:
            return _dry_run(console, batch.plan(svc, items, args.voice))
        started = time.monotonic()
        batch_id = batch.submit(
            svc,
            items,
            args.source,
            callback_url=args.callback,
            voice=args.voice,
            enqueue=not args.local,
        )
        console.print(f"batch {batch_id}: {len(items)} articles from {args.source}")
        if not args.local:
            if not svc.ledger.consumers(within_s=10):
                console.print(
                    "no worker is running: start `audio-service worker` or `audio-service "
                    "serve`, or use --local to render here",
                    style="yellow",
                )
            if args.no_wait:
                return 0
        if args.local:
            svc.warm_up()
        final = _follow(svc, batch_id, console, args.local, settings.render_concurrency)
        _summary(console, final, time.monotonic() - started)
        return 1 if final.counts["failed"] else 0
    finally:
        svc.close()


def add_commands(sub: Any) -> None:
    b = sub.add_parser("batch", help="pre-render many articles (folder, .jsonl, RSS/Atom)")
    b.add_argument("source", help="folder of .json/.txt/.html, .jsonl file, feed file or URL")
    b.add_argument("--local", action="store_true", help="render here with all cores, no queue")
    b.add_argument("--dry-run", action="store_true", help="show what would render, and minutes")
    b.add_argument("--voice", help="voice id for every article (default: each article's own)")
    b.add_argument("--callback", help="URL that gets a signed POST per finished article")
    b.add_argument("--no-wait", action="store_true", help="queue the renders and return")
    b.set_defaults(func=cmd_batch)

    w = sub.add_parser("worker", help="run queued render jobs (start one per machine or more)")
    w.add_argument("--threads", type=int, help="jobs at once (default AUDIO_SERVICE_JOB_THREADS)")
    w.add_argument("--workers", type=int, help="synthesis processes (default: cores)")
    w.add_argument("--metrics-port", type=int, help="serve this worker's /metrics on this port")
    w.set_defaults(func=cmd_worker)
