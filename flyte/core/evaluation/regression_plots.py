"""Regression figures as inline SVG: predicted against actual, the residuals' distribution, residuals against predicted."""

# Why a sketch: the scorer streams tables of any size, so the figures are drawn from fixed-size bin counts filled
# batch by batch. The bins live on a grid that doubles its width when a value falls outside it (merging pairs of
# bins, whose edges stay aligned), so no range need be known in advance and the counts are exact per bin. Below
# ``max_points`` rows the rows themselves are kept and drawn as points; above, cells shaded by count, at most
# DISPLAY x DISPLAY of them: the SVG's size is bounded whatever the row count. Residual = actual - predicted.

from __future__ import annotations

import math
from html import escape
from typing import NamedTuple

import numpy as np

from flyte.core.common.html import GRID, INK, MUTED, PALETTE, svg_open

#: The most cells per axis a density figure draws (bins are merged down to it).
DISPLAY = 40
#: The share of rows left out at each end of a density figure's axes, so one wild row cannot squash the figure
#: (the caption counts them; point figures show every row).
TRIM = 0.001
SIDE, LEFT, TOP, BOTTOM = 260, 58, 10, 42


class _Axis:
    """A grid of ``bins`` equal bins from ``lo`` that doubles its width to take in new values."""

    def __init__(self, bins: int):
        self.bins, self.lo, self.width = bins, 0.0, 0.0

    def grow(self, vmin: float, vmax: float) -> list[str]:
        """Extend to hold [vmin, vmax]; returns the doublings made, each "left" or "right", in order."""
        if self.width == 0.0:
            self.lo = vmin
            self.width = max((vmax - vmin) / self.bins * (1 + 1e-9), abs(vmin) * 1e-9, 1e-12)
        steps = []
        while vmin < self.lo or vmax >= self.lo + self.bins * self.width:
            side = "left" if vmin < self.lo else "right"
            if side == "left":
                self.lo -= self.bins * self.width
            self.width *= 2
            steps.append(side)
        return steps

    def index(self, v: np.ndarray) -> np.ndarray:
        return np.clip(((v - self.lo) / self.width).astype(np.int64), 0, self.bins - 1)

    def edge(self, i: float) -> float:
        return self.lo + i * self.width


