"""The model report: one self-contained HTML page (inline SVG, no scripts, no network) for people."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from flyte.core.common.html import INK, MUTED, PALETTE, clip, meter, page, section, svg_empty, svg_open, svg_text, text_width
from flyte.core.evaluation.score import Metrics, RocCurve

if TYPE_CHECKING:  # only read for its fields: rendering needs neither ingest's code nor its pandas/pyarrow imports
    from flyte.core.data.dataset import DataProfile


DASHES = ("", "6 3", "2 3", "8 3 2 3")  # cycled once the palette runs out, so no two curves look alike

def render_report(metrics: Metrics, curves: list[RocCurve], importance: dict[str, float], profile: DataProfile) -> str:
    """The full HTML page: headline metrics, confusion matrix, ROC curve, feature importance, data profile.

    ``curves`` are score.roc_curves for the same rows as ``metrics``; ``importance`` is feature name to total gain.
    The page's size does not grow with the row count: the curves arrive thinned to a few hundred points.
    """
    classes = len(metrics.labels)
    body = [
        "<h1>Model report</h1>",
        f'<div class="sub">target <b>{escape(profile.target)}</b> · {classes} classes · {metrics.rows} held-out rows · '
        f"data sha256 {escape(profile.sha256[:12])}</div>",
        *report_sections(metrics, curves, importance, profile),
    ]
    return page("Model report", body)


def report_sections(metrics: Metrics, curves: list[RocCurve], importance: dict[str, float], profile: DataProfile) -> list[str]:
    """The report's content below its title: metrics, confusion matrix, ROC curve, importance, data profile."""
    return [
        _metric_cards(metrics),
        '<div class="grid">',
        section("Confusion matrix", _confusion_svg(metrics)),
        section("ROC curve", _roc_figure(metrics, curves)),
        "</div>",
        section("Feature importance (total gain)", importance_svg(importance)),
        section("Data profile", profile_tables(profile)),
    ]


def _metric_cards(m: Metrics) -> str:
    suffix = f" (class {m.labels[-1]})" if m.average == "binary" and m.labels else " (macro)"
    items = [
        ("accuracy", m.accuracy, "share of held-out rows predicted correctly"),
        ("balanced accuracy", m.balanced_accuracy, "mean recall over classes; 1 / classes is chance"),
        ("ROC AUC" + ("" if m.average == "binary" else " (OvR macro)"), m.roc_auc, "0.5 is chance, 1 is perfect ranking"),
        ("log loss", m.log_loss, "lower is better"),
        ("precision" + suffix, m.precision, "of the rows predicted as a class, the share that were"),
        ("recall" + suffix, m.recall, "of the rows of a class, the share found"),
        ("F1" + suffix, m.f1, "harmonic mean of precision and recall"),
    ]
    cards = "".join(
        f'<div class="card" title="{escape(hint)}"><div class="v">{v:.3f}</div><div class="k">{escape(k)}</div></div>'
        for k, v, hint in items
    )
    return f'<div class="cards">{cards}</div>'


