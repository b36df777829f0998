"""The curate stage: read -> clean -> quality -> gates -> pii -> dedup, every drop with a reason.

    from steep.curate import CurateConfig, run_curate
    run_curate(CurateConfig(inputs=["docs.jsonl"]), Path("runs/x/curate"))

Blocks are importable on their own (`steep.curate.clean.clean_text`, `steep.curate.pii.redact_pii`, ...).
"""

from steep.curate.config import (
    CleanConfig,
    ComplianceConfig,
    CurateConfig,
    DedupConfig,
    PiiConfig,
    QualityConfig,
    TimeGateConfig,
)
from steep.curate.document import Document, Drop, Dropped


def __getattr__(name: str):
    # The chain (numpy, ftfy, the blocks) loads only when used: validating a pipeline YAML imports this package
    # for its config models and must stay fast.
    if name in ("OUTPUT_FILES", "run_curate"):
        from steep.curate import stage

        return getattr(stage, name)
    raise AttributeError(f"module 'steep.curate' has no attribute {name!r}")


__all__ = [
    "OUTPUT_FILES",
    "CleanConfig",
    "ComplianceConfig",
    "CurateConfig",
    "DedupConfig",
    "Document",
    "Drop",
    "Dropped",
    "PiiConfig",
    "QualityConfig",
    "TimeGateConfig",
    "run_curate",
]