def _merge(counts: np.ndarray, axis: int, side: str) -> np.ndarray:
    """Counts on an axis of twice the bin width: pairs of bins summed, the new empty half on ``side``."""
    moved = np.moveaxis(counts, axis, 0)
    half = moved.reshape(moved.shape[0] // 2, 2, *moved.shape[1:]).sum(axis=1)
    pad = np.zeros_like(half)
    return np.moveaxis(np.concatenate([pad, half] if side == "left" else [half, pad]), 0, axis)


class ResidualSketch:
    """Bin counts of a stream of (actual, predicted) batches, in memory fixed by ``bins`` whatever the row count.

    Predicted and actual share one axis (so the diagonal means a perfect prediction); the residuals have their own.
    While at most ``max_points`` rows have come, the rows themselves are kept as well, to be drawn as points.
    """

    def __init__(self, bins: int = 128, max_points: int = 2000):
        if bins < 2 or bins % 2:
            raise ValueError(f"bins must be an even number of at least 2, got {bins}")
        self.value, self.residual = _Axis(bins), _Axis(bins)
        self.actual_by_predicted = np.zeros((bins, bins))  # [predicted bin, actual bin]
        self.residual_by_predicted = np.zeros((bins, bins))  # [predicted bin, residual bin]
        self.residual_sum = np.zeros(bins)  # per predicted bin: the mean residual line
        self.rows, self.max_points, self.total, self.total_sq = 0, max_points, 0.0, 0.0
        self.points: tuple[np.ndarray, np.ndarray] | None = (np.empty(0), np.empty(0))

    def add(self, actual: np.ndarray, predicted: np.ndarray) -> None:
        """Fold in one batch of true targets and their predictions (same length, finite)."""
        y, p = np.asarray(actual, dtype=np.float64).ravel(), np.asarray(predicted, dtype=np.float64).ravel()
        if len(y) != len(p):
            raise ValueError(f"{len(y)} actual values but {len(p)} predictions")
        if not (np.isfinite(y).all() and np.isfinite(p).all()):
            raise ValueError("actual and predicted values must be finite to be plotted")
        if not len(y):
            return
        r = y - p
        for side in self.value.grow(float(min(y.min(), p.min())), float(max(y.max(), p.max()))):
            self.actual_by_predicted = _merge(_merge(self.actual_by_predicted, 0, side), 1, side)
            self.residual_by_predicted = _merge(self.residual_by_predicted, 0, side)
            self.residual_sum = _merge(self.residual_sum, 0, side)
        for side in self.residual.grow(float(r.min()), float(r.max())):
            self.residual_by_predicted = _merge(self.residual_by_predicted, 1, side)
        bins = self.value.bins
        ip, iy, ir = self.value.index(p), self.value.index(y), self.residual.index(r)
        self.actual_by_predicted += np.bincount(ip * bins + iy, minlength=bins * bins).reshape(bins, bins)
        self.residual_by_predicted += np.bincount(ip * bins + ir, minlength=bins * bins).reshape(bins, bins)
        self.residual_sum += np.bincount(ip, weights=r, minlength=bins)
        self.rows += len(y)
        self.total, self.total_sq = self.total + float(r.sum()), self.total_sq + float(r @ r)
        if self.points is not None:
            self.points = (np.r_[self.points[0], y], np.r_[self.points[1], p]) if self.rows <= self.max_points else None


class RegressionPlots(NamedTuple):
    predicted_vs_actual: str
    residual_histogram: str
    residuals_vs_predicted: str


def regression_plots(actual: np.ndarray, predicted: np.ndarray, target: str = "target") -> RegressionPlots:
    """The three figures of rows held in memory (a one-batch ``ResidualSketch``)."""
    sketch = ResidualSketch()
    sketch.add(actual, predicted)
    return sketch_plots(sketch, target)


def sketch_plots(sketch: ResidualSketch, target: str = "target") -> RegressionPlots:
    """The three figures of a filled sketch; ``target`` names the target on the axes."""
    return RegressionPlots(predicted_vs_actual_svg(sketch, target), residual_histogram_svg(sketch, target),
                           residuals_vs_predicted_svg(sketch, target))  # fmt: skip


def _empty(label: str) -> str:
    return f'{svg_open(240, 40, label)}<text x="0" y="24" font-size="12" fill="{MUTED}">No rows to plot.</text></svg>'


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round numbers (1, 2 or 5 times a power of 10) inside [lo, hi]."""
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / count
    step = min((m * 10 ** math.floor(math.log10(raw)) for m in (1, 2, 5, 10)), key=lambda s: abs(s - raw))
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


class _Frame:
    """A square plot area mapping data (x, y) in [x0, x1] x [y0, y1] to pixels, with axes, ticks and labels."""

    def __init__(self, x0: float, x1: float, y0: float, y1: float):
        pad_x, pad_y = (x1 - x0) * 0.02 or abs(x0) * 0.05 or 1.0, (y1 - y0) * 0.02 or abs(y0) * 0.05 or 1.0
        self.x0, self.x1, self.y0, self.y1 = x0 - pad_x, x1 + pad_x, y0 - pad_y, y1 + pad_y

    def px(self, x: float) -> float:
        return LEFT + (x - self.x0) / (self.x1 - self.x0) * SIDE

    def py(self, y: float) -> float:
        return TOP + (1 - (y - self.y0) / (self.y1 - self.y0)) * SIDE

    def open(self, label: str, x_label: str, y_label: str) -> list[str]:
        parts = [svg_open(LEFT + SIDE + 14, TOP + SIDE + BOTTOM, label),
                 f'<rect x="{LEFT}" y="{TOP}" width="{SIDE}" height="{SIDE}" fill="#ffffff" stroke="#d1d5db"/>']  # fmt: skip
        for t in _ticks(self.x0, self.x1):
            x = self.px(t)
            parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + SIDE}" stroke="{GRID}"/>')
            parts.append(f'<text x="{x:.1f}" y="{TOP + SIDE + 15}" text-anchor="middle" font-size="10" fill="{MUTED}">{t:.4g}</text>')
        for t in _ticks(self.y0, self.y1):
            y = self.py(t)
            parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + SIDE}" y2="{y:.1f}" stroke="{GRID}"/>')
            parts.append(f'<text x="{LEFT - 5}" y="{y + 4:.1f}" text-anchor="end" font-size="10" fill="{MUTED}">{t:.4g}</text>')
        mid = TOP + SIDE / 2
        parts.append(f'<text x="{LEFT + SIDE / 2}" y="{TOP + SIDE + BOTTOM - 6}" text-anchor="middle" font-size="11" fill="#374151">{escape(x_label)}</text>')
        parts.append(f'<text x="12" y="{mid}" font-size="11" fill="#374151" text-anchor="middle" transform="rotate(-90 12 {mid})">{escape(y_label)}</text>')
        return parts

    def line(self, x0: float, y0: float, x1: float, y1: float, color: str = "#9ca3af", dash: str = "4 4") -> str:
        return (f'<line x1="{self.px(x0):.1f}" y1="{self.py(y0):.1f}" x2="{self.px(x1):.1f}" y2="{self.py(y1):.1f}" '
                f'stroke="{color}" stroke-dasharray="{dash}"/>')  # fmt: skip


def _span(counts: np.ndarray, trim: float = 0.0) -> tuple[int, int]:
    """The first and one-past-last bin holding the counts' mass, ``trim`` of it left out at each end."""
    cum = np.cumsum(counts)
    total = cum[-1]
    return int(np.searchsorted(cum, trim * total, "right")), int(np.searchsorted(cum, (1 - trim) * total, "left")) + 1


def _blocks(counts: np.ndarray, spans: list[tuple[int, int]]) -> tuple[np.ndarray, list[int]]:
    """``counts`` cut to ``spans`` (one per axis), summed in blocks so no axis has more than DISPLAY cells;
    returns the cells and each axis' block size in bins."""
    sizes = []
    for axis, (a, b) in enumerate(spans):
        size = math.ceil((b - a) / DISPLAY)
        cut = np.take(counts, range(a, b), axis=axis)
        pad = [(0, 0)] * counts.ndim
        pad[axis] = (0, -(b - a) % size)
        cut = np.pad(cut, pad)
        shape = list(cut.shape)
        shape[axis : axis + 1] = [shape[axis] // size, size]
        counts = cut.reshape(shape).sum(axis=axis + 1)
        sizes.append(size)
    return counts, sizes


def _cells(frame: _Frame, cells: np.ndarray, x_edge, y_edge) -> list[str]:
    """Rectangles shaded by log count; ``x_edge(i)`` / ``y_edge(j)`` give a cell's lower data edge."""
    top = math.log1p(cells.max())
    out = []
    for i, j in zip(*np.nonzero(cells)):
        x, x2, y, y2 = frame.px(x_edge(i)), frame.px(x_edge(i + 1)), frame.py(y_edge(j + 1)), frame.py(y_edge(j))
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{x2 - x + 0.3:.1f}" height="{y2 - y + 0.3:.1f}" fill="{PALETTE[0]}" '
                   f'fill-opacity="{0.12 + 0.88 * math.log1p(cells[i, j]) / top:.2f}"/>')  # fmt: skip
    return out


def _caption(text: str) -> str:
    return f'<p class="cap" style="max-width:{LEFT + SIDE + 14}px">{escape(text)}</p>'


def predicted_vs_actual_svg(sketch: ResidualSketch, target: str = "target") -> str:
    """Each row's prediction (x) against its actual value (y), the diagonal a perfect prediction: points below
    ``sketch.max_points`` rows, else a density of cells shaded by the log of their row count."""
    if not sketch.rows:
        return _empty("predicted against actual")
    grid, axis = sketch.actual_by_predicted, sketch.value
    if sketch.points is not None:
        y, p = sketch.points
        lo, hi = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
    else:
        a, b = _span(grid.sum(axis=1) + grid.sum(axis=0), TRIM)
        lo, hi = axis.edge(a), axis.edge(b)
    frame = _Frame(lo, hi, lo, hi)
    parts = frame.open("predicted against actual", f"predicted {target}", f"actual {target}")
    parts.append(frame.line(lo, lo, hi, hi))
    if sketch.points is not None:
        parts += [f'<circle cx="{frame.px(x):.1f}" cy="{frame.py(v):.1f}" r="2" fill="{PALETTE[0]}" fill-opacity="0.45"/>'
                  for x, v in zip(p, y)]  # fmt: skip
        note = f"{sketch.rows} rows, one point each."
    else:
        cells, (sx, sy) = _blocks(grid, [(a, b), (a, b)])
        parts += _cells(frame, cells, lambda i: axis.edge(a + i * sx), lambda j: axis.edge(a + j * sy))
        outside = sketch.rows - int(cells.sum())
        note = f"{sketch.rows} rows in cells; darker = more rows (log scale)." + (
            f" {outside} rows beyond the shown range are left out." if outside else "")
    return "".join(parts) + "</svg>" + _caption(f"{note} On the dashed diagonal the prediction is exact.")


def residual_histogram_svg(sketch: ResidualSketch, target: str = "target") -> str:
    """The distribution of residuals (actual - predicted), TRIM of the rows left out at each end and counted."""
    if not sketch.rows:
        return _empty("residual distribution")
    axis, counts = sketch.residual, sketch.residual_by_predicted.sum(axis=0)
    a, b = _span(counts, TRIM)
    bars, (size,) = _blocks(counts, [(a, b)])
    outside = sketch.rows - int(bars.sum())
    frame = _Frame(axis.edge(a), axis.edge(a + len(bars) * size), 0.0, float(bars.max()))
    frame.y0 = 0.0
    parts = frame.open("residual distribution", f"residual (actual - predicted {target})", "rows")
    for i, count in enumerate(bars):
        x, x2, y = frame.px(axis.edge(a + i * size)), frame.px(axis.edge(a + (i + 1) * size)), frame.py(count)
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(x2 - x - 0.5, 0.5):.1f}" height="{frame.py(0) - y:.1f}" fill="{PALETTE[0]}"/>')
    if frame.x0 <= 0 <= frame.x1:
        parts.append(frame.line(0.0, 0.0, 0.0, frame.y1, INK, "3 3"))
    mean = sketch.total / sketch.rows
    sd = math.sqrt(max(sketch.total_sq / sketch.rows - mean * mean, 0.0))
    text = f"{sketch.rows} rows; mean residual {mean:.4g}, standard deviation {sd:.4g}."
    if outside:
        text += f" {outside} rows beyond the shown range are left out."
    return "".join(parts) + "</svg>" + _caption(text)


