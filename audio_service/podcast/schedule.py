"""The optional in-service schedule: feeds with a `schedule` build today's episode on time.

A feed's `schedule` is a five-field cron expression (minute hour day month day-of-week) read in
the feed's own time zone, e.g. "5 6 * * *" for 06:05 every day. Every process that runs queue
jobs checks the schedules once a minute; a build is idempotent per feed and date (unchanged
stories give the stored episode back without encoding), and a lock (jobs/locks.py) keeps two
processes from building the same episode at once; service/podcasts.py runs the builds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from huey import crontab

MAX_CATCH_UP = timedelta(minutes=10)  # minutes a late check still looks back over


class Scheduled(Protocol):
    """What a schedule is read from (a FeedDef)."""

    @property
    def schedule(self) -> str: ...  # "" for none

    @property
    def timezone(self) -> str: ...


def cron(expression: str) -> Callable[[datetime], bool]:
    """A matcher for a five-field cron expression; ValueError when it is not one."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"schedule needs 5 fields (minute hour day month weekday): {expression!r}")
    return crontab(*fields)  # type: ignore[no-any-return]


def due(feed: Scheduled, since: datetime, now: datetime) -> date | None:
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
