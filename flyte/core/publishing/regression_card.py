"""The model card of a regression model: same page as a classifier's, with regression's metrics, errors and split."""

from __future__ import annotations

from html import escape
from typing import Sequence

from flyte.core.artifact.manifest import Manifest
from flyte.core.data.dataset import DataProfile
from flyte.core.data.leakage import LeakCheck
from flyte.core.evaluation.regression_metrics import BinnedErrors, RegressionMetrics
from flyte.core.evaluation.regression_report import Figure, binned_table
from flyte.core.evaluation.report import importance_svg, profile_tables, section
from flyte.core.evaluation.score import Metrics
from flyte.core.publishing.model_card import (
    CARD_STYLE,
    _provenance_table,
    fill_template,
    leakage_table,
    render_template,
)

#: A metric's interval on the card: (low, high) at ``level``; the card shows none for a metric without one.
MetricIntervals = dict[str, tuple[float, float]]


def render_regression_card(
    template: str, manifest: Manifest, profile: DataProfile, metrics: Metrics, binned: BinnedErrors | None,
    importance: dict[str, float], leakage: LeakCheck | None = None, intervals: MetricIntervals | None = None,
    level: float = 0.95, figures: Sequence[Figure] = (), method: str = "",
) -> str:  # fmt: skip
    """The card's HTML for a regression model. ``intervals``: each metric's (``rmse``, ``mae``, ``r2``) interval at
    ``level``, when computed, and ``method`` how they were made; ``figures``: the residual plots as (title, svg)
    pairs, in place of a classifier's calibration curve."""
    source = str(manifest.dataset.get("source", ""))
    m = metrics.regression
    objective = manifest.objective or "unknown"
    body = [
        "<h1>Model card</h1>",
        f'<div class="sub">predicts <b>{escape(profile.target)}</b> from {len(profile.feature_columns)} features · '
        f"regression ({escape(objective)}) · trained on {escape(source)} (sha256 {escape(profile.sha256[:12])})</div>",
        section("Intended use and limitations", f'<div class="use">{render_template(fill_template(template, profile, source))}</div>'),
        section("Test metrics" + (f", with {100 * level:g}% intervals" if intervals else ""), metrics_table(m, intervals or {})
                + (f'<p class="cap">Intervals: {escape(method)}.</p>' if intervals and method else "")),
        *(section(title, svg) for title, svg in figures),
    ]
    if binned is not None:
        body.append(section("Predicted against actual, per quantile bin of the true target", binned_table(binned)))
    body += [
        section("Feature importance (total gain)", importance_svg(importance)),
        section("Leakage check", leakage_table(leakage, profile)),
        section("Data profile", profile_tables(profile)),
        section("Split", split_table(manifest.split)),
        section("Provenance", _provenance_table(manifest)),
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Model card</title>"
        f"<style>{CARD_STYLE}</style></head><body><div class=\"mr\">{''.join(body)}</div></body></html>"
    )


def metrics_table(m: RegressionMetrics, intervals: MetricIntervals) -> str:
    """Each regression metric, its value and (when computed) its interval."""
    rows = [("rmse", "RMSE", m.rmse), ("mae", "MAE", m.mae), ("r2", "R²", m.r2), ("median_ae", "median absolute error", m.median_ae),
            ("mean_error", "mean error (prediction - actual)", m.mean_error)]  # fmt: skip

    def interval(key: str) -> str:
        low_high = intervals.get(key)
        return f"<span class='ci'>[{low_high[0]:.4g}, {low_high[1]:.4g}]</span>" if low_high else ""

    cells = "".join(f"<tr><td>{escape(name)}</td><td>{value:.4g}</td><td>{interval(key)}</td></tr>" for key, name, value in rows)
    mape = f"{100 * m.mape:.2f}%" if m.mape is not None else escape(m.mape_note)
    cells += f"<tr><td>MAPE</td><td>{mape}</td><td></td></tr><tr><td>rows</td><td>{m.rows}</td><td></td></tr>"
    return f"<table><tr><th>metric</th><th>value</th><th>interval</th></tr>{cells}</table>"


def split_table(split: dict) -> str:
    """The split's rule, each part's rows per quantile bin of the target, and each part's target distribution."""
    rule = split.get("rule") or {}
    if not rule.get("method"):
        return '<p class="cap">No split rule recorded: the gate treats every row as one this model may have seen.</p>'
    key = rule.get("key_column") or ""
    how = (f"{rule['method']} v{rule.get('hash_version')}, seed {rule.get('seed')}, test_ratio {rule.get('test_ratio')}, "
           f"validation_ratio {rule.get('validation_ratio')}, hashing " + (f"key column {key!r}" if key else "every column of the row"))  # fmt: skip
    bins = "".join(
        f"<tr><td>{escape(str(name))}</td>" + "".join(f"<td>{n}</td>" for n in counts) + "</tr>"
        for name, counts in split.get("target_bins", {}).items()
    )
    parts = split.get("target_distributions", {})
    dist = "".join(
        f"<tr><td>{escape(part)}</td>" + "".join(f"<td>{float(d.get(k, 0)):.4g}</td>" for k in ("min", "q25", "median", "q75", "max", "mean"))
        + f"<td>{d.get('rows', 0)}</td></tr>"
        for part, d in parts.items()
    )  # fmt: skip
    note = ("Each row's part is decided by a seeded hash of the row, so the parts are balanced over the target's quantile "
            "bins in expectation; these are the realised rows and target distributions per part.")  # fmt: skip
    return (
        f"<p>{escape(how)}</p><table><tr><th>target bin</th><th>train</th><th>validation</th><th>test</th></tr>{bins}</table>"
        "<table><tr><th>part</th><th>min</th><th>25%</th><th>median</th><th>75%</th><th>max</th><th>mean</th><th>rows</th></tr>"
        f"{dist}</table><p class=\"cap\">{escape(note)}</p>"
    )
