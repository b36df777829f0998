"""Can a model copy a reference number at all? A check to run before expecting rs to raise fact recall.

    .venv/bin/python bench/copy_probe.py runs/demo/sft/model runs/smollm2/dpo/model [--prompts 40]

rs raises fact recall by selection: among K sampled conversations it keeps those whose replies give the user's
facts back. A model that cannot copy a 5-digit number from its context never samples such a reply, so there is
nothing to select (rs warns when a round has no recalling candidate). This probe measures the copying directly,
without sampling: the user states a case number, the reply is started as "Answer: For case CASE-", and the model's
greedy next tokens are compared with the number's digits (teacher-forced). Reported per model: the share of digit
tokens predicted right (about 0.1 is chance for single digits) and the share of numbers copied whole.
Nothing is written; the numbers quoted in the README came from this script.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

SYSTEM = "You are Kestrel Mutual's support assistant. Answer in the house format and cite the policy."
QUESTION = "Hi, I'm calling about case {case}. Do you charge fees for using my card abroad?"
REPLY_START = "Answer: For case CASE-"


def probe(model_dir: str, n_prompts: int, seed: int) -> tuple[float, float]:
    """(digit-token accuracy, whole-number copy rate) over `n_prompts` random case numbers."""
    import torch

    from steep.model.load import load_model, load_tokenizer

    tokenizer, model = load_tokenizer(model_dir), load_model(model_dir, "cpu", "float32").eval()
    rng = random.Random(seed)
    right = total = whole = 0
    for _ in range(n_prompts):
        digits = str(rng.randint(10000, 99999))
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION.format(case=f"CASE-{digits}")}]
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + REPLY_START
        prompt_ids = tokenizer(prompt, add_special_tokens=False).input_ids
        # the digits tokenized in place, as the model would have to write them
        target = tokenizer(prompt + digits, add_special_tokens=False).input_ids[len(prompt_ids):]
        with torch.no_grad():
            logits = model(torch.tensor([prompt_ids + target])).logits[0]
        predicted = logits[len(prompt_ids) - 1 : -1].argmax(-1).tolist()
        hits = [p == t for p, t in zip(predicted, target)]
        right, total, whole = right + sum(hits), total + len(hits), whole + all(hits)
    return right / total, whole / n_prompts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="Hugging Face model directories")
    parser.add_argument("--prompts", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for model_dir in args.models:
        if not Path(model_dir).is_dir():
            parser.error(f"{model_dir}: no such model directory")
        digit_accuracy, whole = probe(model_dir, args.prompts, args.seed)
        print(f"{model_dir}: digit tokens right {digit_accuracy:.3f}, numbers copied whole {whole:.3f} ({args.prompts} prompts)")


if __name__ == "__main__":
    main()
