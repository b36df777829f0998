"""Charts as inline SVG strings, hand-written: line charts, horizontal bars, a funnel and histograms.

    from steep.report.svg import line_chart
    line_chart({"train": [(1, 3.5), (2, 3.1)]}, title="cpt loss", x_label="step", y_label="loss")  # '<svg ...'

No plotting library: the report must open offline from one file, and a few hundred lines of SVG are easier to
keep self-contained (and to test: every data point is an element with a <title> tooltip) than an embedded PNG.
Every function returns "" when it has nothing to draw, so callers can skip the section without a special case.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

# Tableau 10: distinguishable, colour-blind tolerable, calm on white
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#bab0ac")
# one colour per model stage everywhere in the report, so "dpo" is the same green in every chart
STAGE_COLORS = {"base": "#8c8c8c", "cpt": PALETTE[0], "sft": PALETTE[1], "dpo": PALETTE[2], "rs": PALETTE[4]}
KEPT_COLOR, DROPPED_COLOR = PALETTE[0], "#e8a2a2"
LEGEND_ROW2_Y = 25  # a second legend row sits between the title (y 18) and the plot area (top 40)
FONT = "font-family='system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif'"


def color_for(name: str, index: int) -> str:
    return STAGE_COLORS.get(name, PALETTE[index % len(PALETTE)])


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def nice_ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten (0.2, 0.25 look odd);
    `integer`: no step under 1 (training steps, turns)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        lo, hi = lo - (abs(lo) * 0.1 or 1.0), hi + (abs(hi) * 0.1 or 1.0)
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integer:
        step = max(step, 1.0)
    start = math.floor(lo / step + 1e-9) * step
    ticks = []
    value = start
    while value < hi + step * 0.999:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _tick_label(value: float, ticks: Sequence[float]) -> str:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    if decimals == 0 and abs(value) >= 10000:
        return f"{value / 1000:.0f}k"
    return f"{value:.{decimals}f}"


def _value_label(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


class _Frame:
    """Plot area inside an SVG of `width` x `height`, with the arithmetic from data to pixels."""

    def __init__(self, width: int, height: int, x_ticks: Sequence[float], y_ticks: Sequence[float], left: int = 56, top: int = 40, bottom: int = 44):
        self.width, self.height = width, height
        self.left, self.right, self.top, self.bottom = left, width - 16, top, height - bottom
        self.x_ticks, self.y_ticks = list(x_ticks), list(y_ticks)
        self.x0, self.x1 = self.x_ticks[0], self.x_ticks[-1]
        self.y0, self.y1 = self.y_ticks[0], self.y_ticks[-1]

    def x(self, value: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (value - self.x0) / span * (self.right - self.left)

    def y(self, value: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return self.bottom - (value - self.y0) / span * (self.bottom - self.top)

    def axes(self, x_label: str, y_label: str, x_tick_labels: Sequence[str] | None = None) -> list[str]:
        parts = []
        for tick in self.y_ticks:
            y = self.y(tick)
            parts.append(f"<line x1='{self.left}' x2='{self.right}' y1='{y:.1f}' y2='{y:.1f}' stroke='#e6e6e6'/>")
            parts.append(f"<text x='{self.left - 6}' y='{y + 4:.1f}' text-anchor='end' font-size='11' fill='#555'>{_tick_label(tick, self.y_ticks)}</text>")
        labels = x_tick_labels or [_tick_label(tick, self.x_ticks) for tick in self.x_ticks]
        for tick, label in zip(self.x_ticks, labels):
            x = self.x(tick)
            parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{self.bottom}' y2='{self.bottom + 4}' stroke='#555'/>")
            parts.append(f"<text x='{x:.1f}' y='{self.bottom + 16}' text-anchor='middle' font-size='11' fill='#555'>{_esc(label)}</text>")
        parts.append(f"<line x1='{self.left}' x2='{self.right}' y1='{self.bottom}' y2='{self.bottom}' stroke='#555'/>")
        parts.append(f"<line x1='{self.left}' x2='{self.left}' y1='{self.top}' y2='{self.bottom}' stroke='#555'/>")
        parts.append(f"<text x='{(self.left + self.right) / 2:.1f}' y='{self.height - 8}' text-anchor='middle' font-size='12' fill='#333'>{_esc(x_label)}</text>")
        mid = (self.top + self.bottom) / 2
        parts.append(f"<text x='14' y='{mid:.1f}' text-anchor='middle' font-size='12' fill='#333' transform='rotate(-90 14 {mid:.1f})'>{_esc(y_label)}</text>")
        return parts


def _svg(width: int, height: int, title: str, body: list[str], legend: list[tuple[str, str]] = ()) -> str:
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart' width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img' aria-label='{_esc(title)}' {FONT}>",
        f"<title>{_esc(title)}</title>",
        f"<text x='8' y='18' font-size='14' font-weight='600' fill='#222'>{_esc(title)}</text>",
    ]
    # legend right-aligned on the title row, or on a second row (LEGEND_ROW2_Y) when the title leaves no room;
    # ~7 px per character at 11 px, ~8 px at the title's 14 px bold: close enough for these short names
    widths = [len(name) * 7 + 26 for name, _ in legend]
    second_row = width - 12 - sum(widths) < len(title) * 8 + 24
    x, y = (8.0, LEGEND_ROW2_Y) if second_row else (width - 12 - sum(widths), 9)
    for (name, color), w in zip(legend, widths):
        parts.append(f"<rect x='{x:.1f}' y='{y}' width='11' height='11' rx='2' fill='{color}'/>")
        parts.append(f"<text x='{x + 15:.1f}' y='{y + 10}' font-size='11' fill='#333'>{_esc(name)}</text>")
        x += w
    return "\n".join(parts + body + ["</svg>"])


def line_chart(series: dict[str, Sequence[tuple[float, float]]], *, title: str, x_label: str, y_label: str, width: int = 560, height: int = 250, colors: dict[str, str] | None = None, x_name: str | None = None) -> str:
    """One polyline per series, a dot with a tooltip per point (`x_name`: the x in tooltips, default `x_label`)."""
    series = {name: [(float(x), float(y)) for x, y in points if math.isfinite(x) and math.isfinite(y)] for name, points in series.items()}
    series = {name: points for name, points in series.items() if points}
    if not series:
        return ""
    xs = [x for points in series.values() for x, _ in points]
    ys = [y for points in series.values() for _, y in points]
    y_pad = (max(ys) - min(ys)) * 0.05
    whole = all(float(x).is_integer() for x in xs)
    frame = _Frame(width, height, nice_ticks(min(xs), max(xs), 6, integer=whole), nice_ticks(min(ys) - y_pad, max(ys) + y_pad, 5))
    body = frame.axes(x_label, y_label)
    legend = []
    for index, (name, points) in enumerate(series.items()):
        color = (colors or {}).get(name) or color_for(name, index)
        legend.append((name, color))
        coords = " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in points)
        body.append(f"<polyline class='series' data-series='{_esc(name)}' fill='none' stroke='{color}' stroke-width='2' stroke-linejoin='round' points='{coords}'/>")
        for x, y in points:
            body.append(f"<circle class='point' cx='{frame.x(x):.1f}' cy='{frame.y(y):.1f}' r='2.8' fill='{color}'><title>{_esc(name)}: {_esc(x_name or x_label)} {_value_label(x)}, {_esc(y_label)} {y:.4g}</title></circle>")
    return _svg(width, height, title, body, legend if len(series) > 1 else [])


def hbar_chart(groups: Sequence[tuple[str, Sequence[tuple[str, float]]]], *, title: str, x_label: str, x_max: float | None = None, reference: tuple[float, str] | None = None, width: int = 560, colors: dict[str, str] | None = None,
               intervals: dict[tuple[str, str], tuple[float, float]] | None = None) -> str:  # fmt: skip
    """Horizontal bars, one group per label (a model), one bar per series in the group (raw / length-controlled).
    `reference`: (value, label) drawn as a dashed line, e.g. (0.5, "no better, no worse"). `intervals`:
    {(label, series): (low, high)} drawn as a whisker across that bar (a confidence interval)."""
    groups = [(label, [(name, float(value)) for name, value in bars if isinstance(value, (int, float)) and math.isfinite(value)]) for label, bars in groups]
    groups = [(label, bars) for label, bars in groups if bars]
    if not groups:
        return ""
    names = list(dict.fromkeys(name for _, bars in groups for name, _ in bars))
    bar_h, gap = 16, 12
    top = 62 if reference else 44  # room for the reference line's label under a legend row
    height = top + sum(len(bars) * bar_h + gap for _, bars in groups) + 40
    top_value = max([value for _, bars in groups for _, value in bars] + [x_max or 0.0, reference[0] if reference else 0.0])
    frame = _Frame(width, height, nice_ticks(0.0, top_value or 1.0, 5), [0.0, 1.0], left=96, top=top, bottom=40)
    body = []
    for tick in frame.x_ticks:
        x = frame.x(tick)
        body.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top - 4}' y2='{frame.bottom}' stroke='#e6e6e6'/>")
        body.append(f"<text x='{x:.1f}' y='{frame.bottom + 16}' text-anchor='middle' font-size='11' fill='#555'>{_tick_label(tick, frame.x_ticks)}</text>")
    body.append(f"<text x='{(frame.left + frame.right) / 2:.1f}' y='{height - 8}' text-anchor='middle' font-size='12' fill='#333'>{_esc(x_label)}</text>")
    y = top
    for label, bars in groups:
        group_h = len(bars) * bar_h
        body.append(f"<text x='{frame.left - 8}' y='{y + group_h / 2 + 4:.1f}' text-anchor='end' font-size='12' fill='#222'>{_esc(label)}</text>")
        for name, value in bars:
            color = (colors or {}).get(name) or color_for(name, names.index(name))
            w = max(frame.x(value) - frame.left, 0.0)
            body.append(f"<rect class='bar' x='{frame.left}' y='{y + 1}' width='{w:.1f}' height='{bar_h - 3}' rx='2' fill='{color}'><title>{_esc(label)} {_esc(name)}: {value:.3f}</title></rect>")
            text_x = frame.left + w + 4
            if (label, name) in (intervals or {}):
                low, high = (frame.x(v) for v in intervals[(label, name)])
                mid = y + (bar_h - 1) / 2
                body.append(f"<path class='whisker' d='M{low:.1f},{mid - 4:.1f}v8M{low:.1f},{mid:.1f}H{high:.1f}M{high:.1f},{mid - 4:.1f}v8' stroke='#222' fill='none'/>")
                text_x = max(text_x, high + 4)
            body.append(f"<text x='{text_x:.1f}' y='{y + bar_h - 4}' font-size='11' fill='#333'>{value:.3f}</text>")
            y += bar_h
        y += gap
    body.append(f"<line x1='{frame.left}' x2='{frame.left}' y1='{top - 4}' y2='{frame.bottom}' stroke='#555'/>")
    if reference:
        x = frame.x(reference[0])
        body.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{top - 8}' y2='{frame.bottom}' stroke='#333' stroke-dasharray='4 3'/>")
        body.append(f"<text x='{x + 4:.1f}' y='{top - 10}' font-size='11' fill='#333'>{_esc(reference[1])}</text>")
    return _svg(width, height, title, body, [(name, (colors or {}).get(name) or color_for(name, i)) for i, name in enumerate(names)] if len(names) > 1 else [])


def funnel_chart(steps: Sequence[dict], *, title: str, width: int = 560) -> str:
    """Curation funnel: per block, the documents it kept (solid) and dropped (light), labelled with both."""
    steps = [step for step in steps if step.get("seen")]
    if not steps:
        return ""
    row_h, top = 24, 44
    height = top + row_h * len(steps) + 16
    most = max(step["seen"] for step in steps)
    left, right = 96, width - 120  # room on the right for the "kept 378 · dropped 22" label
    scale = (right - left) / most
    body = []
    for index, step in enumerate(steps):
        y = top + index * row_h
        kept_w, dropped_w = step["kept"] * scale, step["dropped"] * scale
        body.append(f"<text x='{left - 8}' y='{y + 15}' text-anchor='end' font-size='12' fill='#222'>{_esc(step['block'])}</text>")
        body.append(f"<rect class='bar' x='{left}' y='{y + 3}' width='{kept_w:.1f}' height='{row_h - 7}' rx='2' fill='{KEPT_COLOR}'><title>{_esc(step['block'])}: kept {step['kept']} of {step['seen']}</title></rect>")
        if step["dropped"]:
            body.append(f"<rect class='bar dropped' x='{left + kept_w:.1f}' y='{y + 3}' width='{dropped_w:.1f}' height='{row_h - 7}' rx='2' fill='{DROPPED_COLOR}'><title>{_esc(step['block'])}: dropped {step['dropped']}</title></rect>")
        label = f"{step['kept']}" + (f"  (−{step['dropped']})" if step["dropped"] else "")
        body.append(f"<text x='{left + kept_w + dropped_w + 6:.1f}' y='{y + 15}' font-size='11' fill='#333'>{_esc(label)}</text>")
    return _svg(width, height, title, body, [("kept", KEPT_COLOR), ("dropped", DROPPED_COLOR)])


def bin_edges(values: Sequence[float], bins: int = 10, lo: float | None = None, hi: float | None = None) -> list[float]:
    """Round bin edges covering the values (or [lo, hi]), about `bins` of them."""
    values = [v for v in values if math.isfinite(v)]
    lo = min(values, default=0.0) if lo is None else lo
    hi = max(values, default=1.0) if hi is None else hi
    return nice_ticks(lo, hi, bins)  # the last bin is closed (histogram_counts), so the top value falls inside it


def histogram_counts(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    counts = [0] * (len(edges) - 1)
    for value in values:
        for index in range(len(counts)):
            if edges[index] <= value < edges[index + 1] or (index == len(counts) - 1 and value == edges[-1]):
                counts[index] += 1
                break
    return counts


def histogram(series: dict[str, Sequence[float]], edges: Sequence[float], *, title: str, x_label: str, y_max: int | None = None, width: int = 560, height: int = 220, colors: dict[str, str] | None = None) -> str:
    """Counts per bin, the series' bars side by side within each bin (kept vs rejected), on shared edges;
    `y_max` shares one count axis across several small histograms so their heights compare."""
    series = {name: list(values) for name, values in series.items() if values}
    if not series or len(edges) < 2:
        return ""
    counts = {name: histogram_counts(values, edges) for name, values in series.items()}
    top_count = max([max(c) for c in counts.values()] + [y_max or 0])
    y_ticks = nice_ticks(0, max(top_count, 1), 4)
    y_ticks = [t for t in y_ticks if float(t).is_integer()] or [0.0, 1.0]  # counts: whole numbers only
    if y_ticks[-1] < top_count:
        y_ticks.append(y_ticks[-1] + (y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1))
    frame = _Frame(width, height, list(edges), y_ticks, left=44)
    stride = max(1, math.ceil(len(edges) / 8))  # at most ~8 edge labels, so they never overlap
    shown = [e for i, e in enumerate(edges) if i % stride == 0 or i == len(edges) - 1]
    frame.x_ticks = shown
    body = frame.axes(x_label, "count", [_tick_label(e, edges) for e in shown])
    slot = (frame.x(edges[1]) - frame.x(edges[0])) / len(series)
    legend = []
    for index, (name, bin_counts) in enumerate(counts.items()):
        color = (colors or {}).get(name) or color_for(name, index)
        legend.append((name, color))
        for b, count in enumerate(bin_counts):
            if not count:
                continue
            x = frame.x(edges[b]) + index * slot
            y = frame.y(count)
            body.append(f"<rect class='bar' x='{x + 0.5:.1f}' y='{y:.1f}' width='{max(slot - 1, 1):.1f}' height='{frame.bottom - y:.1f}' fill='{color}'><title>{_esc(name)}: {count} in [{_value_label(edges[b])}, {_value_label(edges[b + 1])})</title></rect>")
    return _svg(width, height, title, body, legend if len(series) > 1 else [])
