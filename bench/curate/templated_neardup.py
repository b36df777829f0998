"""Near-dup on templated policy schedules: the same text, different customers (email, phone, IBAN) and amounts.

    PYTHONPATH=src python bench/curate/templated_neardup.py 60     # drops with dedup.near_text redacted vs original
"""
import json, random, sys, tempfile
from pathlib import Path
from steep.curate import CurateConfig, run_curate
from steep.curate.config import DedupConfig

def iban_de(rng):
    bban = f"{rng.randint(10**7, 10**8 - 1)}{rng.randint(10**9, 10**10 - 1)}"
    check = 98 - int(bban + "131400") % 97  # D=13 E=14, "00"
    s = f"DE{check:02d}{bban}"
    return " ".join(s[i:i+4] for i in range(0, len(s), 4))

def schedules(n, seed=0):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append({"id": f"policy-{i}", "text": (
            "Home contents policy schedule. This schedule forms part of your policy and should be read with the "
            "policy wording. Cover includes accidental damage to contents, legal expenses and personal possessions "
            f"away from the home. Sum insured {rng.randint(20, 90) * 1000} pounds; annual premium "
            f"{rng.randint(150, 900)} pounds. The premium is collected by direct debit from IBAN {iban_de(rng)}. "
            f"Questions about this schedule: write to c{i}.{rng.randint(100, 999)}@example-mail.com or call "
            f"+44 20 7946 {rng.randint(1000, 9999)}."
        )})
    return rows

def main(out):
    rows = schedules(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
    path = Path(out) / "schedules.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    for near_text in ("redacted", "original"):
        m = run_curate(CurateConfig(inputs=[str(path)], dedup=DedupConfig(near_text=near_text)), Path(out) / near_text)
        print(f"near_text={near_text}: {m['docs_in']} in, {m['docs_out']} out, dropped {m['dropped']}, pii {m['pii_redacted']}")

main(tempfile.mkdtemp())
