"""The length guard on a real (tiny) dpo run: `flag` marks every drifting round and goes on; `stop` with no earlier
round to fall back on fails the stage with a message naming the setting, and leaves nothing that looks complete."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.stages.test_dpo_resume import REPO, _pipeline

pytestmark = pytest.mark.slow


def _run(tmp_path, name: str, guard: dict) -> tuple[subprocess.CompletedProcess, dict]:
    path = _pipeline(tmp_path, tmp_path / name)
    config = yaml.safe_load(path.read_text())
    # plain DPO at a high learning rate: the held-out answers change length, so any drift above 1e-9 trips the guard
    config["dpo"] |= {"length_guard": guard, "sft_loss_weight": 0.0, "heldout_generation": {"max_new_tokens": 16, "temperature": 1.0}, "optim": {"learning_rate": 5e-2, "max_steps": 12, "batch_size": 4, "checkpoint_steps": 0}}
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run([sys.executable, "-m", "steep", "run", str(path)], cwd=REPO, capture_output=True, text=True, timeout=600)
    return done, config


def test_flag_marks_drifting_rounds_and_stop_refuses_to_ship_a_drifted_first_round(tmp_path):
    flagged, config = _run(tmp_path, "flag", {"max_drift": 1e-9, "action": "flag"})
    assert flagged.returncode == 0, flagged.stdout[-3000:] + flagged.stderr[-3000:]
    rounds = json.loads((tmp_path / "flag" / "dpo" / "manifest.json").read_text())["metrics"]["rounds"]
    assert len(rounds) == 2 and all(r["length_flagged"] and not r["stopped_by_length_guard"] for r in rounds)
    assert "flagged" in flagged.stdout + flagged.stderr

    stopped, _ = _run(tmp_path, "stop", {"max_drift": 1e-9, "action": "stop"})
    assert stopped.returncode != 0
    assert "dpo.length_guard.max_drift=1e-09" in stopped.stdout + stopped.stderr
    assert not (tmp_path / "stop" / "dpo" / "manifest.json").exists()
