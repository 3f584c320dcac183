"""The optional in-service schedule: feeds with a `schedule` build today's episode on time.

A feed's `schedule` is a five-field cron expression (minute hour day month day-of-week) read in
the feed's own time zone, e.g. "5 6 * * *" for 06:05 every day. Every process that runs queue
jobs checks the schedules once a minute; a build is idempotent per feed and date (unchanged
stories give the stored episode back without encoding), and a lock in the job queue keeps two
processes from building the same episode at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from huey import crontab

from audio_service.errors import AudioServiceError
from audio_service.jobs.queue import job_log

if TYPE_CHECKING:
    from audio_service.podcast.feeds import FeedDef
    from audio_service.service.core import Service

MAX_CATCH_UP = timedelta(minutes=10)  # minutes a late check still looks back over


def cron(expression: str) -> Callable[[datetime], bool]:
    """A matcher for a five-field cron expression; ValueError when it is not one."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"schedule needs 5 fields (minute hour day month weekday): {expression!r}")
    return crontab(*fields)  # type: ignore[no-any-return]


def due(feed: FeedDef, since: datetime, now: datetime) -> date | None:
    """The local date of the episode due in the minutes (since, now], or None.

    Both times are aware; every whole minute after `since` up to `now` is checked, so a check
    that runs late (a busy machine) does not skip a scheduled minute.
    """
    if not feed.schedule:
        return None
    matches = cron(feed.schedule)
    zone = ZoneInfo(feed.timezone)
    minute = max(since, now - MAX_CATCH_UP).replace(second=0, microsecond=0)
    minute += timedelta(minutes=1)
    found: date | None = None
    while minute <= now:
        local = minute.astimezone(zone)
        if matches(local.replace(tzinfo=None)):
            found = local.date()
        minute += timedelta(minutes=1)
    return found


def run_due(svc: Service, since: datetime, now: datetime) -> list[str]:
    """Build the episodes due between `since` and `now`; returns "feed date outcome" lines.

    The ledger's lease on "podcast:FEED:DATE" keeps two processes from building one episode
    at once (and is taken over if the process holding it dies)."""
    from audio_service.podcast.episode import build_for_service
    from audio_service.podcast.feeds import load_feeds

    done = []
    for feed in load_feeds(svc.settings.feeds_dir).values():
        day = due(feed, since, now)
        if day is None:
            continue
        key = f"podcast:{feed.id}:{day.isoformat()}"
        if not svc.ledger.claim(key, feed.id, svc.owner, svc.settings.lease_s):
            continue
        state, outcome, error = "failed", "failed", None
        try:
            episode = build_for_service(svc, feed, day)
            state, outcome = "done", "reused" if episode.reused else "built"
        except AudioServiceError as exc:
            error = str(exc)
        finally:
            svc.ledger.finish(key, svc.owner, state, error)
        job_log(kind="podcast", outcome=outcome, feed=feed.id, date=day, error=error)
        svc.metrics.jobs.labels("podcast", outcome).inc()
        done.append(f"{feed.id} {day} {outcome}")
    return done
