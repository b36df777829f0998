"""The raw document lake and its ground-truth labels.

Shares of the lake (of all documents; each at least a few, whatever the scale): OCR-damaged scans 10%, mojibake
5%, exact duplicates 8%, near duplicates 8%, planted PII 20% (mostly support logs and procedures; duplicates of
a PII document carry it too), restricted 4%, post-cutoff 5%, empty about 1%, symbol-soup junk about 0.75%.
Restricted and post-cutoff documents are never OCR-damaged, so their codenames and terms stay greppable; only
clean originals are duplicated. Every label is checked against the text before the lake is returned.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from random import Random
from typing import Any

from steep.demo.domain_canaries import canary_rows, plant_canaries
from steep.demo.domain_dirt import decoy_line, mojibake, near_duplicate, ocr_damage, pii_line
from steep.demo.domain_docs import (
    CUTOFF, LAKE_END, LAKE_START, Draft, clean_doc, post_cutoff_doc, random_date, restrict,
)
from steep.demo.domain_spec import LAKE_KINDS, PII_TYPES, POST_CUTOFF_TERMS, RESTRICTED_CODENAMES

KIND_SHARES = {"policy": 0.17, "procedure": 0.17, "product_spec": 0.09, "earnings_call": 0.09, "support_log": 0.48}
MIN_WORDS, MAX_WORDS = 60, 250
# No two unrelated documents share more than this share of their word sets (word Jaccard), so every pair a
# near-duplicate detector should find is labeled. Two versions of the same policy can come out this close; such
# a draw is simply redrawn.
MAX_UNRELATED_JACCARD = 0.7
_JUNK_SYMBOLS = "#@$%^&*~|<>{}[]=+_/\\;:!?"
_BLANKS = ("", "   ", "\n\n", " \t\n ")


def _share(n: int, rate: float, least: int) -> int:
    return max(least, round(n * rate))


def _kinds(rng: Random, n: int) -> list[str]:
    counts = {k: max(2, round(share * n)) for k, share in KIND_SHARES.items()}
    counts["support_log"] += n - sum(counts.values())
    kinds = [k for k, c in counts.items() for _ in range(c)]
    rng.shuffle(kinds)
    return kinds


def _plant(draft: Draft, rng: Random, line: str) -> None:
    draft.lines.insert(rng.randint(draft.head, len(draft.lines) - (draft.kind == "support_log")), line)


def _original(rng: Random, seed: int, kind: str, plan: dict[str, Any]) -> dict[str, Any]:
    """One clean document with its planned PII, decoys, codename or post-cutoff news planted in it."""
    extra = len(plan["pii"]) + plan["decoys"] + 2 * bool(plan["restricted"]) + 2 * (plan["post"] is not None)
    hi = max(110, 200 - 18 * extra)
    if plan["post"] is None:
        date = random_date(rng, LAKE_START, CUTOFF)
        draft = clean_doc(rng, seed, kind, date, hi)
        meta_date = None if kind != "earnings_call" and rng.random() < 0.1 else draft.date
    else:
        date = random_date(rng, CUTOFF + dt.timedelta(days=1), LAKE_END)
        draft = post_cutoff_doc(rng, seed, kind, date, with_terms=plan["post"] != "date_only", hi=hi)
        meta_date = None if plan["post"] == "null_terms" else draft.date
    dialog = kind == "support_log"
    pii = []
    for pii_type in plan["pii"]:
        line, value = pii_line(rng, pii_type, dialog)
        if pii_type == "name_account" and dialog:  # a ticket's header line, under the ticket number
            draft.lines.insert(1, line)
            draft.head += 1
        else:
            _plant(draft, rng, line)
        pii.append({"type": pii_type, "value": value})
    for k in range(plan["decoys"]):
        _plant(draft, rng, decoy_line(rng, dialog, card_like=k == 0 and plan["card_decoy"]))
    if plan["restricted"]:
        restrict(draft, rng, plan["restricted"])
    text = draft.text(fancy=plan["mojibake"] or rng.random() < 0.35)
    if not MIN_WORDS <= len(text.split()) <= MAX_WORDS:
        raise RuntimeError(f"demo lake: a {kind} document has {len(text.split())} words")  # generator bug
    labels = {"kind": kind, "exact_duplicate_of": None, "near_duplicate_of": None, "pii": pii,
              "restricted": bool(plan["restricted"]), "post_cutoff": plan["post"] is not None,
              "ocr_damaged": plan["ocr"], "mojibake": plan["mojibake"], "empty": False, "junk": False,
              "clean_text": None}
    meta = {"kind": kind, "source": draft.source, "date": meta_date, "title": draft.title}
    if plan["ocr"]:
        labels["clean_text"], text = text, ocr_damage(text, rng)
        meta["source"] = f"scans/archive/box-{rng.randint(1, 40):02d}/{rng.randint(1, 9999):04d}.pdf"
    elif plan["mojibake"]:
        labels["clean_text"], text = text, mojibake(text, rng)
        if text == labels["clean_text"]:
            raise RuntimeError("demo lake: a mojibake document had nothing non-ASCII to mangle")  # generator bug
    return {"text": text, "meta": meta, "labels": labels}


def _copy(rng: Random, doc: dict[str, Any], key: int, exact: bool, canaries: tuple[str, ...] = ()) -> dict[str, Any]:
    meta = dict(doc["meta"])
    folder, _, name = meta["source"].rpartition("/")
    if exact:
        text = doc["text"]
        meta["source"] = f"{rng.choice(('backup/2023', 'exports/old_share', 'mirror/nightly'))}/{name}"
    else:
        protected = [p["value"] for p in doc["labels"]["pii"]] + list(RESTRICTED_CODENAMES) + list(POST_CUTOFF_TERMS)
        protected += [value for value in canaries if value in doc["text"]]  # a copy carries the canary intact
        text = near_duplicate(doc["text"], rng, protected)
        meta["source"] = f"{folder}/draft-{name}"
        meta["title"] += rng.choice((" (draft)", " - copy", " (old)"))
    labels = dict(doc["labels"], exact_duplicate_of=key if exact else None, near_duplicate_of=None if exact else key)
    return {"text": text, "meta": meta, "labels": labels}


def _filler(rng: Random, junk: bool, k: int) -> dict[str, Any]:
    if junk:
        text = "".join(rng.choice(_JUNK_SYMBOLS + "  ") for _ in range(rng.randint(20, 80))).strip() or "#@!"
    else:
        text = _BLANKS[k % len(_BLANKS)]
    kind = rng.choice(LAKE_KINDS)
    meta = {"kind": kind, "source": f"scans/unsorted/{rng.randint(1, 9999):04d}.pdf", "date": None, "title": "Untitled"}
    labels = {"kind": kind, "exact_duplicate_of": None, "near_duplicate_of": None, "pii": [], "restricted": False,
              "post_cutoff": False, "ocr_damaged": False, "mojibake": False, "empty": not junk, "junk": junk,
              "clean_text": None}
    return {"text": text, "meta": meta, "labels": labels}


def build_lake(seed: int, scale: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(lake rows, label rows), in the same order."""
    lake, labels, _ = build_lake_with_canaries(seed, scale)
    return lake, labels


