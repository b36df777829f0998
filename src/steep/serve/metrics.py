"""Prometheus metrics in the text exposition format, written by hand (no client library needed).

    curl -s http://127.0.0.1:8000/metrics | grep steep_

Metrics: `steep_requests_total{endpoint,status}`, `steep_tokens_total{kind}` (prompt, completion),
`steep_request_latency_seconds` (histogram, by endpoint), `steep_batch_size` (histogram of generation batches),
`steep_guard_actions_total{rule,action}`, `steep_rate_limited_total{key}`. Labels never hold request text.
"""

from __future__ import annotations

import threading
from collections import defaultdict

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64)

_HELP = {
    "steep_requests_total": ("counter", "Requests answered, by endpoint and HTTP status."),
    "steep_tokens_total": ("counter", "Tokens processed, by kind (prompt, completion)."),
    "steep_guard_actions_total": ("counter", "Guard rule hits, by rule and action (redact, block, flag)."),
    "steep_rate_limited_total": ("counter", "Requests refused with 429, by key name."),
    "steep_request_latency_seconds": ("histogram", "Time from request to last byte, by endpoint."),
    "steep_batch_size": ("histogram", "Prompts per generation batch."),
}


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    escaped = (f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34)).replace(chr(10), " ")}"' for k, v in labels)
    return "{" + ",".join(escaped) + "}"


class _Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[index] += 1
        self.total += 1
        self.sum += value


class Metrics:
    """Counters and histograms behind one lock; `render()` is the /metrics body."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple, float]] = defaultdict(lambda: defaultdict(float))
        self._histograms: dict[str, dict[tuple, _Histogram]] = defaultdict(dict)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        with self._lock:
            self._counters[name][tuple(sorted(labels.items()))] += amount

    def observe(self, name: str, value: float, buckets: tuple[float, ...] = LATENCY_BUCKETS, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            histogram = self._histograms[name].get(key)
            if histogram is None:
                histogram = self._histograms[name][key] = _Histogram(buckets)
            histogram.observe(value)

    def counter(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._counters[name].get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, series in sorted(self._counters.items()):
                kind, text = _HELP.get(name, ("counter", name))
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
                lines += [f"{name}{_labels(labels)} {value:g}" for labels, value in sorted(series.items())]
            for name, series in sorted(self._histograms.items()):
                kind, text = _HELP.get(name, ("histogram", name))
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
                for labels, histogram in sorted(series.items()):
                    for bound, count in zip(histogram.buckets, histogram.counts):
                        lines.append(f"{name}_bucket{_labels(labels + (('le', f'{bound:g}'),))} {count}")
                    lines.append(f"{name}_bucket{_labels(labels + (('le', '+Inf'),))} {histogram.total}")
                    lines.append(f"{name}_sum{_labels(labels)} {histogram.sum:.6f}")
                    lines.append(f"{name}_count{_labels(labels)} {histogram.total}")
        return "\n".join(lines) + "\n"
