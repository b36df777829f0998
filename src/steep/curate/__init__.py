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
from steep.curate.stage import OUTPUT_FILES, run_curate

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
