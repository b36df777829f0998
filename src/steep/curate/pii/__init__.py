"""PII: detection (regex + checksum recognizers, or Presidio's pattern recognizers), redaction with typed
placeholders or consistent pseudonyms, and a scorer against labeled data. Never drops a document.

    from steep.curate.pii import redact_pii
    redact_pii("Mail jane@corp.com or call +44 20 7946 0958 about ORD-2024-118834.")
    # ('Mail <EMAIL> or call <PHONE> about ORD-2024-118834.', Counter({'email': 1, 'phone': 1}))

Modules, one job each:
- `detect`     the steep recognizers, one per type, and `find_pii` (overlaps resolved by type priority)
- `checksums`  Luhn, card schemes (IIN ranges), IBAN mod-97, SSN rules
- `secrets`    API keys, private keys, password assignments, high-entropy tokens, URLs with credentials
- `pseudonym`  HMAC-keyed, format-preserving pseudonyms from reserved ranges
- `redact`     placeholder / pseudonym replacement and the `PiiRedactor` curate block
- `keywords`   fast keyword-then-value search (lowercased copy, offsets kept)
- `custom`     `pii.custom`: the operator's own types (regex, context words, validator, placeholder)
- `presidio_engine`  `pii.engine: presidio`: Presidio's pattern recognizers UNITED with ours, offline
- `ner`        `pii.ner_model`: person names from a LOCAL token-classification model (never downloaded)
- `score`      recall / precision per type against labeled rows (`python -m steep.curate.pii.score`)

Measured on the demo lake: recall and precision 1.00 for every type at scale 1 and 5, ~2 M characters/s on one
core; see `score`. On the independent development set (tests/data/pii_devset, built by
bench/curate/pii_devset.py): see bench/curate/RESULTS.md.
"""

from steep.curate.pii.checksums import iban_valid, luhn_valid
from steep.curate.pii.detect import PiiSpan, find_pii
from steep.curate.pii.redact import PLACEHOLDERS, PiiRedactor, SteepEngine, build_engine, redact_pii

__all__ = [
    "PLACEHOLDERS", "PiiRedactor", "PiiSpan", "SteepEngine", "build_engine", "find_pii", "iban_valid", "luhn_valid",
    "redact_pii",
]  # fmt: skip
