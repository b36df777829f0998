"""The curate MAP phase as Ray tasks: one remote task per shard, at most `executor.workers` in flight.

    curate:
      executor: {kind: ray, address: "ray://head:10001", workers: 64}

Each task runs the same function as the local executor and writes `out_dir/shards/<id>/` itself, so on a
cluster `out_dir` and the inputs must be on storage every node sees (NFS, a mounted bucket); only a shard's
success or error travels back through Ray. The REDUCE (dedup, final files) runs in the driver, as locally:
the output is byte-identical to `kind: local`.

Ray is imported only here and only when used (`pip install 'steep[ray]'`). With `address: null` the run joins
the Ray instance this process already started (`ray.init(...)` in a notebook or a test), else starts a local
one and shuts it down afterwards. Ray retries a task whose worker died (node lost); a task that raised is not
retried: the first error stops the run with the shard named, and finished shards keep their markers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from steep.curate.config import ExecutorConfig
from steep.curate.shards import Shard, ShardFailed


def _import_ray() -> Any:
    # Ray reports usage statistics by default; steep sends nothing anywhere. An operator's explicit setting wins.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise RuntimeError("curate executor kind 'ray' needs Ray: pip install 'steep[ray]'") from None
    return ray


def run_shards_on_ray(task: Callable[[Shard], Any], shards: Sequence[Shard], cfg: ExecutorConfig) -> None:
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        # No dashboard: it serves HTTP and pulls in optional dependencies a batch job does not need.
        ray.init(address=cfg.address, include_dashboard=False, configure_logging=False)
    try:
        remote = ray.remote(num_cpus=1)(_run_task)
        queue = list(shards)
        in_flight: dict[Any, Shard] = {}
        while queue or in_flight:
            while queue and len(in_flight) < cfg.workers:
                shard = queue.pop(0)
                in_flight[remote.remote(task, shard, os.getcwd())] = shard
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                shard = in_flight.pop(ref)
                try:
                    ray.get(ref)
                except Exception as err:
                    for other in in_flight:
                        ray.cancel(other)
                    cause = getattr(err, "cause", None) or err  # RayTaskError wraps the task's own exception
                    raise ShardFailed(shard, cause) from err
    finally:
        if started_here:
            ray.shutdown()


def _run_task(task: Callable[[Shard], Any], shard: Shard, cwd: str) -> None:
    # Inputs may be relative paths (`meta.source` shows them as given): resolve them where the driver does. On a
    # cluster that needs the same mount path on every node, which shared storage gives.
    os.chdir(cwd)
    task(shard)
