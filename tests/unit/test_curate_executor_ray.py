"""kind: ray on a local Ray instance gives byte-identical output to the local executor."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from steep.curate import run_curate
from steep.curate.stage import DOCUMENTS_FILE, EXCLUDED_FILE

from .test_curate_executor import TINY_SHARD_MB, _comparable_metrics, _config, lake  # noqa: F401  (fixture)

ray = pytest.importorskip("ray")


@pytest.fixture
def local_ray(tmp_path_factory):
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        configure_logging=False,
        log_to_driver=False,
        _temp_dir=str(tmp_path_factory.mktemp("ray")),
    )
    yield
    ray.shutdown()


@pytest.mark.slow  # starting Ray takes 5-25 s on a small shared machine
def test_ray_output_is_byte_identical_to_local(tmp_path, lake, local_ray, monkeypatch):  # noqa: F811
    # Relative inputs and output, as a pipeline YAML has them: Ray's workers must resolve them like the driver.
    monkeypatch.chdir(tmp_path)
    inputs = [os.path.relpath(path, tmp_path) for path in lake]
    local = run_curate(_config(inputs, shard_mb=TINY_SHARD_MB), Path("local"))
    on_ray = run_curate(_config(inputs, kind="ray", workers=2, shard_mb=TINY_SHARD_MB), Path("ray"))
    assert ray.is_initialized()  # joined the running instance, did not shut it down
    assert on_ray["shards"] == local["shards"] >= 5 and on_ray["shards_resumed"] == 0
    for name in (DOCUMENTS_FILE, EXCLUDED_FILE):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes(), name
    assert _comparable_metrics(on_ray) == _comparable_metrics(local)
