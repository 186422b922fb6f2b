"""Batch prediction's report: the schema check, the drift table and, with true labels, the training report's content."""

from __future__ import annotations

import logging
from html import escape
from pathlib import Path
from typing import NamedTuple

import numpy as np

from flyte.core.data.dataset import DataProfile
from flyte.core.artifact.drift import DriftSummary, FeatureDrift
from flyte.core.evaluation.evaluate import score_tables
from flyte.core.batch.intake import CheckSummary
from flyte.core.common.html import STYLE as PAGE_STYLE, page, section, svg_open
from flyte.core.evaluation.report import report_sections
from flyte.core.artifact.schema import ModelSchema
from flyte.core.evaluation.score import Metrics
from flyte.core.data.tables import iter_batches, schema as table_schema
from flyte.core.data.target import TargetAccumulator, TargetDistribution, bin_of
from flyte.core.evaluation.predict import PREDICTION_COLUMN
from flyte.core.evaluation.regression_report import regression_sections, target_distribution_html
from flyte.core.evaluation.score_stream import score_regression_streamed

log = logging.getLogger(__name__)

STYLE = """
.mr tr.flag td{background:#fef2f2} .mr tr.flag td:first-child{box-shadow:inset 3px 0 #dc2626}
.mr .badge{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:600}
.mr .badge.bad{background:#fee2e2;color:#991b1b} .mr .badge.ok{background:#dcfce7;color:#166534}
.mr td.bars{text-align:left}
"""
REF, NEW = "#9ca3af", "#2563eb"


class BatchReport(NamedTuple):
    metrics: Metrics | None
    report_html: str


def report_batch(
    table: Path, predictions: Path, schema: ModelSchema, checks: CheckSummary, drift: DriftSummary, source: str = "",
    training_split: dict | None = None,
) -> BatchReport:
    """The batch's HTML report and, when the rows carry true labels, its Metrics (as training's score computes them).

    ``table`` is the checked table (its target column holds the labels), ``predictions`` the predictions for the
    same rows in the same order. Holds a few bytes a row (codes and probabilities), as training's score does.
    ``training_split``: the model manifest's ``split``; for a regression model its training rows per target bin are
    what the predictions' distribution is compared with.
    """
    metrics = None
    parts = [
        "<h1>Batch prediction report</h1>",
        f'<div class="sub">{checks.rows} rows{" from " + escape(source) if source else ""} · model target '
        f"<b>{escape(schema.target)}</b> · {'regression' if schema.regression else f'{len(schema.labels)} classes'} · "
        f"{'scored against true labels' if checks.has_target else 'no true labels: predictions only'}</div>",
        _drift_badge(drift),
        section("Schema check", _checks_html(checks, schema)),
        section("Drift against the training rows", _drift_html(drift)),
    ]
    if schema.regression:
        split = training_split or {}
        edges = (split.get("target_distributions") or {}).get("train", {}).get("bin_edges", [])
        predicted, shift = prediction_drift(predictions, split.get("target_bins", {}), edges)
        body = target_distribution_html(predicted).replace("Target distribution", "Predicted values") + shift
        parts.append(section("Distribution of the predictions", body))
        log.info("batch predictions: %s", predicted)
    if checks.has_target and schema.regression:
        metrics, binned = score_regression_streamed(table, predictions, schema, predicted.bin_edges)
        profile = _profile(table, schema, checks)
        parts += ["<h2>Scored against the true targets</h2>", *regression_sections(metrics.regression, binned, schema.feature_importance, profile)]
    elif checks.has_target:
        metrics, curves = score_tables(table, predictions, schema)
        profile = _profile(table, schema, checks)
        parts += ["<h2>Scored against the true labels</h2>", *report_sections(metrics, curves, schema.feature_importance, profile)]
    log.info("batch report: %d rows, drift flagged %s, metrics %s", checks.rows, drift.flagged, "yes" if metrics else "no")
    return BatchReport(metrics=metrics, report_html=page("Batch prediction report", parts, PAGE_STYLE + STYLE))


def _drift_badge(drift: DriftSummary) -> str:
    if drift.flagged:
        names = ", ".join(escape(n) for n in drift.flagged)
        return f'<p><span class="badge bad">drift</span> PSI above {drift.threshold:g}, and significant, for: {names}</p>'
    if drift.rows < drift.min_rows:
        return (f'<p><span class="badge ok">no drift flagged</span> {drift.rows} rows are too few to judge drift '
                f"(at least {drift.min_rows} are needed)</p>")
    return (f'<p><span class="badge ok">no drift flagged</span> no feature has both a PSI above {drift.threshold:g} and '
            "counts too far from training to be chance</p>")


def _checks_html(checks: CheckSummary, schema: ModelSchema) -> str:
    extra = ", ".join(escape(c) for c in checks.extra_columns) or '<span class="mute">none</span>'
    rows = max(checks.rows, 1)
    lines = []
    for feature in schema.features:
        missing = checks.missing.get(feature, 0)
        unseen = checks.unseen_categories.get(feature)
        examples = ", ".join(escape(v) for v in checks.unseen_examples.get(feature, []))
        kind = "categorical" if feature in schema.categories else "numeric"
        unseen_cell = "" if unseen is None else (f"{unseen} ({100 * unseen / rows:.1f}%)" if unseen else '<span class="mute">0</span>')
        lines.append(
            f"<tr><td>{escape(feature)}</td><td class=\"role\">{kind}</td><td>{missing} ({100 * missing / rows:.1f}%)</td>"
            f"<td>{unseen_cell}</td><td class=\"role\">{examples}</td></tr>"
        )
    return (
        f'<p class="cap">Every feature the model was trained on is present. Extra columns (ignored): {extra}. '
        "Categories unseen in training are scored as missing values, as XGBoost routes missing values.</p>"
        "<table><tr><th>feature</th><th style='text-align:left'>kind</th><th>missing</th><th>unseen categories</th>"
        f"<th style='text-align:left'>unseen, e.g.</th></tr>{''.join(lines)}</table>"
    )