def _confusion_svg(m: Metrics) -> str:
    n = len(m.labels)
    if not n:
        return svg_empty("confusion matrix", "No predictions to tabulate.")
    limit = 18  # characters of a class name shown on an axis
    shown = [clip(str(label), limit) for label in m.labels]
    widest = max(text_width(s, 11) for s in shown)
    cell = max(40, min(76, 320 // n))
    # Column labels sit level when they fit over their cell, otherwise they rise at 45 degrees to the right.
    slant = widest > cell - 6
    col_h = widest * 0.71 + 10 if slant else 16
    left = 26 + widest + 8
    top = 22 + col_h
    right = max(6.0, widest * 0.71 - cell / 2 + 10) if slant else 6.0
    size_w, size_h = left + n * cell + right, top + n * cell + 6
    parts = [svg_open(size_w, size_h, "confusion matrix")]
    parts.append(f'<text x="{left + n * cell / 2:.1f}" y="14" text-anchor="middle" font-size="12" font-weight="600" fill="#374151">predicted</text>')
    mid = top + n * cell / 2
    parts.append(
        f'<text x="14" y="{mid:.1f}" font-size="12" font-weight="600" fill="#374151" '
        f'transform="rotate(-90 14 {mid:.1f})" text-anchor="middle">true</text>'
    )
    for j, label in enumerate(m.labels):
        cx = left + j * cell + cell / 2
        if slant:
            attrs = f'font-size="11" transform="rotate(-45 {cx - 3:.1f} {top - 6:.1f})"'
            parts.append(svg_text(cx - 3, top - 6, str(label), limit, attrs))
        else:
            parts.append(svg_text(cx, top - 6, str(label), limit, 'text-anchor="middle" font-size="11"'))
    count_size = 14 if cell >= 60 else 12
    for i, row in enumerate(m.confusion_matrix):
        y = top + i * cell
        support = sum(row) or 1
        parts.append(svg_text(left - 8, y + cell / 2 + 4, str(m.labels[i]), limit, 'text-anchor="end" font-size="11"'))
        for j, count in enumerate(row):
            share = count / support
            x = left + j * cell
            rgb = "37,99,235" if i == j else "220,38,38"  # blue where right, red where wrong
            alpha = 0.07 + 0.83 * share if count else 0.0
            fill = f"rgba({rgb},{alpha:.2f})" if count else "#f9fafb"
            ink = "#ffffff" if alpha > 0.5 else INK
            sub_ink = "#ffffff" if alpha > 0.5 else MUTED
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell - 3}" height="{cell - 3}" fill="{fill}" rx="3">'
                         f"<title>true {escape(str(m.labels[i]))}, predicted {escape(str(m.labels[j]))}: {count} ({100 * share:.1f}% of the row)</title></rect>")
            cx, cy = x + (cell - 3) / 2, y + (cell - 3) / 2
            if cell >= 54:
                parts.append(f'<text x="{cx:.1f}" y="{cy + 1:.1f}" text-anchor="middle" font-size="{count_size}" font-weight="600" fill="{ink}">{count}</text>')
                parts.append(f'<text x="{cx:.1f}" y="{cy + 15:.1f}" text-anchor="middle" font-size="10" fill="{sub_ink}">{100 * share:.0f}%</text>')
            else:
                parts.append(f'<text x="{cx:.1f}" y="{cy + 4:.1f}" text-anchor="middle" font-size="{count_size}" fill="{ink}">{count}</text>')
    parts.append("</svg>")
    detail = "count and share of the true class's rows; " if cell >= 54 else "count; "
    caption = (
        f'<p class="cap" style="max-width:{max(round(size_w), 260)}px">Rows = true class, columns = predicted class. '
        f"Each cell: {detail}blue on the diagonal is right, red off it is wrong, darker = a bigger share of the row.</p>"
    )
    return "".join(parts) + caption


