"""The model report of a regression model: its metrics, errors per target bin, feature importance and the data."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Sequence

from flyte.core.evaluation.regression_metrics import BinnedErrors, RegressionMetrics
from flyte.core.evaluation.report import importance_svg, page, profile_tables, section, target_distribution_html  # noqa: F401  (the regression page's target table)
from flyte.core.evaluation.score import Metrics

if TYPE_CHECKING:
    from flyte.core.data.dataset import DataProfile
    from flyte.core.data.target import TargetDistribution

#: A figure of the report: its title and its self-contained SVG (or HTML) body.
Figure = tuple[str, str]


def render_regression_report(
    metrics: Metrics, binned: BinnedErrors | None, importance: dict[str, float], profile: DataProfile,
    figures: Sequence[Figure] = (),
) -> str:  # fmt: skip
    """The full HTML page of a regression model.

    ``figures``: the residual plots (predicted against actual, residual distribution, residuals against predicted),
    each a (title, svg) pair, drawn from the same rows as ``metrics``; shown in order after the metrics.
    """
    m = metrics.regression
    body = [
        "<h1>Model report</h1>",
        f'<div class="sub">target <b>{escape(profile.target)}</b> · regression · {m.rows} held-out rows · '
        f"data sha256 {escape(profile.sha256[:12])}</div>",
        *regression_sections(m, binned, importance, profile, figures),
    ]
    return page("Model report", body)


def regression_sections(
    m: RegressionMetrics, binned: BinnedErrors | None, importance: dict[str, float], profile: DataProfile,
    figures: Sequence[Figure] = (),
) -> list[str]:  # fmt: skip
    """The report's content below its title (the model card reuses it)."""
    parts = [metric_cards(m)]
    if figures:
        parts += ['<div class="grid">', *(section(title, svg) for title, svg in figures), "</div>"]
    if binned is not None:
        parts.append(section("Predicted against actual, per quantile bin of the true target", binned_table(binned)))
    parts += [
        section("Feature importance (total gain)", importance_svg(importance)),
        section("Data profile", profile_tables(profile)),
    ]
    return parts


def metric_cards(m: RegressionMetrics) -> str:
    mape = (f"{100 * m.mape:.1f}%", "MAPE") if m.mape is not None else ("—", "MAPE (not defined)")
    items = [
        (f"{m.rmse:.4g}", "RMSE", "root mean squared error, in the target's units"),
        (f"{m.mae:.4g}", "MAE", "mean absolute error, in the target's units"),
        (f"{m.r2:.3f}", "R²", "share of the target's variance explained: 1 perfect, 0 no better than the mean"),
        (f"{m.median_ae:.4g}", "median abs. error", "half the rows are predicted closer than this"),
        (mape[0], mape[1], m.mape_note or "mean absolute error as a share of the true value"),
        (f"{m.mean_error:+.4g}", "mean error (bias)", "mean of prediction - actual: above 0 over-predicts"),
    ]
    cards = "".join(
        f'<div class="card" title="{escape(hint)}"><div class="v">{escape(v)}</div><div class="k">{escape(k)}</div></div>'
        for v, k, hint in items
    )
    return f'<div class="cards">{cards}</div>'


def binned_table(b: BinnedErrors) -> str:
    """A table: each bin of the true target, its rows, mean actual and mean predicted (a well calibrated model
    tracks the actual mean; regression to the mean shows as predictions pulled toward the middle), RMSE."""
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{n}</td><td>{a:.4g}</td><td>{p:.4g}</td><td>{p - a:+.3g}</td><td>{e:.4g}</td></tr>"
        for name, n, a, p, e in zip(b.bins, b.rows, b.mean_actual, b.mean_predicted, b.rmse)
        if n
    )
    return (
        "<table><tr><th>true target</th><th>rows</th><th>mean actual</th><th>mean predicted</th><th>bias</th>"
        f"<th>RMSE</th></tr>{rows}</table>"
    )


