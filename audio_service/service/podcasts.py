"""The service's podcasts: episodes built from its own stories, renderer and store, on demand
or when a feed's schedule comes due (one process at a time, under a lock)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from audio_service.article import Article
from audio_service.config import Settings
from audio_service.errors import AudioServiceError
from audio_service.jobs.locks import Locks
from audio_service.jobs.queue import job_log
from audio_service.metrics import Metrics
from audio_service.podcast.chapters import Episode
from audio_service.podcast.episode import EpisodeBuilder
from audio_service.podcast.feeds import FeedDef, load_feeds, select_stories
from audio_service.podcast.schedule import due
from audio_service.service.lifecycle import Lifecycle
from audio_service.states import JobOutcome


class Podcasts:
    """Builds a feed's episode for a day; idempotent per feed and date."""

    def __init__(
        self,
        settings: Settings,
        articles: Lifecycle,
        locks: Locks,
        metrics: Metrics,
        owner: str,
    ) -> None:
        self.settings = settings
        self.articles = articles
        self.locks = locks
        self.metrics = metrics
        self.owner = owner
        self._last_tick = datetime.now(UTC)

    def build(self, feed: FeedDef, day: date, *, force: bool = False) -> Episode:
        """The feed's episode of `day` from the stories in the index (cached audio reused)."""
        stories = select_stories(feed, day, self.articles.index)
        # The feed's voice, else the voice of the feed's language.
        voice = self.articles.voice_for(
            Article(title="", body=(), language=feed.language), feed.voice or None
        )
        a = self.articles
        builder = EpisodeBuilder(a.renderer, a.store, self.settings.data_dir)
        return builder.build(feed, day, stories, voice, force=force)

    def run_schedule(self) -> list[str]:
        """Build the episodes whose schedule came due since the last look."""
        now = datetime.now(UTC)
        since, self._last_tick = self._last_tick, now
        return self.run_due(since, now)

    def run_due(self, since: datetime, now: datetime) -> list[str]:
        """Build the episodes due between `since` and `now`; returns "feed date outcome" lines.

        The lock "podcast:FEED:DATE" keeps two processes from building one episode at once
        (and is taken over if the process holding it dies)."""
        done = []
        for feed in load_feeds(self.settings.feeds_dir).values():
            day = due(feed, since, now)
            if day is None:
                continue
            name = f"podcast:{feed.id}:{day.isoformat()}"
            if not self.locks.acquire(name, self.owner, self.settings.lease_s):
                continue
            outcome, error = JobOutcome.FAILED, None
            try:
                episode = self.build(feed, day)
                outcome = JobOutcome.REUSED if episode.reused else JobOutcome.BUILT
            except AudioServiceError as exc:
                error = str(exc)
            finally:
                self.locks.release(name, self.owner)
            job_log(kind="podcast", outcome=outcome, feed=feed.id, date=day, error=error)
            self.metrics.jobs.labels("podcast", outcome).inc()
            done.append(f"{feed.id} {day} {outcome}")
        return done
