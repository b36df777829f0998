"""The guard on a streamed reply: hold back a sliding window of trailing characters, send only what is safe.

A card number can arrive as "4111 11" in one chunk and "11 1111 1111" in the next; each chunk alone is harmless.
So the stream guard keeps the whole reply so far, re-scans it after every chunk with the same rules as a
non-streamed reply (`Guard.scan_output`), and releases text only up to `holdback` characters before the end (and
never into the middle of a hit). Redactions are applied to what is released; a block rule stops the stream before
the blocked text is sent (what was sent before it stays sent: it was clean), and the reply's usage is reported
as zeros (generation stopped early; the engine's count never came). A value longer than the holdback can only be
caught if its start is recognizable on its own: growing tokens (API keys, JWTs) are, since the detector matches
their prefix and the cut never enters a hit; a PEM private key is held from its BEGIN line to its END line.

    sg = StreamGuard(guard)
    for piece in engine_pieces:
        send(sg.feed(piece))
    send(sg.finish()); sg.blocked, sg.counts

Cost: one scan of the reply so far per chunk, O(n^2 / chunk) characters for an n-character reply; at ~2 M
characters/s for the detectors a 2,000-character reply in 4-character chunks costs ~0.5 s of scanning in all, so
the server feeds it every chunk but the scan only runs once `min_scan_chars` new characters have arrived.
"""

from __future__ import annotations

import re

from steep.serve.guard import Finding, Guard, apply_findings, count_findings

# A PEM private key is ~1,700 characters, far beyond any holdback, and the detector matches it only whole (BEGIN to
# END). So once a BEGIN line has appeared without its END, everything from it on is held until END arrives.
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")


class StreamGuard:
    def __init__(self, guard: Guard, holdback: int | None = None, min_scan_chars: int = 16) -> None:
        self.guard = guard
        self.holdback = guard.config.stream_holdback_chars if holdback is None else holdback
        self.min_scan_chars = min_scan_chars
        self.raw = ""  # the reply so far, as the model wrote it
        self.released = 0  # raw characters [0, released) were decided and sent (redacted where needed)
        self.scanned = 0  # len(raw) at the last scan
        self.blocked = False
        self.counts: dict[tuple[str, str], int] = {}

    def feed(self, piece: str) -> str:
        """Take the next piece of the model's text; return what may be sent now (possibly "")."""
        if self.blocked:
            return ""
        self.raw += piece
        if len(self.raw) - self.scanned < self.min_scan_chars:
            return ""
        return self._release(final=False)

    def finish(self) -> str:
        """The rest of the reply once the model is done; sets `counts` from a scan of the whole reply."""
        if self.blocked:
            return ""
        tail = self._release(final=True)
        self.counts = count_findings(self.guard.scan_output(self.raw)) if not self.blocked else self.counts
        return tail

    def _release(self, final: bool) -> str:
        self.scanned = len(self.raw)
        findings = self.guard.scan_output(self.raw)
        if any(f.action == "block" for f in findings):
            self.blocked = True
            self.counts = count_findings(findings)
            return ""
        cut = len(self.raw) if final else max(self.released, len(self.raw) - self.holdback)
        if not final and self.guard.config.output.secrets != "off":
            opened = [m.start() for m in _PEM_BEGIN.finditer(self.raw) if not _PEM_END.search(self.raw, m.end())]
            if opened:
                cut = min(cut, max(opened[0], self.released))
        # Never cut inside a hit: move the cut back to its start (it is released whole, once complete).
        for finding in findings:
            if finding.action == "redact" and finding.start < cut < finding.end:
                cut = min(cut, max(finding.start, self.released))
        if cut <= self.released:
            return ""
        window = [_clip(f, self.released, cut) for f in findings if f.action == "redact" and f.end > self.released and f.start < cut]
        text = apply_findings(self.raw[self.released : cut], [f for f in window if f is not None])
        self.released = cut
        return text


def _clip(finding: Finding, start: int, end: int) -> Finding | None:
    """A finding as offsets into the window [start, end). A hit that began in text already sent (possible only when
    it is longer than the holdback) has its unsent rest dropped, without a second placeholder."""
    begin, stop = max(finding.start, start), min(finding.end, end)
    if begin >= stop:
        return None
    placeholder = finding.placeholder if finding.start >= start else ""
    return Finding(finding.rule, finding.action, begin - start, stop - start, placeholder)
