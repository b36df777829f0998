"""Sharded execution of the curate MAP phase: run a task on each shard here, in a process pool, or on Ray.

    shards = plan_shards(paths, shard_bytes=64 << 20, split_jsonl=True)      # steep.curate.shards
    todo = [s for s in shards if not is_done(shard_dir(out, s), fingerprints[s.index])]
    run_shards(task, todo, ExecutorConfig(workers=4))       # task(shard) writes shard_dir(out, shard)

What a shard is, how inputs are cut into shards and the completion markers that let a rerun skip finished
ones: `steep.curate.shards`.

Workers: `kind: local, workers: 1` runs the shards one after the other in this process (no pickling, easy to
debug); `workers: N` uses a pool of N spawned processes (spawn, not fork: the parent may hold threads and locks,
e.g. a tokenizer's, that a forked child would inherit mid-use). As with any spawn pool, a script that calls
`run_curate` with workers > 1 needs the `if __name__ == "__main__":` guard. `kind: ray`: `steep.curate.ray_executor`.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from steep.curate.config import ExecutorConfig
from steep.curate.shards import Shard, ShardFailed


def run_shards(task: Callable[[Shard], Any], shards: Sequence[Shard], cfg: ExecutorConfig) -> None:
    """Run `task` on every shard (in any order; the reduce reads them in shard order). Raises `ShardFailed`."""
    if not shards:
        return
    if cfg.kind == "ray":
        from steep.curate.ray_executor import run_shards_on_ray

        run_shards_on_ray(task, shards, cfg)
    elif cfg.workers == 1 or len(shards) == 1:
        for shard in shards:
            try:
                task(shard)
            except Exception as err:
                raise ShardFailed(shard, err) from err
    else:
        _run_in_pool(task, shards, cfg.workers)


def _run_in_pool(task: Callable[[Shard], Any], shards: Sequence[Shard], workers: int) -> None:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(shards)), mp_context=context) as pool:
        futures = {pool.submit(task, shard): shard for shard in shards}
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in sorted(done, key=lambda f: futures[f].index) if f.exception() is not None), None)
        if failed is not None:
            # Shards already running finish and keep their markers (the pool waits for them on exit); queued ones
            # are cancelled, to run on the rerun.
            pool.shutdown(wait=True, cancel_futures=True)
            error = failed.exception()
            if isinstance(error, BrokenProcessPool):
                error = f"{error} (killed, out of memory, or a script without `if __name__ == '__main__':`)"
            raise ShardFailed(futures[failed], error) from failed.exception()
