"""Serving under a bounded load on loopback: throughput and p50/p99 latency, one-at-a-time vs batched, guardrails
on vs off, side by side in one run, against a tiny model built offline (no download).

    OMP_NUM_THREADS=1 PYTHONPATH=src python bench/serve.py                       # 32 clients x 30 s per setting
    OMP_NUM_THREADS=1 PYTHONPATH=src python bench/serve.py --clients 32 --duration 8 --results bench/serve_results.md
    python bench/serve.py --model /models/my-hf-dir --max-tokens 64                # your own model

Each setting starts the real app (`steep.serve.create_app` over `HFEngine`) under uvicorn on a free loopback port
and runs `--clients` concurrent clients, each sending chat requests back to back for `--duration` seconds (the
load is bounded: at most `--clients` requests in flight); the four settings take turns in `--rounds` slices. Half the prompts carry a card number and an email, so
the input and output rails have work to do. Greedy sampling, so every request has the same sampling settings
and can join a batch. Any non-200 reply is an error; the script exits 1 if there was one. Client and server
share one process (and the GIL): on a small machine the numbers are a floor for the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

QUESTIONS = [
    "How long does claim {i} take to settle?",
    "My card is 4111 1111 1111 1111 and my mail is jane.doe@corp.example; what is the deductible on policy {i}?",
]


def build_model(out_dir: Path) -> Path:
    """The tests' tiny Llama (2 layers, width 32; tests/tiny.py's shape) with its BPE tokenizer and chat template."""
    from steep.model.config import TinyArchitectureConfig
    from steep.model.template import ensure_chat_template
    from steep.model.tiny import build_tiny_model, build_tokenizer

    texts = [f"Policy {i} covers water damage up to {i * 100} euros after a deductible of fifty." for i in range(60)]
    texts += [f"How long does claim {i} take? Claim {i} settles in {i % 9 + 2} working days." for i in range(60)]
    arch = TinyArchitectureConfig(vocab_size=320, hidden_size=32, intermediate_size=64, num_layers=2, num_heads=2,
                                  max_position_embeddings=256)  # fmt: skip
    tokenizer = build_tokenizer(texts, arch.vocab_size)
    model = build_tiny_model(arch, tokenizer, seed=0)
    ensure_chat_template(tokenizer, model)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


async def client_loop(http, url: str, stop_at: float, index: int, max_tokens: int, latencies: list, errors: list, tokens: list) -> None:
    i = index
    while time.perf_counter() < stop_at:
        body = {"model": "bench", "max_tokens": max_tokens, "temperature": 0,
                "messages": [{"role": "user", "content": QUESTIONS[i % 2].format(i=i % 50)}]}  # fmt: skip
        started = time.perf_counter()
        try:
            response = await http.post(url, json=body)
            if response.status_code != 200:
                errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
            else:
                latencies.append(time.perf_counter() - started)
                tokens.append(response.json()["usage"]["completion_tokens"])
        except Exception as exc:  # noqa: BLE001 - a dropped connection is an error to report, not a crash
            errors.append(repr(exc))
        i += 1


async def load(base_url: str, clients: int, duration: float, max_tokens: int) -> dict:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    tokens: list[int] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=300) as http:
        started = time.perf_counter()
        stop_at = started + duration
        await asyncio.gather(*(client_loop(http, f"{base_url}/v1/chat/completions", stop_at, c, max_tokens, latencies,
                                           errors, tokens) for c in range(clients)))  # fmt: skip
        wall = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "tokens": tokens, "wall_s": wall}


def summarize(parts: list[dict]) -> dict:
    """One setting's rounds together: requests and tokens over the summed wall time, percentiles over all requests."""
    latencies = sorted(x for part in parts for x in part["latencies"])
    errors = [e for part in parts for e in part["errors"]]
    wall = sum(part["wall_s"] for part in parts)
    tokens = sum(t for part in parts for t in part["tokens"])

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else float("nan")

    batches = sum(part["batches"] for part in parts)
    return {"requests": len(latencies), "errors": len(errors), "first_error": errors[0] if errors else "",
            "wall_s": wall, "req_per_s": len(latencies) / wall, "tok_per_s": tokens / wall,
            "p50_ms": 1000 * pct(0.50), "p99_ms": 1000 * pct(0.99),
            "mean_ms": 1000 * statistics.fmean(latencies) if latencies else float("nan"),
            "mean_batch": sum(part["batched_prompts"] for part in parts) / batches if batches else float("nan"),
            "guard_actions": sum(part["guard_actions"] for part in parts)}  # fmt: skip


