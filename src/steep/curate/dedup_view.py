"""What near-dup compares for a redacted document: its text before redaction, with each PII value an opaque token.

    block = DedupViewPii(PiiRedactor(cfg.pii))     # in place of the pii block
    doc = block.apply(Document("1", "Dear Ann Lee, account 12345678 ..."))
    doc.text        # 'Dear <NAME>, account <ACCOUNT> ...'                  (what is written and trained on)
    doc.dedup_view  # 'Dear piic4e1a9f03b2d pii07be44a1c2f9, account piid82f0c5e17a4 ...'  (near-dup's input)

Why: once names and numbers become placeholders, templated documents (letters to different customers, policy
schedules) look alike, and near-dup removed most of a second company's lake as `duplicate:near` (231 of 320,
53 of 60 clean policy documents). Compared as written, two letters to different customers differ in every name,
number and date they carry. Each word of a value becomes a keyed hash token (same word, same token), so the view holds no
raw PII: shards on disk never carry it either. Exact dedup still compares the final text: two rows the model
would see as identical train once.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from steep.curate.block import Block
from steep.curate.document import Document, Drop

# Not a secret: the tokens only need to be stable within a run and unreadable as the value they stand for; set
# `pii.pseudonym_key` to make them unguessable too.
_DEFAULT_KEY = b"steep-dedup-view"


class DedupViewPii(Block):
    """The pii block, plus `dedup_view` on each document it changed. Same name and stats as the block it wraps."""

    name = "pii"

    def __init__(self, inner: Block) -> None:
        super().__init__(inner.on_drop)
        self.inner = inner
        self.stats = inner.stats
        key = getattr(getattr(inner, "cfg", None), "pseudonym_key", None)
        self._key = hashlib.blake2b(key.encode("utf-8"), digest_size=32).digest() if key else _DEFAULT_KEY

    def apply(self, doc: Document) -> Document | Drop:
        out = self.inner.apply(doc)
        if isinstance(out, Document) and out.text != doc.text:
            engine = self.inner.engine  # type: ignore[attr-defined]
            out = replace(out, dedup_view=engine.redact(doc.text, engine.find(doc.text), self._token))
        return out

    def audit(self, doc: Document) -> Document | Drop:
        return doc  # redaction never drops

    def _token(self, span) -> str:  # type: ignore[no-untyped-def]
        # One token per word of the value, so the view differs from another document's exactly where the original
        # texts differ (an IBAN written in six groups counts as six words, as it did before redaction).
        return " ".join(self._word_token(span.type, word) for word in span.text.casefold().split())

    def _word_token(self, kind: str, word: str) -> str:
        digest = hashlib.blake2b(f"{kind}\0{word}".encode("utf-8", "surrogatepass"), key=self._key, digest_size=6)
        return f"pii{digest.hexdigest()}"
