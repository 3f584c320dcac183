"""Worker processes that run speech engines: spawned, bounded, and killed when hung."""

from __future__ import annotations

import atexit
import contextlib
import importlib
import logging
import multiprocessing
import os
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import Future, InvalidStateError
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from audio_service.engines.base import Engine, Synthesis, set_compute_threads
from audio_service.errors import EngineError, EngineTimeoutError
from audio_service.voices import VoiceDef

log = logging.getLogger(__name__)

EngineFactory = Callable[[], Engine]
T = TypeVar("T")
# Niceness of the batch workers when an express worker exists: on a machine with as many
# workers as cores, the express worker (and the API process) then get a core at once.
BATCH_NICE = 5
# Threads of an express worker's engine: the batch workers yield it a second core (niceness).
EXPRESS_THREADS = min(2, os.cpu_count() or 1)

# One engine instance per worker process and factory. eSpeak can only be initialised once
# per process, so this per-process cache is the one place state outlives a call.
_worker_engines: dict[EngineFactory, Engine] = {}


def engine_in_worker(factory: EngineFactory) -> Engine:
    """This worker process's engine for `factory`, created on first use."""
    engine = _worker_engines.get(factory)
    if engine is None:
        engine = _worker_engines[factory] = factory()
    return engine


def _close_engines() -> None:
    # Before interpreter shutdown tears modules down: pyttsx3's finaliser needs them.
    for engine in _worker_engines.values():
        with contextlib.suppress(Exception):
            engine.close()
    _worker_engines.clear()


def _warm(
    factories: tuple[EngineFactory, ...], modules: tuple[str, ...], nice: int = 0, threads: int = 1
) -> None:
    logging.basicConfig(level=logging.WARNING)
    if nice:
        os.nice(nice)
    set_compute_threads(threads)
    atexit.register(_close_engines)
    # Import what tasks will need now, not during the first listener's request.
    for module in modules:
        importlib.import_module(module)
    for factory in factories:
        try:
            engine_in_worker(factory)
        except Exception:  # a broken optional engine must not stop the others
            log.exception("engine failed to start in worker")


def _synthesize(factory: EngineFactory, text: str, voice: VoiceDef) -> Synthesis:
    return engine_in_worker(factory).synthesize(text, voice)


def _version(factory: EngineFactory) -> str:
    return engine_in_worker(factory).version


