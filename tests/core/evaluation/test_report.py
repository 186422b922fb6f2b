"""Tests for flyte.core.evaluation.report: a self-contained page with every section, safe against odd names, small at any size."""

from __future__ import annotations

import re

import numpy as np

from flyte.core.data.ingest import DataProfile
from flyte.core.evaluation.report import render_report
from flyte.core.evaluation.score import Metrics, RocCurve, roc_curves, score_predictions


def roc_svg(html: str) -> str:
    return html.split('aria-label="ROC curve"')[1].split("</svg>")[0]


def sample():
    metrics = Metrics(
        accuracy=0.8125, balanced_accuracy=0.75, roc_auc=0.9, log_loss=0.4, precision=0.7, recall=0.6, f1=0.65,
        labels=["0", "1"], confusion_matrix=[[5, 1], [2, 8]], rows=16,
    )
    profile = DataProfile(
        sha256="ab" * 32, rows=100, columns=3, target="class",
        feature_columns=["glucose", "<script>alert(1)</script>"], dtypes={"glucose": "double", "class": "int64"},
        missing={"glucose": 4, "class": 0}, class_counts={"0": 60, "1": 40},
    )
    y = np.array([0, 1] * 8)
    p1 = np.linspace(0.1, 0.9, 16)
    curves = roc_curves(y, np.column_stack([1 - p1, p1]), [0, 1])
    importance = {"glucose": 30.0, "<script>alert(1)</script>": 10.0}
    return render_report(metrics, curves, importance, profile)


def test_report_has_every_section_and_the_numbers():
    html = sample()
    for heading in ("Confusion matrix", "ROC curve", "Feature importance", "Data profile", "Class balance"):
        assert heading in html
    assert "0.812" in html and "0.900" in html  # accuracy and AUC cards, three decimals
    assert html.count("<svg") == 3
    assert "75.0%" in html  # glucose's share of total gain
    assert "4.0%" in html  # glucose missing share
    assert "<td>double</td>" in html  # Arrow type names are shown as they come


def test_report_is_self_contained_and_escapes_names():
    html = sample()
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "http://" not in html and "https://" not in html  # renders with no network


def test_binary_curve_is_drawn_from_the_given_points_and_shaded():
    metrics = Metrics(labels=["no", "yes"], confusion_matrix=[[1, 0], [0, 1]], rows=2, roc_auc=0.75)
    curve = RocCurve(label="yes", fpr=[0.0, 0.5, 1.0], tpr=[0.0, 1.0, 1.0], auc=0.75)
    svg = roc_svg(render_report(metrics, [curve], {"x": 1.0}, DataProfile(target="t")))
    # Plot square: left 46, top 10, side 260; (0.5, 1.0) lands at x = 46 + 130, y = 10.
    assert 'points="46.0,270.0 176.0,10.0 306.0,10.0"' in svg
    assert "<polygon" in svg and svg.count('stroke-width="2"') == 1


def test_multiclass_report_draws_one_curve_per_class_with_its_auc():
    y = np.array([0, 0, 1, 1, 2, 2])
    proba = np.eye(3)[y] * 0.8 + 0.2 / 3
    labels = ["a", "b", "c"]
    metrics = score_predictions(y, proba, labels)
    html = render_report(metrics, roc_curves(y, proba, labels), {"x": 1.0}, DataProfile(target="t"))
    assert roc_svg(html).count('stroke-width="2"') == 3
    assert "(macro)" in html
    legend = html.split('<ul class="legend">')[1].split("</ul>")[0]
    assert [name for name in re.findall(r"<span>([^<]*) vs rest</span>", legend)] == labels
    assert legend.count("<b>AUC 1.000</b>") == 3


def test_a_class_without_a_curve_is_named_in_the_caption():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]])
    labels = ["a", "b", "<c>"]
    html = render_report(score_predictions(y, proba, labels), roc_curves(y, proba, labels), {}, DataProfile())
    assert roc_svg(html).count('stroke-width="2"') == 2
    assert "No curve for &lt;c&gt;: the held-out rows are all or none of it." in html
    assert "No features." in html  # empty importance keeps its placeholder


def test_report_for_200k_rows_stays_small():
    rng = np.random.default_rng(0)
    n, labels = 200_000, ["neg", "pos"]
    y = rng.integers(0, 2, n)
    p1 = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1)  # continuous scores: ~200k distinct thresholds
    proba = np.column_stack([1 - p1, p1])
    metrics = score_predictions(y, proba, labels)
    profile = DataProfile(
        sha256="cd" * 32, rows=n, columns=2, target="label",
        feature_columns=["score"], dtypes={"score": "double", "label": "string"}, class_counts={"neg": 1, "pos": 1},
    )
    html = render_report(metrics, roc_curves(y, proba, labels), {"score": 1.0}, profile)
    assert len(html.encode()) < 60_000
    polyline = re.search(r'<polyline points="([^"]*)" fill="none" stroke="#2563eb"', html).group(1)
    assert 50 < len(polyline.split()) <= 300  # a real curve, thinned
    assert f"{metrics.roc_auc:.3f}" in html and 0.8 < metrics.roc_auc < 0.9
