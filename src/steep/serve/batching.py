"""A small batching queue in front of the engine: one worker thread owns the model; requests that arrive within a
few milliseconds of each other, for the same model (adapter) with the same sampling settings, are generated together.

    batcher = Batcher(engine, BatchingConfig(max_batch_size=8, max_wait_ms=5))
    completion = await batcher.generate(messages, Sampling(max_tokens=64), adapter=None)
    async for piece in batcher.stream(messages, Sampling(max_tokens=64), adapter="support"): ...

Why one thread: the model (its weights, its active LoRA adapter, its KV cache) is one mutable object; a single
owner serializes access per adapter for free, and `set_adapter` can never flip under a running batch.
What batches: non-streaming requests with equal `(adapter, sampling, chat-or-text)`. Not batched: streamed replies
(one at a time: a streamer follows one sequence) and seeded requests (a seed promises the reply that prompt gets
alone; a batch shares one random stream and padding). Requests that cannot join the current batch wait their
turn in arrival order. `max_batch_size: 1` serves one request at a time (bench/serve.py compares the two).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from steep.serve.config import BatchingConfig
from steep.serve.engine import BatchEngine, Completion, Prompt, Sampling
from steep.serve.metrics import BATCH_BUCKETS, Metrics

log = logging.getLogger("steep.serve")
_STREAM_END = object()


@dataclass
class _Job:
    prompt: Prompt
    sampling: Sampling
    adapter: str | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future | None = None  # non-streaming: the Completion
    pieces: asyncio.Queue | None = None  # streaming: str pieces, then the Completion, then _STREAM_END
    cancelled: threading.Event = field(default_factory=threading.Event)

    @property
    def batchable(self) -> bool:
        return self.pieces is None and self.sampling.seed is None

    def key(self) -> tuple[Any, ...]:
        return (self.adapter, self.sampling, isinstance(self.prompt, str))


def _call(loop: asyncio.AbstractEventLoop, fn: Any, *args: Any) -> None:
    """Hand a result to the request's event loop; a loop already closed (its client gone) gets nothing."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:
        pass


def _resolve(future: asyncio.Future, value: Any, error: BaseException | None) -> None:
    if future.done():  # the client went away and the request task was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class Batcher:
    """Owns the engine; `generate` and `stream` are called from the event loop."""

    def __init__(self, engine: BatchEngine, config: BatchingConfig, metrics: Metrics | None = None) -> None:
        self.engine = engine
        self.max_batch_size = config.max_batch_size
        self.max_wait_s = config.max_wait_ms / 1000.0
        self.metrics = metrics or Metrics()
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="steep-batcher", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._queue.put(None)

    async def generate(self, prompt: Prompt, sampling: Sampling, adapter: str | None) -> Completion:
        loop = asyncio.get_running_loop()
        job = _Job(prompt, sampling, adapter, loop, future=loop.create_future())
        self._queue.put(job)
        try:
            return await job.future
        finally:
            job.cancelled.set()

    async def stream(self, prompt: Prompt, sampling: Sampling, adapter: str | None) -> AsyncIterator[str | Completion]:
        """Text pieces, then one Completion. Closing the iterator early (client gone) stops the generation."""
        loop = asyncio.get_running_loop()
        job = _Job(prompt, sampling, adapter, loop, pieces=asyncio.Queue())
        self._queue.put(job)
        try:
            while True:
                item = await job.pieces.get()
                if item is _STREAM_END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            job.cancelled.set()

    # ------------------------------------------------------------------------------------------- worker thread

    def _run(self) -> None:
        waiting: deque[_Job] = deque()  # taken off the queue but not yet run (they could not join a batch)
        while True:
            job = waiting.popleft() if waiting else self._queue.get()
            if job is None:
                return
            if job.cancelled.is_set():
                continue
            if not job.batchable:
                self._run_stream(job) if job.pieces is not None else self._run_batch([job])
                continue
            batch, stop = self._collect(job, waiting)
            self._run_batch(batch)
            if stop:
                return

    def _collect(self, first: _Job, waiting: deque[_Job]) -> tuple[list[_Job], bool]:
        """`first` plus compatible jobs: those already waiting, then arrivals until max_wait_s has passed."""
        batch, key = [first], first.key()
        for job in list(waiting):
            if len(batch) >= self.max_batch_size:
                break
            if job.batchable and job.key() == key:
                waiting.remove(job)
                batch.append(job)
        deadline = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch_size:
            remaining = deadline - time.monotonic()
            try:
                job = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return batch, True
            if job.batchable and job.key() == key:
                batch.append(job)
            else:
                waiting.append(job)
        return batch, False

    def _run_batch(self, batch: list[_Job]) -> None:
        live = [job for job in batch if not job.cancelled.is_set()]
        if not live:
            return
        self.metrics.observe("steep_batch_size", len(live), buckets=BATCH_BUCKETS)
        first = live[0]
        try:
            completions = self.engine.generate([job.prompt for job in live], first.sampling, first.adapter)
            if len(completions) != len(live):
                raise RuntimeError(f"engine returned {len(completions)} completions for {len(live)} prompts")
        except Exception as exc:  # the engine is third-party code: fail these requests, keep serving
            log.exception("engine failed on a batch of %d", len(live))
            for job in live:
                _call(job.loop, _resolve, job.future, None, exc)
            return
        for job, completion in zip(live, completions):
            _call(job.loop, _resolve, job.future, completion, None)

    def _run_stream(self, job: _Job) -> None:
        self.metrics.observe("steep_batch_size", 1, buckets=BATCH_BUCKETS)
        put = job.pieces.put_nowait
        pieces = self.engine.stream(job.prompt, job.sampling, job.adapter)
        try:
            for item in pieces:
                if job.cancelled.is_set():
                    break
                _call(job.loop, put, item)
        except Exception as exc:
            log.exception("engine failed while streaming")
            _call(job.loop, put, exc)
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # a generator's finally blocks run now: the engine stops generating
            _call(job.loop, put, _STREAM_END)
