"""A dpo run whose HTTP judge goes down mid-round stops with the judge's error; the rerun, with the judge back,
pays again for nothing it already judged (dpo caches an HTTP judge's verdicts in its resumable state).

A scripted OpenAI-compatible judge on loopback scores a question by its length; it answers 500 from its 30th
request on during the first run, and normally during the second.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from tests.stages.test_dpo_resume import REPO, _pipeline

pytestmark = pytest.mark.slow


class Judge:
    def __init__(self) -> None:
        self.requests = 0
        self.fail_from: int | None = None
        self.lock = threading.Lock()

    def reply(self, body: dict) -> tuple[int, str]:
        with self.lock:
            self.requests += 1
            if self.fail_from is not None and self.requests >= self.fail_from:
                return 500, "judge overloaded"
        content = f"Score: {len(body['messages'][-1]['content']) % 11}/10. Winner: A"  # read as a score or a winner
        return 200, json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}], "usage": {"prompt_tokens": 5, "completion_tokens": 3}})


@pytest.fixture
def judge_server():
    judge = Judge()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            status, text = judge.reply(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield judge, f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_judge_down_mid_round_fails_the_stage_and_the_rerun_reuses_cached_verdicts(tmp_path, judge_server):
    judge, url = judge_server
    path = _pipeline(tmp_path, tmp_path / "run")
    config = yaml.safe_load(path.read_text())
    config["dpo"] |= {
        "rounds": 1,
        "judge": {"kind": "openai", "base_url": url, "model": "judge", "max_retries": 1, "backoff_base_s": 0.0,
                  "backoff_max_s": 0.0, "concurrency": 1, "terms": {"allows_training_on_outputs": True, "source": "test server"}},
        "optim": {"learning_rate": 1e-3, "max_steps": 2, "batch_size": 4, "checkpoint_steps": 0},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "steep", "run", str(path)]

    judge.fail_from = 30  # held-out before (4 verdicts) goes through, round 0's 48 verdicts stop part way
    down = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert down.returncode != 0
    said = " ".join((down.stdout + down.stderr).split())
    assert "unavailable after 2 attempt" in said and "judge overloaded" in said and "rerun the same command to resume" in said
    assert "Traceback" not in said
    assert not (tmp_path / "run" / "dpo" / "manifest.json").exists()
    paid_before_failure = 29 - 4

    judge.fail_from, judge.requests = None, 0
    back = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "dpo" / "manifest.json").read_text())["metrics"]
    assert metrics["judge_cache_hits"] >= paid_before_failure  # every verdict paid for in the first run is reused
    assert judge.requests == metrics["judge_calls"] and metrics["judge_calls"] > 0
    assert not (tmp_path / "run" / "dpo" / "checkpoints").exists()  # the cache is resumable state, not an output
