"""A dpo run killed with SIGKILL in its second round resumes without re-sampling or re-judging the first round,
continues round 2's training from its checkpoint, and ends with the pairs an uninterrupted run ends with.

Real processes, a real `kill -9`: `steep run` on a pipeline of a tiny from-scratch base model and a two-round
dpo (no other stage), killed as soon as round 2 has written a training checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from steep.artifacts import read_jsonl

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _write_jsonl(path: Path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def _pipeline(root: Path, run_dir: Path) -> Path:
    data = root / "data"
    data.mkdir(exist_ok=True)
    texts = [{"text": f"Claim {i} under policy POL-{1000 + i} settles in {i % 9 + 2} working days."} for i in range(60)]
    prompts = [{"messages": [{"role": "user", "content": f"How long does claim {i} take?"}]} for i in range(12)]
    corpus = _write_jsonl(data / "corpus.jsonl", texts)
    prompt_file = _write_jsonl(data / "prompts.jsonl", prompts)
    config = {
        "run_dir": str(run_dir),
        "device": "cpu",
        "base": {"from_scratch": {
            "corpus": [corpus],
            "architecture": {"vocab_size": 320, "hidden_size": 32, "intermediate_size": 64, "num_layers": 2, "num_heads": 2},
            "seq_len": 64, "optim": {"max_steps": 4, "batch_size": 8},
        }},
        "dpo": {
            "prompts": prompt_file, "heldout": prompt_file, "rounds": 2, "samples_per_prompt": 4, "max_heldout": 4,
            "judge": {"rules": [{"kind": "max_words", "name": "short", "max": 6}, {"kind": "min_words", "name": "says_something", "min": 2}]},
            "lora": {"r": 4, "alpha": 8},
            "optim": {"learning_rate": 1e-3, "max_steps": 40, "batch_size": 4, "checkpoint_steps": 4},
            "generation": {"max_new_tokens": 16, "temperature": 1.0, "batch_size": 48},
            "heldout_generation": {"max_new_tokens": 16, "temperature": 0.0},
        },
    }  # fmt: skip
    path = root / f"{run_dir.name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _steep(pipeline: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "steep", "run", str(pipeline)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)  # fmt: skip


def _complete_checkpoint(trainer_dir: Path) -> bool:
    return any((c / "trainer_state.json").is_file() for c in trainer_dir.glob("checkpoint-*"))


def _pair_keys(rows: list[dict]) -> list[tuple]:
    return [(r["round"], json.dumps(r["prompt"]), r["chosen"][0]["content"], r["rejected"][0]["content"], r["chosen_score"], r["rejected_score"]) for r in rows]


def test_dpo_killed_in_round_two_resumes_and_ends_with_the_uninterrupted_pairs(tmp_path):
    uninterrupted = _steep(_pipeline(tmp_path, tmp_path / "straight"))
    out, _ = uninterrupted.communicate(timeout=600)
    assert uninterrupted.returncode == 0, out[-3000:]
    assert out.count("sampled and judged 48 answers") == 2

    run_dir = tmp_path / "killed"
    pipeline = _pipeline(tmp_path, run_dir)
    state = run_dir / "dpo.partial" / "checkpoints"
    victim = _steep(pipeline)
    deadline = time.time() + 600
    while not _complete_checkpoint(state / "round1" / "trainer"):
        assert victim.poll() is None, "the run ended before round 2 wrote a checkpoint:\n" + victim.stdout.read()[-3000:]
        assert time.time() < deadline
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert not (state / "round1" / "done.json").exists(), "killed too late: round 2 had already finished"
    round0_samples = (state / "round0" / "samples.jsonl").read_text(encoding="utf-8")
    round1_pairs = (state / "round1" / "pairs.jsonl").read_text(encoding="utf-8")

    resumed = _steep(pipeline)
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out[-3000:]

    # nothing paid for is paid again: both rounds' judged samples are read back, none is drawn or judged anew
    assert "round 0: reusing 48 judged samples" in out and "round 1: reusing 48 judged samples" in out, out[-3000:]
    assert "sampled and judged" not in out
    assert "resuming round1 from step" in out  # round 2's training continued from its checkpoint
    samples = read_jsonl(run_dir / "dpo" / "samples.jsonl")
    assert [r for r in samples if r["round"] == 0] == [json.loads(line) for line in round0_samples.splitlines()]
    pairs = read_jsonl(run_dir / "dpo" / "pairs.jsonl")
    assert [r for r in pairs if r["round"] == 1] == [json.loads(line) for line in round1_pairs.splitlines()]

    # and the run ends where the uninterrupted one ends
    assert _pair_keys(read_jsonl(run_dir / "dpo" / "pairs.jsonl")) == _pair_keys(read_jsonl(tmp_path / "straight" / "dpo" / "pairs.jsonl"))
    killed_metrics = json.loads((run_dir / "dpo" / "manifest.json").read_text())["metrics"]
    straight_metrics = json.loads((tmp_path / "straight" / "dpo" / "manifest.json").read_text())["metrics"]
    assert killed_metrics["rule_pass_rate_after"] == pytest.approx(straight_metrics["rule_pass_rate_after"])

    # the loss curve is the run that counts: round 2's steps once each, none logged twice by the killed attempt
    curve = read_jsonl(run_dir / "dpo" / "metrics.jsonl")
    for phase in ("round0", "round1"):
        assert [r["step"] for r in curve if r["phase"] == phase] == list(range(1, 41))
