"""The job queue: Huey, on SQLite in the data folder by default or on Redis across machines.

Huey was chosen because it is the one well-kept queue that runs both embedded, with no server
(SqliteHuey), and on Redis with consumers on many machines (RedisHuey), with the same task
code; Celery, Dramatiq and RQ all need a broker server even on one machine.

Huey removes a message when a worker takes it, so a worker killed mid-job would lose it; the
ledger's leases cover that (see ledger.py): the keeper below takes stale jobs back and
enqueues them again. Tasks are idempotent, keyed by render key, so a duplicate is harmless.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey, TaskWrapper
from huey.consumer import Scheduler, Worker

from audio_service.config import Settings
from audio_service.jobs.ledger import Ledger

log = logging.getLogger(__name__)

# The kinds of job on the queue, and the arguments each one's handler takes. A new kind is a
# name here, an enqueue helper below, and a handler passed to JobQueue.start by the service.
JOB_KINDS = {
    "render": "(article id, render key[, times a full render queue refused it])",
    "webhook": "(batch id, article id, render key, event, attempt)",
}
Handler = Callable[..., object]  # a kind's handler: its arguments -> an outcome
TickFn = Callable[[], object]  # once a minute in every consuming process
IDLE_MAX_S = 0.5  # longest a SQLite consumer sleeps between looks at an empty queue


def make_huey(settings: Settings) -> Huey:
    url = settings.queue_url
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("audio-service", url=url, results=False)
    if url:
        raise ValueError(f"AUDIO_SERVICE_QUEUE_URL must be empty (SQLite) or redis://, not {url!r}")
    path = settings.data_dir / "queue.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("audio-service", filename=str(path), results=False)


def job_log(**fields: Any) -> None:
    """One structured line per job event (JSON, so log shippers can parse it)."""
    log.info(json.dumps({"event": "job", **fields}, sort_keys=True, default=str))


class JobQueue:
    """Tasks on a Huey instance, and the threads that consume them in this process."""

    def __init__(self, settings: Settings, ledger: Ledger) -> None:
        self.settings = settings
        self.ledger = ledger
        self.huey = make_huey(settings)
        self._handlers: dict[str, Handler] = {}
        self._tick_fn: TickFn | None = None
        # Every process registers every kind: a producer-only one enqueues them too.
        self._tasks: dict[str, TaskWrapper] = {
            kind: self.huey.task(name=kind)(self._runs(kind)) for kind in JOB_KINDS
        }
        self.huey.periodic_task(crontab(), name="minute")(self._tick_task)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # Producing

    def enqueue_render(
        self, article_id: str, key: str, *, delay_s: float = 0, dedupe: bool = True
    ) -> bool:
        """Queue a render unless one for the key is queued or running already.

        Retries (`delay_s`) and jobs taken back from a dead worker skip that check: the
        ledger already shows them queued.
        """
        if dedupe and delay_s <= 0 and not self.ledger.enqueued(key, article_id):
            return False
        self.enqueue("render", article_id, key, delay_s=delay_s)
        return True

    def enqueue_webhook(
        self, batch_id: str, article_id: str, key: str, event: str, attempt: int, delay_s: float
    ) -> None:
        self.enqueue("webhook", batch_id, article_id, key, event, attempt, delay_s=delay_s)

    def enqueue(self, kind: str, *args: object, delay_s: float = 0) -> None:
        """Queue a job of `kind` (a name in JOB_KINDS), now or after `delay_s` seconds."""
        task = self._tasks[kind]
        if delay_s > 0:
            task.schedule(args=args, delay=delay_s)
        else:
            task(*args)

    def depth(self) -> int:
        """Jobs waiting in the queue, including retries scheduled for later."""
        return int(self.huey.pending_count()) + int(self.huey.scheduled_count())

    # Consuming

    def _runs(self, kind: str) -> Callable[..., object]:
        def run(*args: object) -> object:
            handler = self._handlers.get(kind)
            if handler is None:  # a producer-only process never consumes
                raise RuntimeError(f"{kind} task reached a process that does not run jobs")
            return handler(*args)

        run.__name__ = f"run_{kind}"
        return run

    def _tick_task(self) -> None:
        if self._tick_fn is not None:
            self._tick_fn()

    @property
    def consuming(self) -> bool:
        return bool(self._threads) and not self._stop.is_set()

    def start(self, threads: int, handlers: dict[str, Handler], tick: TickFn) -> None:
        """Consume in this process: `threads` workers plus Huey's scheduler (retries later,
        and the once-a-minute tick). `handlers` has one function per kind in JOB_KINDS."""
        missing = set(JOB_KINDS) - set(handlers)
        if missing:
            raise ValueError(f"no handler for job kinds {sorted(missing)}")
        self._handlers, self._tick_fn = dict(handlers), tick
        for n in range(threads):
            worker = Worker(self.huey, default_delay=0.05, max_delay=IDLE_MAX_S, backoff=1.5)
            self._spawn(f"job-worker-{n}", worker.loop)
        scheduler = Scheduler(self.huey, interval=1, periodic=True)
        self._spawn("job-scheduler", scheduler.loop)

    def _spawn(self, name: str, step: Callable[[], object]) -> None:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    step()
                except Exception:  # the loop must outlive any one failure
                    log.exception("%s: unexpected error; going on", name)
                    time.sleep(1)

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout_s: float = 10) -> None:
        """Take no new jobs; wait up to `timeout_s` for the running ones (0: do not wait)."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()