class SynthPool:
    """A bounded pool of spawned worker processes, each holding its own engines.

    Spawn, never fork: eSpeak's state and onnxruntime's threads do not survive a fork.
    A task that runs past `timeout_s` has its worker killed and replaced.

    `express` extra workers take only tasks submitted with express=True (a render's first
    segments, which a listener waits for): pebble hands tasks out in order, so behind a
    batch render's window a first segment would wait for seconds. The other workers then
    run at a lower priority, so the express worker gets a core at once.
    """

    def __init__(
        self,
        workers: int,
        timeout_s: float,
        engines: dict[str, EngineFactory],
        warm: Iterable[str] = (),
        preload: tuple[str, ...] = ("audio_service.render.pieces",),
        express: int = 0,
    ) -> None:
        self.workers = max(1, workers)
        self.express = max(0, express)
        self.timeout_s = timeout_s
        self._engines = engines
        self._warm = tuple(engines[name] for name in warm if name in engines)
        self._preload = preload
        self._started: ProcessPool | None = None
        self._express: ProcessPool | None = None
        self._versions: dict[str, str] = {}
        self._scheduled: weakref.WeakSet[Future[Any]] = weakref.WeakSet()

    def start(self) -> SynthPool:
        """Spawn the worker processes (each warms its engines); idempotent."""
        if self._started is None:
            spawn = multiprocessing.get_context("spawn")
            nice = BATCH_NICE if self.express else 0
            self._started = ProcessPool(
                max_workers=self.workers,
                context=spawn,
                initializer=_warm,
                initargs=(self._warm, self._preload, nice),
            )
            if self.express:
                self._express = ProcessPool(
                    max_workers=self.express,
                    context=spawn,
                    initializer=_warm,
                    initargs=(self._warm, self._preload, 0, EXPRESS_THREADS),
                )
        return self

    def warm_all(self) -> None:
        """Start every worker process now and wait until each has loaded its engines.

        pebble starts a pool's processes on its first task, and each loads its engines
        before taking one: without this the express pool would start (and load a model)
        on the first listener's request."""
        pools = [(self._pool, self.workers)]
        if self._express is not None:
            pools.append((self._express, self.express))
        futures = [
            pool.schedule(_version, args=(factory,), timeout=120)
            for pool, size in pools
            for factory in self._warm
            for _ in range(size)
        ]
        for future in futures:
            self.result(future, "worker start")

    @property
    def _pool(self) -> ProcessPool:
        if self._started is None:
            raise EngineError("the synthesis pool is not started (call start())")
        return self._started

    def _factory(self, engine: str) -> EngineFactory:
        try:
            return self._engines[engine]
        except KeyError:
            raise EngineError(f"no engine named {engine!r}") from None

    def deadline(self, text: str, voice: VoiceDef) -> float:
        """How long a worker may take to speak `text`: the configured timeout, plus twice the
        speech's own length at the voice's rate. A long sentence on Kokoro (real-time factor
        ~0.6 per core, more on a loaded machine) is slow, not hung."""
        speech_s = len(text.split()) / max(voice.rate_wpm, 1) * 60
        return self.timeout_s + 2 * speech_s

    def submit(
        self, text: str, voice: VoiceDef, timeout_s: float | None = None
    ) -> Future[Synthesis]:
        factory = self._factory(voice.engine)
        future: Future[Synthesis] = self._pool.schedule(
            _synthesize,
            args=(factory, text, voice),
            timeout=timeout_s or self.deadline(text, voice),
        )
        self._scheduled.add(future)
        return future

    def result(self, future: Future[T], text: str) -> T:
        """Wait for a submitted task, turning worker failures into EngineError."""
        try:
            return future.result()
        except FuturesTimeout as exc:
            raise EngineTimeoutError(
                f"speech engine timed out on {text[:60]!r}; its worker was killed"
            ) from exc
        except ProcessExpired as exc:
            raise EngineError(
                f"speech engine worker died (exit code {exc.exitcode}) on {text[:60]!r}"
            ) from exc
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"speech engine failed on {text[:60]!r}: {exc}") from exc

    def synthesize(self, text: str, voice: VoiceDef) -> Synthesis:
        return self.result(self.submit(text, voice), text)

    def submit_call(
        self,
        fn: Callable[..., T],
        engine: str,
        *args: object,
        timeout_s: float | None = None,
        express: bool = False,
    ) -> Future[T]:
        """Run fn(factory of `engine`, *args) in a worker; fn may call engine_in_worker.

        express=True runs it on an express worker, where there is one."""
        pool = self._express if express and self._express is not None else self._pool
        future: Future[T] = pool.schedule(
            fn, args=(self._factory(engine), *args), timeout=timeout_s or self.timeout_s
        )
        self._scheduled.add(future)
        return future

    def engine_version(self, engine: str) -> str:
        """The engine's version string as a worker reports it (cached)."""
        if engine not in self._versions:
            future = self._pool.schedule(_version, args=(self._factory(engine),), timeout=60)
            try:
                self._versions[engine] = future.result()
            except Exception as exc:
                raise EngineError(f"engine {engine!r} failed to start: {exc}") from exc
        return self._versions[engine]

    def close(self) -> None:
        for pool in (self._started, self._express):
            if pool is not None:
                pool.stop()
                pool.join(timeout=10)
        # A stopped pebble pool can leave the futures of tasks that were running unresolved,
        # and whoever waits on one would wait for ever: resolve them here.
        for future in list(self._scheduled):
            if not future.done():
                with contextlib.suppress(InvalidStateError):
                    future.set_exception(EngineError("the synthesis pool was closed"))

    def __enter__(self) -> SynthPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