def _roc_figure(m: Metrics, curves: list[RocCurve]) -> str:
    side, left, top, bottom = 260, 46, 10, 42
    w, h = left + side + 14, top + side + bottom

    def px(fpr: float, tpr: float) -> str:
        return f"{left + fpr * side:.1f},{top + (1 - tpr) * side:.1f}"

    parts = [svg_open(w, h, "ROC curve")]
    parts.append(f'<rect x="{left}" y="{top}" width="{side}" height="{side}" fill="#ffffff" stroke="#d1d5db"/>')
    for k in (0.25, 0.5, 0.75):
        parts.append(f'<line x1="{left + k * side:.1f}" y1="{top}" x2="{left + k * side:.1f}" y2="{top + side}" stroke="#f3f4f6"/>')
        parts.append(f'<line x1="{left}" y1="{top + k * side:.1f}" x2="{left + side}" y2="{top + k * side:.1f}" stroke="#f3f4f6"/>')
    parts.append(f'<polyline points="{px(0, 0)} {px(1, 1)}" fill="none" stroke="#9ca3af" stroke-dasharray="4 4"/>')
    cx, cy = left + 0.78 * side, top + (1 - 0.72) * side
    parts.append(f'<text x="{cx:.1f}" y="{cy:.1f}" font-size="10" fill="#9ca3af" text-anchor="middle" transform="rotate(-45 {cx:.1f} {cy:.1f})">chance</text>')
    for k in (0, 0.5, 1):
        parts.append(f'<text x="{left + k * side:.1f}" y="{top + side + 15}" text-anchor="middle" font-size="10" fill="{MUTED}">{k:g}</text>')
        parts.append(f'<text x="{left - 6}" y="{top + (1 - k) * side + 4:.1f}" text-anchor="end" font-size="10" fill="{MUTED}">{k:g}</text>')
    parts.append(f'<text x="{left + side / 2:.1f}" y="{h - 6}" text-anchor="middle" font-size="11" fill="#374151">false positive rate</text>')
    parts.append(f'<text x="14" y="{top + side / 2:.1f}" font-size="11" fill="#374151" transform="rotate(-90 14 {top + side / 2:.1f})" text-anchor="middle">true positive rate</text>')
    # Two classes: one curve for the positive (last) label. More: one-vs-rest per class. A class whose held-out rows
    # are all or none of the rows has no curve (score.roc_curves leaves it out); the caption names it.
    binary = m.average == "binary"
    drawn = {c.label for c in curves}
    expected = m.labels[-1:] if binary else m.labels
    skipped = [label for label in expected if label not in drawn]
    legend = []
    for n, curve in enumerate(curves):
        label = curve.label
        color = PALETTE[n % len(PALETTE)]
        dash = DASHES[(n // len(PALETTE)) % len(DASHES)]
        # Neighbouring points that land on the same tenth of a pixel draw nothing: leave them out of the page.
        pixels = [px(a, b) for a, b in zip(curve.fpr, curve.tpr)]
        points = " ".join(p for i, p in enumerate(pixels) if i == 0 or p != pixels[i - 1])
        if binary:  # shade the area under the curve: its size is the AUC
            parts.append(f'<polygon points="{points} {px(1, 0)}" fill="{color}" fill-opacity="0.08" stroke="none"/>')
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round"{dash_attr}/>')
        name = f"class {label}" if binary else f"{label} vs rest"
        style = f"border-top-color:{color}" + (";border-top-style:dashed" if dash else "")
        legend.append(f'<li><span class="sw" style="{style}"></span><span>{escape(name)}</span><b>AUC {curve.auc:.3f}</b></li>')
    parts.append("</svg>")
    if binary:
        positive = m.labels[-1] if m.labels else (curves[0].label if curves else "")
        caption = f"AUC {m.roc_auc:.3f}, with class {escape(positive)} as the positive class (the shaded area)."
    else:
        caption = f"Macro one-vs-rest AUC {m.roc_auc:.3f}: the mean of the per-class AUCs."
    caption += " 0.5 is chance (dashed line), 1 is a perfect ranking."
    if skipped:
        caption += " No curve for " + ", ".join(escape(s) for s in skipped) + ": the held-out rows are all or none of it."
    legend_html = f'<ul class="legend">{"".join(legend)}</ul>' if legend and not binary else ""
    return f'<div class="fig"><div>{"".join(parts)}<p class="cap" style="max-width:{w}px">{caption}</p></div>{legend_html}</div>'


def importance_svg(importance: dict[str, float], top: int = 20) -> str:
    items = sorted(importance.items(), key=lambda kv: kv[1], reverse=True)[:top]
    if not items:
        return svg_empty("feature importance", "No features.")
    peak = items[0][1] or 1.0
    total = sum(importance.values()) or 1.0
    limit = 36
    row, bar_w, pct_w = 22, 420, 52
    label_w = min(max(max(text_width(clip(str(name), limit), 12) for name, _ in items) + 14, 60), 300)
    parts = [svg_open(label_w + bar_w + pct_w, row * len(items) + 4, "feature importance")]
    for i, (name, value) in enumerate(items):
        y = i * row + 2
        length = max(1.0, bar_w * value / peak)
        parts.append(svg_text(label_w - 8, y + 14, str(name), limit, 'text-anchor="end" font-size="12"'))
        parts.append(f'<rect x="{label_w:.1f}" y="{y}" width="{bar_w}" height="{row - 6}" fill="#f3f4f6" rx="2"/>')
        parts.append(
            f'<rect x="{label_w:.1f}" y="{y}" width="{length:.1f}" height="{row - 6}" fill="#2563eb" rx="2">'
            f"<title>{escape(str(name))}: total gain {value:.4g}</title></rect>"
        )
        parts.append(f'<text x="{label_w + bar_w + 6:.1f}" y="{y + 13}" font-size="11" fill="#374151">{100 * value / total:.1f}%</text>')
    parts.append("</svg>")
    # The model lists every feature; one it never split on has zero gain.
    unused = [name for name, value in importance.items() if value <= 0]
    used = len(importance) - len(unused)
    notes = [f"Each feature's share of the total gain of all splits in the model ({used} features used)."]
    if len(importance) > top:
        notes.append(f"Showing the top {top}.")
    if unused and used:
        notes.append("Never split on: " + ", ".join(escape(clip(str(f), limit)) for f in unused[:12]) + (" …" if len(unused) > 12 else "") + ".")
    return "".join(parts) + f'<p class="cap" style="max-width:{round(label_w + bar_w + pct_w)}px">{" ".join(notes)}</p>'


#: The most columns the data profile's table lists; a wide table's others are counted in one line. Part of the
#: score and publish stages' code, so of their cache versions.
COLUMNS_SHOWN = 100


def shown_columns(p: DataProfile, most: int = COLUMNS_SHOWN) -> list[str]:
    """The columns a page lists out of a profile: all of them up to ``most``, else the target, then the columns
    with the most missing values, then the rest in table order, ``most`` in all."""
    if len(p.dtypes) <= most:
        return list(p.dtypes)
    order = {c: i for i, c in enumerate(p.dtypes)}
    ranked = sorted((c for c in p.dtypes if c != p.target), key=lambda c: (-p.missing.get(c, 0), order[c]))
    return ([p.target] if p.target in order else []) + ranked[: most - (p.target in order)]


def profile_tables(p: DataProfile, most: int = COLUMNS_SHOWN) -> str:
    summary = (
        f"<table><tr><th>rows</th><th>columns</th><th>features</th><th>categorical</th></tr>"
        f"<tr><td>{p.rows}</td><td>{p.columns}</td><td>{len(p.feature_columns)}</td><td>{len(p.categorical_columns)}</td></tr></table>"
    )
    rows = max(p.rows, 1)
    categorical, features = set(p.categorical_columns), set(p.feature_columns)  # sets: linear in a wide table

    def role(c: str) -> str:
        if c == p.target:
            return "target"
        if c in categorical:
            return "categorical"
        return "feature" if c in features else "not used"

    def column_row(c: str) -> str:
        missing = p.missing.get(c, 0)
        share = f"{100 * missing / rows:.1f}%"
        cell = f"{meter(missing / rows, '#f59e0b')}{share}" if missing else f'<span class="mute">{share}</span>'
        name = f"<b>{escape(c)}</b>" if c == p.target else escape(c)
        return (
            f"<tr><td>{name}</td><td class=\"role\">{role(c)}</td><td>{escape(p.dtypes.get(c, ''))}</td>"
            f"<td>{missing if missing else '<span class=mute>0</span>'}</td><td>{cell}</td></tr>"
        )

    shown = shown_columns(p, most)
    columns = "".join(column_row(c) for c in shown)
    if len(shown) < len(p.dtypes):
        columns += (
            f"<tr><td colspan=5 class=mute>{len(p.dtypes) - len(shown)} more columns not listed (the first {most} are: "
            "the target, then those with the most missing values, then the rest in table order)</td></tr>"
        )
    balance = "".join(
        f"<tr><td>{escape(k)}</td><td>{v}</td><td>{meter(v / rows, PALETTE[0])}{100 * v / rows:.1f}%</td></tr>"
        for k, v in p.class_counts.items()
    )
    side = f"<div><h3>Class balance</h3><table><tr><th>label</th><th>rows</th><th>share</th></tr>{balance}</table></div>"
    if p.target_distribution is not None:  # a regression target: its distribution instead of classes

        side = target_distribution_html(p.target_distribution)
    return (
        f"{summary}<div class='grid'><div><h3>Columns</h3><table><tr><th>column</th><th style='text-align:left'>role</th><th>dtype</th>"
        f"<th>missing</th><th>missing %</th></tr>{columns}</table></div>{side}</div>"
    )


def target_distribution_html(d: "TargetDistribution") -> str:  # noqa: F821  (typing only)
    """The target's distribution as the profile records it: a table of its quantiles, mean and spread."""
    cells = [("min", d.min), ("5%", d.q05), ("25%", d.q25), ("median", d.median), ("75%", d.q75), ("95%", d.q95),
             ("max", d.max), ("mean", d.mean), ("std", d.std)]  # fmt: skip
    head = "".join(f"<th>{k}</th>" for k, _ in cells)
    values = "".join(f"<td>{v:.4g}</td>" for _, v in cells)
    zeros = f"{d.zeros} zero, {d.negatives} negative of {d.rows} rows"
    return f"<div><h3>Target distribution</h3><table><tr>{head}</tr><tr>{values}</tr></table><p class='cap'>{zeros}</p></div>"
