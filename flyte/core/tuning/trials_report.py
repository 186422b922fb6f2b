"""The search's Deck: every trial's cross-validation score in a table, and the score against each hyperparameter."""

# The report family's page (common/html.py: scoped .mr CSS, inline SVG with a viewBox so it shrinks to a ~620 px Deck,
# no scripts, every text escaped). Six small charts in a wrapping grid, each 280 px wide: two per Deck row.

from __future__ import annotations

import math
from html import escape

from flyte.core.common.html import GRID, MUTED, page, svg_open
from flyte.core.tuning.search import TUNABLE, SearchSpace, TrialResult

BEST, OTHER = "#dc2626", "#2563eb"
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 280, 190, 52, 12, 12, 38


def render_trials(results: list[TrialResult], best: TrialResult, space: SearchSpace) -> str:
    """The HTML page: the best configuration, a chart per hyperparameter, and the table of trials (best first)."""
    ranked = sorted(results, key=lambda r: (r.mean_log_loss, r.index))
    charts = "".join(f"<div>{_chart(results, best, space, name)}</div>" for name in TUNABLE)
    metric = "log loss" if best.metric in ("logloss", "mlogloss") else best.metric  # a regression's own metric
    body = [
        "<h1>Hyperparameter search</h1>",
        f'<div class="sub">{len(results)} trials · {space.folds}-fold stratified cross-validation on the train and '
        f"validation rows · seed {space.seed} · best trial <b>{best.index}</b>: mean {escape(metric)} "
        f"{best.mean_log_loss:.4f} ± {best.std_log_loss:.4f} (std over folds)</div>",
        f"<h2>Mean CV {escape(metric)} against each hyperparameter</h2>",
        f'<div class="fig">{charts}</div>',
        '<p class="cap">Each dot is a trial; the red one is the best. Lower is better. Log-scale axes where the '
        "search samples in log scale.</p>",
        "<h2>Trials</h2>",
        _table(ranked, best),
    ]
    return page("Hyperparameter search", body)


def _table(ranked: list[TrialResult], best: TrialResult) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in ("trial", "mean log loss", "std", "accuracy", "ROC AUC", "rounds", *TUNABLE))
    rows = []
    for r in ranked:
        hp = r.hyperparameters
        cells = [
            f"{r.index}{' ★' if r.index == best.index else ''}",
            f"{r.mean_log_loss:.4f}",
            f"{r.std_log_loss:.4f}",
            _mean(r.fold_accuracy, "{:.3f}"),
            _mean(r.fold_roc_auc, "{:.3f}"),
            _mean(r.rounds, "{:.0f}"),
            *(_number(getattr(hp, name)) for name in TUNABLE),
        ]
        style = ' style="font-weight:600"' if r.index == best.index else ""
        rows.append(f"<tr{style}>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return f'<div style="overflow-x:auto"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _chart(results: list[TrialResult], best: TrialResult, space: SearchSpace, name: str) -> str:
    dimension = getattr(space, name)
    log_x = dimension.log and not dimension.choices
    xs = [float(getattr(r.hyperparameters, name)) for r in results]
    ys = [r.mean_log_loss for r in results]
    fx = _scale([*xs, *dimension.bounds()], LEFT, WIDTH - RIGHT, log_x)
    fy = _scale(ys, HEIGHT - BOTTOM, TOP, False)
    out = [svg_open(WIDTH, HEIGHT, name)]
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" height="{HEIGHT - TOP - BOTTOM}" fill="none" stroke="{GRID}"/>')
    lo, hi = min(ys), max(ys)
    for value in (lo, hi) if hi > lo else (lo,):
        out.append(f'<text x="{LEFT - 4}" y="{fy(value) + 4:.1f}" text-anchor="end" font-size="10" fill="{MUTED}">{value:.3f}</text>')
    xlo, xhi = dimension.bounds()
    out.append(f'<text x="{LEFT}" y="{HEIGHT - BOTTOM + 13}" font-size="10" fill="{MUTED}">{escape(_number(xlo))}</text>')
    out.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - BOTTOM + 13}" text-anchor="end" font-size="10" fill="{MUTED}">{escape(_number(xhi))}</text>')
    label = name + (" (log scale)" if log_x else "")
    out.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle" font-size="11" fill="#374151">{escape(label)}</text>')
    for r, x, y in sorted(zip(results, xs, ys), key=lambda t: t[0].index == best.index):  # the best dot on top
        is_best = r.index == best.index
        out.append(
            f'<circle cx="{fx(x):.1f}" cy="{fy(y):.1f}" r="{5 if is_best else 3}" fill="{BEST if is_best else OTHER}" '
            f'fill-opacity="{1 if is_best else 0.6}"><title>trial {r.index}: {escape(_number(x))}, log loss {y:.4f}</title></circle>'
        )
    out.append("</svg>")
    return "".join(out)


def _scale(values: list[float], start: float, end: float, log: bool):
    """A function from data to pixels spanning ``values`` (padded 5%) onto [start, end]."""
    f = (lambda v: math.log(v)) if log else (lambda v: v)
    lo, hi = min(map(f, values)), max(map(f, values))
    pad = (hi - lo) * 0.05 or 0.5
    lo, hi = lo - pad, hi + pad
    return lambda v: start + (f(v) - lo) / (hi - lo) * (end - start)


def _mean(values: list[float], form: str) -> str:
    """The mean of the fold values, formatted; a dash when there are none."""
    return form.format(sum(values) / len(values)) if values else "—"


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value) == int(value) and abs(value) < 1e6 else f"{value:.3g}"