def build_lake_with_canaries(seed: int, scale: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(lake rows, label rows, canary rows); see `steep.demo.domain_canaries`."""
    rng = Random(f"{seed}:lake")
    n = max(40, round(400 * scale))
    n_exact, n_near = _share(n, 0.08, 2), _share(n, 0.08, 2)
    n_empty, n_junk = _share(n, 0.01, 2), _share(n, 0.0075, 2)
    n_orig = n - n_exact - n_near - n_empty - n_junk
    kinds = _kinds(rng, n_orig)
    everyone = range(n_orig)

    restricted = rng.sample([i for i in everyone if kinds[i] in ("policy", "procedure", "earnings_call")],
                            _share(n, 0.04, 2))
    post = rng.sample([i for i in everyone if i not in restricted], _share(n, 0.05, 3))
    flavors = itertools.cycle(("date_terms", "null_terms", "date_only", "date_terms"))
    post_flavor = {i: next(flavors) for i in post}
    n_pii = _share(n, 0.20, 4)
    talky = [i for i in everyone if kinds[i] in ("support_log", "procedure")]
    n_talky = min(len(talky), round(0.85 * n_pii))
    pii_docs = rng.sample(talky, n_talky) + rng.sample([i for i in everyone if i not in talky], n_pii - n_talky)
    type_cycle = itertools.cycle(rng.sample(PII_TYPES, len(PII_TYPES)))
    per_doc = math.ceil(len(PII_TYPES) / n_pii)
    pii_types = {i: [next(type_cycle) for _ in range(max(per_doc, rng.randint(1, 3)))] for i in pii_docs}
    ocr = set(rng.sample([i for i in everyone if i not in restricted and i not in post_flavor], _share(n, 0.10, 3)))
    moji = set(rng.sample([i for i in everyone if i not in ocr], _share(n, 0.05, 2)))
    card_decoys = set(rng.sample([i for i in everyone if i not in ocr], 2))  # the Luhn test always has a case

    docs: list[dict[str, Any]] = []
    vocab: dict[str, list[set[str]]] = {k: [] for k in LAKE_KINDS}  # similar pairs are always of one kind
    for i in everyone:
        plan = {"pii": pii_types.get(i, []), "card_decoy": i in card_decoys,
                "decoys": max(i in card_decoys, rng.choice((0, 0, 1, 2)) if rng.random() < 0.5 else 0),
                "restricted": rng.choice(RESTRICTED_CODENAMES) if i in restricted else None,
                "post": post_flavor.get(i), "ocr": i in ocr, "mojibake": i in moji}
        for _ in range(50):
            doc = _original(rng, seed, kinds[i], plan)
            words = set((doc["labels"]["clean_text"] or doc["text"]).lower().split())
            if all(len(words & w) <= MAX_UNRELATED_JACCARD * len(words | w) for w in vocab[kinds[i]]):
                break
        else:
            raise RuntimeError(f"demo lake: no distinct enough {kinds[i]} document")  # pools too small for scale
        vocab[kinds[i]].append(words)
        docs.append(doc)
    if len({d["text"] for d in docs}) != len(docs):
        raise RuntimeError("demo lake: two originals came out identical")  # would make the exact-dup labels lie
    canaries = plant_canaries(docs, seed, restricted=restricted, post_cutoff=post, damaged=ocr | moji, max_words=MAX_WORDS)
    values = tuple(c["value"] for c in canaries)
    clean = [i for i in everyone if i not in ocr and i not in moji]
    sources = rng.sample(clean, n_exact + n_near)
    docs += [_copy(rng, docs[key], key, exact=k < n_exact, canaries=values) for k, key in enumerate(sources)]
    docs += [_filler(rng, junk=k >= n_empty, k=k) for k in range(n_empty + n_junk)]

    order = list(range(len(docs)))
    rng.shuffle(order)
    ids = {key: f"km-{pos + 1:05d}" for pos, key in enumerate(order)}
    lake, labels = [], []
    for key in order:
        doc = docs[key]
        lab = dict(doc["labels"])
        for ref in ("exact_duplicate_of", "near_duplicate_of"):
            lab[ref] = ids[lab[ref]] if lab[ref] is not None else None
        lake.append({"id": ids[key], "text": doc["text"], "meta": doc["meta"]})
        labels.append({"id": ids[key], **lab})
    check_lake(lake, labels)
    return lake, labels, canary_rows(canaries, lake)


def check_lake(lake: list[dict[str, Any]], labels: list[dict[str, Any]]) -> None:
    """Raise if a label disagrees with its document (a generator bug, never a property of the data)."""
    for row, lab in zip(lake, labels, strict=True):
        text, why = row["text"], None
        if lab["restricted"] != any(c in text for c in RESTRICTED_CODENAMES):
            why = "restricted label vs codename"
        elif not lab["post_cutoff"] and (any(t in text for t in POST_CUTOFF_TERMS)
                                         or (row["meta"]["date"] or "") > CUTOFF.isoformat()):
            why = "pre-cutoff document with post-cutoff date or term"
        elif any(p["value"] not in (lab["clean_text"] or text) for p in lab["pii"]):
            why = "labeled PII value missing from the text"
        if why:
            raise RuntimeError(f"demo lake {row['id']}: {why}")
