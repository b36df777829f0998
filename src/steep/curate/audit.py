"""What a user auditing a curate run needs beyond the funnel: every reason a document would be dropped for, what
the time gate did with undated documents, and the warnings worth reading before training on the corpus.

    also_dropped_by(blocks, dropped)       # [{block, reason, detail}] of the later blocks, for excluded.jsonl
    undated_metrics(cfg, time_stats)       # {policy, date_field, dated, undated, kept, dropped, ...}
    curate_warnings(cfg, metrics, stats)   # ["block 'dedup' dropped 231 of 320 documents (72%, ...", ...]

`steep.curate.stage` calls these and puts the results in excluded.jsonl, the metrics, the console and report.md.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from steep.curate.block import Block, BlockStats
from steep.curate.config import CurateConfig
from steep.curate.document import Drop, Dropped


def also_dropped_by(blocks: list[Block], dropped: Dropped) -> list[dict[str, str]]:
    """What the MAP blocks after the one that dropped `dropped` would ALSO drop it for, in chain order.

    The first drop decides the funnel (each document is counted once, under the block that removed it); the
    exclusion record lists every other reason, so an auditor sees that a restricted memo was also low quality, and
    a filter can be retuned knowing what else would catch the same documents. Each later block sees the document
    as the blocks between would have passed it on; `Block.audit` leaves their stats untouched. A reader drop (bad
    input) has no text to judge: nothing is listed."""
    names = [b.name for b in blocks]
    if dropped.block not in names:
        return []
    doc, also = dropped.doc, []
    for block in blocks[names.index(dropped.block) + 1 :]:
        out = block.audit(doc)
        if isinstance(out, Drop):
            also.append({"block": block.name, "reason": out.reason, "detail": out.detail})
        else:
            doc = out
    return also


def undated_metrics(cfg: CurateConfig, time_stats: BlockStats | None) -> dict[str, Any]:
    """{undated, kept, dropped, policy, date_field}: what the time gate did with documents without a usable date."""
    if cfg.time.cutoff is None or time_stats is None:
        return {}
    c = time_stats.counters
    return {
        "policy": cfg.time.undated,
        "date_field": cfg.time.date_field,
        "dated": c.get("dated", 0),
        "undated": c.get("undated", 0),
        "kept": c.get("undated_kept", 0),
        "dropped": c.get("undated_dropped", 0),
        "no_field": c.get("undated_no_field", 0),
        "unparseable": c.get("undated_unparseable", 0),
    }


def curate_warnings(cfg: CurateConfig, metrics: dict[str, Any], stats: list[BlockStats]) -> list[str]:
    """What a user should look at before training on this corpus (console and report.md)."""
    warnings = []
    docs_in = metrics["docs_in"]
    share = cfg.warn_drop_share
    if share is not None and docs_in:
        for s in stats:
            dropped = sum(s.dropped.values())
            if dropped > share * docs_in:
                top = ", ".join(f"{reason} {n}" for reason, n in s.dropped.most_common(3))
                warnings.append(
                    f"block {s.name!r} dropped {dropped} of {docs_in} documents ({dropped / docs_in:.0%}, more than "
                    f"warn_drop_share {share:.0%}): {top}; the corpus is down to {metrics['docs_out']} "
                    f"({metrics['docs_out'] / docs_in:.0%}). Check that block's settings before training on it"
                )
        dropped_total = docs_in - metrics["docs_out"]
        if not warnings and dropped_total > share * docs_in:  # no single block did it: say what all of them did
            top = ", ".join(f"{family} {n}" for family, n in Counter(metrics["dropped"]).most_common(4))
            warnings.append(
                f"the blocks together dropped {dropped_total} of {docs_in} documents ({dropped_total / docs_in:.0%}, "
                f"more than warn_drop_share {share:.0%}): {top}; the corpus is down to {metrics['docs_out']}"
            )
    undated = metrics.get("undated") or {}
    if undated and undated["dated"] == 0 and undated["undated"] and undated["no_field"] == undated["undated"]:
        warnings.append(
            f"time.date_field {cfg.time.date_field!r}: no document has this field, so all {undated['undated']} are "
            f"undated (undated: {undated['policy']}); check its spelling (a dotted path reads nested meta)"
        )
    return warnings
