"""The model report: one self-contained HTML page (inline SVG, no scripts, no network) for people."""

from __future__ import annotations

from html import escape

import numpy as np
from sklearn.metrics import auc, roc_curve

from flyte.core.ingest import DataProfile
from flyte.core.score import Metrics

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777")

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#111827;margin:24px;max-width:1100px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px;color:#374151}
.sub{color:#6b7280;font-size:13px;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:110px}
.card .v{font-size:22px;font-weight:600} .card .k{font-size:12px;color:#6b7280}
.grid{display:flex;flex-wrap:wrap;gap:32px;align-items:flex-start}
table{border-collapse:collapse;font-size:13px} td,th{border-bottom:1px solid #e5e7eb;padding:4px 10px;text-align:right}
th:first-child,td:first-child{text-align:left} th{color:#374151;background:#f9fafb}
svg text{font-family:inherit}
"""


def render_report(
    metrics: Metrics,
    y_true: list,
    proba: np.ndarray,
    labels: list,
    importance: dict[str, float],
    profile: DataProfile,
) -> str:
    """The full HTML page: headline metrics, confusion matrix, ROC curve, feature importance, data profile.

    ``proba`` holds one column per label, in ``labels`` order, for the rows whose true labels are ``y_true``.
    """
    body = [
        "<h1>Model report</h1>",
        f'<div class="sub">target <b>{escape(profile.target)}</b> · {metrics.rows} held-out rows · '
        f"source {escape(profile.source)} · sha256 {escape(profile.sha256[:12])}</div>",
        _metric_cards(metrics),
        '<div class="grid">',
        _section("Confusion matrix", _confusion_svg(metrics)),
        _section("ROC curve", _roc_svg(y_true, proba, labels)),
        "</div>",
        _section("Feature importance (total gain)", _importance_svg(importance)),
        _section("Data profile", _profile_tables(profile)),
    ]
    return f"<!doctype html><html><head><meta charset='utf-8'><title>Model report</title><style>{STYLE}</style></head><body>{''.join(body)}</body></html>"


def _section(title: str, content: str) -> str:
    return f"<div><h2>{escape(title)}</h2>{content}</div>"


def _metric_cards(m: Metrics) -> str:
    suffix = f" (class {m.labels[-1]})" if m.average == "binary" and m.labels else " (macro)"
    items = [
        ("accuracy", m.accuracy),
        ("balanced accuracy", m.balanced_accuracy),
        ("ROC AUC" + ("" if m.average == "binary" else " (OvR macro)"), m.roc_auc),
        ("log loss", m.log_loss),
        ("precision" + suffix, m.precision),
        ("recall" + suffix, m.recall),
        ("F1" + suffix, m.f1),
    ]
    cards = "".join(f'<div class="card"><div class="v">{v:.3f}</div><div class="k">{escape(k)}</div></div>' for k, v in items)
    return f'<div class="cards">{cards}</div>'


def _confusion_svg(m: Metrics) -> str:
    n = len(m.labels)
    widest = max((len(label) for label in m.labels), default=1)
    cell, left, top = max(36, min(70, 280 // max(n, 1))), 34 + 7 * widest, 40
    size_w, size_h = left + n * cell + 10, top + n * cell + 40
    peak = max((v for row in m.confusion_matrix for v in row), default=0) or 1
    parts = [f'<svg width="{size_w}" height="{size_h}" role="img" aria-label="confusion matrix">']
    parts.append(f'<text x="{left + n * cell / 2}" y="14" text-anchor="middle" font-size="12" fill="#374151">predicted</text>')
    parts.append(
        f'<text x="14" y="{top + n * cell / 2}" font-size="12" fill="#374151" '
        f'transform="rotate(-90 14 {top + n * cell / 2})" text-anchor="middle">true</text>'
    )
    for j, label in enumerate(m.labels):
        parts.append(f'<text x="{left + j * cell + cell / 2}" y="{top - 6}" text-anchor="middle" font-size="11">{escape(label)}</text>')
    for i, row in enumerate(m.confusion_matrix):
        y = top + i * cell
        parts.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4}" text-anchor="end" font-size="11">{escape(m.labels[i])}</text>')
        for j, count in enumerate(row):
            shade = count / peak
            fill = f"rgba(37,99,235,{0.08 + 0.85 * shade:.2f})"
            ink = "#fff" if shade > 0.55 else "#111827"
            x = left + j * cell
            parts.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}" rx="3"/>')
            parts.append(f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 4}" text-anchor="middle" font-size="13" fill="{ink}">{count}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _roc_svg(y_true: list, proba: np.ndarray, labels: list) -> str:
    w, h, pad = 320, 300, 40
    plot_w, plot_h = w - pad - 10, h - pad - 20
    y = np.asarray([str(v) for v in y_true], dtype=object)

    def xy(fpr: float, tpr: float) -> str:
        return f"{pad + fpr * plot_w:.1f},{10 + (1 - tpr) * plot_h:.1f}"

    parts = [f'<svg width="{w + 170}" height="{h}" role="img" aria-label="ROC curve">']
    parts.append(f'<rect x="{pad}" y="10" width="{plot_w}" height="{plot_h}" fill="none" stroke="#d1d5db"/>')
    parts.append(f'<polyline points="{xy(0, 0)} {xy(1, 1)}" fill="none" stroke="#9ca3af" stroke-dasharray="4 4"/>')
    for k in (0, 0.5, 1):
        parts.append(f'<text x="{pad + k * plot_w}" y="{h - 18}" text-anchor="middle" font-size="10">{k:g}</text>')
        parts.append(f'<text x="{pad - 6}" y="{14 + (1 - k) * plot_h}" text-anchor="end" font-size="10">{k:g}</text>')
    parts.append(f'<text x="{pad + plot_w / 2}" y="{h - 4}" text-anchor="middle" font-size="11">false positive rate</text>')
    parts.append(f'<text x="10" y="{10 + plot_h / 2}" font-size="11" transform="rotate(-90 10 {10 + plot_h / 2})" text-anchor="middle">true positive rate</text>')
    # Two classes: one curve for the positive (last) label. More: one-vs-rest per class.
    curves = [(len(labels) - 1, labels[-1])] if len(labels) == 2 else list(enumerate(labels))
    for n, (i, label) in enumerate(curves):
        positives = y == str(label)
        if positives.all() or not positives.any():
            continue
        fpr, tpr, _ = roc_curve(positives, proba[:, i])
        color = PALETTE[n % len(PALETTE)]
        points = " ".join(xy(a, b) for a, b in zip(fpr, tpr))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts.append(f'<rect x="{w}" y="{16 + 18 * n}" width="10" height="10" fill="{color}"/>')
        name = f"class {label}" if len(labels) == 2 else f"{label} vs rest"
        parts.append(f'<text x="{w + 14}" y="{25 + 18 * n}" font-size="11">{escape(name)} (AUC {auc(fpr, tpr):.3f})</text>')
    parts.append("</svg>")
    return "".join(parts)


def _importance_svg(importance: dict[str, float], top: int = 20) -> str:
    items = sorted(importance.items(), key=lambda kv: kv[1], reverse=True)[:top]
    if not items:
        return "<p>No features.</p>"
    peak = items[0][1] or 1.0
    total = sum(importance.values()) or 1.0
    row, label_w, bar_w = 22, 170, 380
    parts = [f'<svg width="{label_w + bar_w + 70}" height="{row * len(items) + 6}" role="img" aria-label="feature importance">']
    for i, (name, value) in enumerate(items):
        y = i * row + 3
        parts.append(f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" font-size="12">{escape(name)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{max(1.0, bar_w * value / peak):.1f}" height="{row - 6}" fill="#2563eb" rx="2"/>')
        parts.append(f'<text x="{label_w + bar_w * value / peak + 6:.1f}" y="{y + 14}" font-size="11" fill="#374151">{100 * value / total:.1f}%</text>')
    parts.append("</svg>")
    return "".join(parts)


def _profile_tables(p: DataProfile) -> str:
    summary = (
        f"<table><tr><th>rows</th><th>columns</th><th>features</th><th>categorical</th></tr>"
        f"<tr><td>{p.rows}</td><td>{p.columns}</td><td>{len(p.feature_columns)}</td><td>{len(p.categorical_columns)}</td></tr></table>"
    )
    columns = "".join(
        f"<tr><td>{escape(c)}{' (target)' if c == p.target else ''}</td><td>{escape(p.dtypes.get(c, ''))}</td>"
        f"<td>{p.missing.get(c, 0)}</td><td>{100 * p.missing.get(c, 0) / max(p.rows, 1):.1f}%</td></tr>"
        for c in p.dtypes
    )
    balance = "".join(
        f"<tr><td>{escape(k)}</td><td>{v}</td><td>{100 * v / max(p.rows, 1):.1f}%</td></tr>" for k, v in p.class_counts.items()
    )
    return (
        f"{summary}<div class='grid'><div><h2>Columns</h2><table><tr><th>column</th><th>dtype</th><th>missing</th><th>missing %</th></tr>{columns}</table></div>"
        f"<div><h2>Class balance</h2><table><tr><th>label</th><th>rows</th><th>share</th></tr>{balance}</table></div></div>"
    )