def residuals_vs_predicted_svg(sketch: ResidualSketch, target: str = "target") -> str:
    """Residuals (y) against predictions (x): points or cells as ``predicted_vs_actual_svg``, the dashed line at 0,
    and (in cells) the mean residual of each column, which bends where the model is biased."""
    if not sketch.rows:
        return _empty("residuals against predicted")
    grid, vx, vr = sketch.residual_by_predicted, sketch.value, sketch.residual
    label = ("residuals against predicted", f"predicted {target}", "residual (actual - predicted)")
    if sketch.points is not None:
        y, p = sketch.points
        r = y - p
        frame = _Frame(float(p.min()), float(p.max()), float(r.min()), float(r.max()))
        parts = frame.open(*label)
        parts += [f'<circle cx="{frame.px(x):.1f}" cy="{frame.py(v):.1f}" r="2" fill="{PALETTE[0]}" fill-opacity="0.45"/>'
                  for x, v in zip(p, r)]  # fmt: skip
        text = f"{sketch.rows} rows, one point each."
    else:
        (a, b), (c, d) = _span(grid.sum(axis=1), TRIM), _span(grid.sum(axis=0), TRIM)
        cells, (sx, sy) = _blocks(grid, [(a, b), (c, d)])
        frame = _Frame(vx.edge(a), vx.edge(a + cells.shape[0] * sx), vr.edge(c), vr.edge(c + cells.shape[1] * sy))
        parts = frame.open(*label)
        parts += _cells(frame, cells, lambda i: vx.edge(a + i * sx), lambda j: vr.edge(c + j * sy))
        # Every row of a column counts here, the trimmed ones too: the line is the column's true mean residual.
        sums, counts = _blocks(sketch.residual_sum, [(a, b)])[0], _blocks(grid.sum(axis=1), [(a, b)])[0]
        shown = [(vx.edge(a + (i + 0.5) * sx), s / k) for i, (s, k) in enumerate(zip(sums, counts)) if k]
        line = " ".join(f"{frame.px(x):.1f},{frame.py(min(max(m, frame.y0), frame.y1)):.1f}" for x, m in shown)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{PALETTE[1]}" stroke-width="1.5"/>')
        text = f"{sketch.rows} rows in cells, darker = more rows (log scale); red: the mean residual per column."
        outside = sketch.rows - int(cells.sum())
        text += f" {outside} rows beyond the shown range are left out." if outside else ""
    parts.append(frame.line(frame.x0, 0.0, frame.x1, 0.0, INK, "3 3") if frame.y0 <= 0 <= frame.y1 else "")
    return "".join(parts) + "</svg>" + _caption(f"{text} Points above the dashed line are under-predicted.")
