"""Prometheus metrics of one service instance (own registry: no process-global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "audio_service_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.renders = Counter(
            "audio_service_renders", "Renders finished", ["voice", "outcome"], registry=r
        )
        self.render_seconds = Histogram(
            "audio_service_render_seconds",
            "Wall time of successful renders",
            ["voice"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
            registry=r,
        )
        self.cache = Counter("audio_service_cache", "Audio cache lookups", ["result"], registry=r)
        self.queue_depth = Gauge(
            "audio_service_queue_depth", "Renders queued or running", registry=r
        )
        self.bytes_served = Counter(
            "audio_service_bytes_served", "Audio body bytes sent", registry=r
        )
        self.evictions = Counter(
            "audio_service_evictions", "Stored renders evicted for space", registry=r
        )

        self.jobs = Counter(
            "audio_service_jobs", "Queue jobs finished", ["kind", "outcome"], registry=r
        )
        self.job_seconds = Histogram(
            "audio_service_job_seconds",
            "Wall time of queue jobs",
            ["kind"],
            buckets=(0.01, 0.05, 0.25, 1, 2, 5, 10, 30, 60, 120, 300, 900),
            registry=r,
        )
        self.job_queue_depth = Gauge(
            "audio_service_job_queue_depth",
            "Jobs waiting in the shared job queue (retries scheduled later included)",
            registry=r,
        )
        self.jobs_by_state = Gauge(
            "audio_service_ledger_jobs", "Render jobs in the ledger by state", ["state"], registry=r
        )

    def render_done(self, voice: str, seconds: float, ok: bool) -> None:
        self.renders.labels(voice, "ok" if ok else "failed").inc()
        if ok:
            self.render_seconds.labels(voice).observe(seconds)