def run_setting(engine, batched: bool, guarded: bool, args, duration: float) -> dict:
    from steep.serve import ServeConfig, create_app
    from steep.serve.auth import KeyStore
    from steep.serve.server import ServerThread

    off = {"input": {"pii": "off", "injection": "off"}, "output": {"pii": "off", "secrets": "off"}}
    config = ServeConfig(model_name="bench", rate_limit=None, max_tokens_limit=args.max_tokens,
                         batching={"max_batch_size": args.batch_size if batched else 1, "max_wait_ms": args.max_wait_ms},
                         guard={} if guarded else off)  # fmt: skip
    app = create_app(engine, config, keys=KeyStore([]))
    with ServerThread(app) as base_url:
        result = asyncio.run(load(base_url, args.clients, duration, args.max_tokens))
        metrics = app.state.metrics.render()
    batches = [line for line in metrics.splitlines() if line.startswith(("steep_batch_size_count", "steep_batch_size_sum"))]
    count = float(batches[1].split()[-1]) if len(batches) == 2 else 0.0
    total = float(batches[0].split()[-1]) if len(batches) == 2 else 0.0
    result["batches"], result["batched_prompts"] = count, total
    result["guard_actions"] = int(sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("steep_guard_actions_total{")))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load per setting")
    parser.add_argument("--rounds", type=int, default=3, help="the settings take turns this many times")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8, help="max_batch_size when batched")
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--model", type=Path, default=None, help="a Hugging Face model directory (default: tiny, built here)")
    parser.add_argument("--results", type=Path, default=None, help="also write the table (markdown) here")
    args = parser.parse_args()

    import torch

    from steep.model.load import load_model, load_tokenizer
    from steep.serve.hf_engine import HFEngine

    model_dir = args.model or build_model(Path(tempfile.mkdtemp(prefix="steep-bench-serve-")))
    engine = HFEngine(load_model(str(model_dir), "cpu", "float32"), load_tokenizer(str(model_dir)), "cpu", "bench",
                      max_batch_size=args.batch_size)  # fmt: skip
    # The settings take turns, `--rounds` slices each: on a machine shared with other work, a slow minute then
    # lands on every setting instead of on whichever ran during it.
    settings = [(batched, guarded) for batched in (False, True) for guarded in (False, True)]
    parts: dict[tuple[bool, bool], list[dict]] = {setting: [] for setting in settings}
    for round_index in range(args.rounds):
        for batched, guarded in settings:
            part = run_setting(engine, batched, guarded, args, args.duration / args.rounds)
            parts[(batched, guarded)].append(part)
            print(f"round {round_index + 1}: {'batched' if batched else 'one at a time':>14} guard {'on' if guarded else 'off':>3}: "
                  f"{len(part['latencies'])} requests, {len(part['errors'])} errors", flush=True)  # fmt: skip
    rows = [("batched" if b else "one at a time", "on" if g else "off", summarize(parts[(b, g)])) for b, g in settings]

    header = ("| serving | guardrails | requests | errors | req/s | completion tok/s | p50 ms | p99 ms | mean batch | guard actions |\n"
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")  # fmt: skip
    lines = [f"| {mode} | {guard} | {r['requests']} | {r['errors']} | {r['req_per_s']:.1f} | {r['tok_per_s']:.0f} | "
             f"{r['p50_ms']:.0f} | {r['p99_ms']:.0f} | {r['mean_batch']:.2f} | {r['guard_actions']} |" for mode, guard, r in rows]  # fmt: skip
    machine = (f"{platform.platform()}, {os.cpu_count()} CPU cores visible, Python {platform.python_version()}, "
               f"torch {torch.__version__} (threads {torch.get_num_threads()}), OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")  # fmt: skip
    command = "python bench/serve.py " + " ".join(sys.argv[1:])
    report = "\n".join([header, *lines, "", f"machine: {machine}", f"command: `{command}`",
                        (f"model: {'tiny (built offline, 2 layers, width 32)' if args.model is None else args.model}; "
                         f"{args.clients} clients x {args.duration:g} s per setting (in {args.rounds} interleaved rounds), "
                         f"max_tokens {args.max_tokens}, max_batch_size {args.batch_size}, max_wait_ms {args.max_wait_ms:g}")])  # fmt: skip
    print("\n" + report)
    if args.results:
        args.results.write_text(report + "\n")
    failed = [r for _, _, r in rows if r["errors"]]
    for r in failed:
        print(f"error: {r['errors']} errors, first: {r['first_error']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