def _drift_html(drift: DriftSummary) -> str:
    rows = "".join(_drift_row(d) for d in drift.features)
    return (
        f'<p class="cap">Population stability index (PSI) of each feature\'s binned distribution in these {drift.rows} rows '
        f"against the {drift.reference_rows} training rows (deciles for numbers, categories for categories, plus a missing "
        f"bin). Rule of thumb: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a significant shift. Flagged "
        f"(red) past {drift.threshold:g} when a chi-square test also finds the counts unlikely for rows drawn from the training "
        f"distribution (p below {drift.alpha:g} / {max(len(drift.features), 1)} features), and only from {drift.min_rows} rows: "
        "at small n PSI alone is mostly noise.</p>"
        "<table><tr><th>feature</th><th style='text-align:left'>kind</th><th>PSI</th><th>p</th>"
        f"<th style='text-align:left'>bins: training <span style='color:{REF}'>■</span> vs new <span style='color:{NEW}'>■</span></th></tr>"
        f"{rows}</table>"
    )


def _drift_row(d: FeatureDrift) -> str:
    mark = ' class="flag"' if d.flagged else ""
    flag = ' <span class="badge bad">flagged</span>' if d.flagged else ""
    return (
        f"<tr{mark}><td>{escape(d.feature)}</td><td class=\"role\">{escape(d.kind)}</td><td>{d.psi:.3f}{flag}</td><td>{d.p_value:.2g}</td>"
        f'<td class="bars">{_bars(d)}</td></tr>'
    )


def _bars(d: FeatureDrift, limit: int = 14) -> str:
    """Paired bars per bin (training grey, new blue), as a small inline SVG; the bins beyond ``limit`` are summed."""
    bins, ref, new = list(d.bins), list(d.reference_share), list(d.batch_share)
    if len(bins) > limit:
        bins = bins[: limit - 1] + ["other"]
        ref = ref[: limit - 1] + [sum(ref[limit - 1 :])]
        new = new[: limit - 1] + [sum(new[limit - 1 :])]
    w, h, gap = 9, 28, 3
    parts = [svg_open(len(bins) * (2 * w + gap), h, f"bins of {d.feature}")]
    peak = max(ref + new + [1e-9])
    for i, (name, r, n) in enumerate(zip(bins, ref, new)):
        x = i * (2 * w + gap)
        for j, (share, color) in enumerate(((r, REF), (n, NEW))):
            height = max(0.5, (h - 2) * share / peak)
            parts.append(f'<rect x="{x + j * w}" y="{h - height:.1f}" width="{w - 1}" height="{height:.1f}" fill="{color}">'
                         f"<title>{escape(str(name))}: training {100 * r:.1f}%, new {100 * n:.1f}%</title></rect>")  # fmt: skip
    return "".join(parts) + "</svg>"


def prediction_drift(predictions: Path, training_bins: dict[str, list[int]], edges: list[float]) -> tuple[TargetDistribution, str]:
    """The distribution of a regression model's ``prediction`` column, read batch by batch, and (when the manifest
    recorded the training target's quantile bins: their rows per part, and ``edges``) a table of the predictions' share per bin against the training
    target's, with their PSI: predictions that pile into a few bins show a shift in the rows or a model that has
    lost its spread."""
    acc = TargetAccumulator()
    names = list(training_bins)
    counts = np.zeros(len(names), dtype=np.int64)
    for batch in iter_batches(predictions, columns=[PREDICTION_COLUMN]):
        values = batch.column(0).to_numpy(zero_copy_only=False)
        acc.add(values)
        if names:
            counts += np.bincount(bin_of(values, edges), minlength=len(names))
    found = acc.finish()
    if not names or len(edges) != len(names) - 1:
        return found, ""
    train = np.array([row[0] for row in training_bins.values()], dtype=np.float64)
    ours, theirs = counts / max(counts.sum(), 1), train / max(train.sum(), 1)
    eps = 1e-4  # an empty bin on either side would make the PSI infinite
    psi = float(np.sum((ours - theirs) * np.log((ours + eps) / (theirs + eps))))
    rows = "".join(f"<tr><td>{escape(n)}</td><td>{100 * t:.1f}%</td><td>{100 * o:.1f}%</td></tr>" for n, t, o in zip(names, theirs, ours))
    table = ("<h3>Predictions per quantile bin of the training target</h3><table><tr><th>bin</th><th>training target</th>"
             f"<th>predictions</th></tr>{rows}</table><p class='cap'>PSI of the predictions against the training target: "
             f"{psi:.3f} (a model's predictions are narrower than its target, so some gap is expected; compare runs)</p>")  # fmt: skip
    return found, table


def _profile(table: Path, schema: ModelSchema, checks: CheckSummary) -> DataProfile:
    """The new rows' profile for the training report's "Data profile" section, from what the check counted."""
    # Features and the target only: passthrough columns are copied, not checked, so their missing values are not counted.
    columns = [f for f in table_schema(table) if f.name in schema.features or f.name == schema.target]
    return DataProfile(
        rows=checks.rows, columns=len(columns), target=schema.target, feature_columns=list(schema.features),
        categorical_columns=list(schema.categories), dtypes={f.name: str(f.type) for f in columns},
        missing={schema.target: 0, **checks.missing}, class_counts=dict(checks.class_counts),
        labels=list(schema.label_texts), label_kind=schema.label_kind, problem_type=schema.problem_type,
    )  # fmt: skip
