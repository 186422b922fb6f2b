"""The model card: every section present, hostile names and template text escaped, nothing fetched."""

from __future__ import annotations

import re

import numpy as np
import pytest

from flyte.core.evaluation.statistics.analytic import analytic_intervals
from flyte.core.evaluation.statistics.bootstrap import bootstrap_intervals
from flyte.core.evaluation.statistics.calibration import calibration
from flyte.core.evaluation.statistics.class_metrics import class_metrics
from flyte.core.data.dataset import DataProfile
from flyte.core.artifact.manifest import Manifest
from flyte.core.publishing.model_card import fill_template, render_card, render_template
from flyte.core.artifact.provenance import DataSummary, Provenance
from flyte.core.evaluation.score import score_predictions

HOSTILE = "<script>alert(1)</script>"
LABELS = ["<svg onload=alert(3)>", "safe"]


def card(template="Predicts $target from $dataset.", labels=LABELS, feature=HOSTILE, source="data/<b>x</b>.csv", analytic=False):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.5 + 0.35 * (2 * y - 1) + rng.normal(scale=0.2, size=200), 0.01, 0.99)
    proba = np.column_stack([1 - p, p])
    profile = DataProfile(sha256="f" * 64, rows=200, columns=2, target="t&<y>", feature_columns=[feature], dtypes={feature: "double", "t&<y>": "string"},
                          missing={feature: 3, "t&<y>": 0}, class_counts=dict(zip(labels, [100, 100])), labels=labels)  # fmt: skip
    manifest = Manifest(
        data=DataSummary(source_sha256="f" * 64, table_sha256="e" * 64),
        dataset={"source": source, "target": "t&<y>"},
        split_params={"seed": 7},
        hyperparameters={"seed": HOSTILE},
        best_iteration=12,
        provenance=Provenance(python="3.11.7", libraries={"xgboost": "3.2.0"}, image="reg/<i>img</i>:1", git_commit="a" * 40,
                              git_dirty=True, execution_id="p:d:<e>"),  # fmt: skip
    )
    metrics = score_predictions(y, proba, labels)
    intervals = analytic_intervals(y, proba, labels) if analytic else bootstrap_intervals(y, proba, labels, 100, 0)
    return render_card(template, manifest, profile, metrics, intervals,
                       class_metrics(y, proba, labels), calibration(y, proba, labels, 10), {feature: 2.0})  # fmt: skip


def test_every_section_is_there():
    html = card()
    for title in ("Intended use and limitations", "Test metrics, with 95% intervals", "Per-class metrics",
                  "Calibration", "Feature importance (total gain)", "Data profile", "Provenance"):  # fmt: skip
        assert f"<h2>{title}</h2>" in html, title
    assert "Expected calibration error" in html and "a" * 40 + " (uncommitted changes)" in html
    assert "over 100 resamples" in html and "best iteration" in html


def test_hostile_data_template_and_environment_text_is_escaped():
    template = f"# Use {HOSTILE}\n- only for <b>tests</b> of $target\n<img src=x onerror=alert(9)>"
    html = card(template=template)
    for raw in (HOSTILE, LABELS[0], "<b>tests", "<b>x", "<i>img", "<e>", "<img src=x", "t&<y>"):
        assert raw not in html, raw
    assert "&lt;svg onload=alert(3)&gt;" in html and "&lt;img src=x onerror=alert(9)&gt;" in html
    assert "only for &lt;b&gt;tests&lt;/b&gt; of t&amp;&lt;y&gt;" in html


def test_nothing_is_fetched_and_no_script_runs():
    html = card()
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


def test_template_fills_known_names_and_leaves_other_dollars():
    profile = DataProfile(target="y", labels=["a", "b"], rows=9, feature_columns=["f"])
    assert fill_template("$target of $dataset ($labels, $rows rows, $features) costs $5 and $unknown", profile, "s.csv") == (
        "y of s.csv (a, b, 9 rows, f) costs $5 and $unknown")  # fmt: skip


def test_filled_values_stay_literal_text():
    profile = DataProfile(target="t&<y>", labels=["*a*", "b_c_"], rows=3, feature_columns=["[x](http://e)"])
    html = render_template(fill_template("$target ($labels) from $features", profile, "s.csv"))
    assert html == "<p>t&amp;&lt;y&gt; (*a*, b_c_) from [x](http://e)</p>\n"


def test_template_markdown():
    html = render_template("# Title\npara one\ncontinues\n\n- item one\n  wrapped\n- item **two**\n\n## Sub\n")
    assert html.replace("\n", " ") == (
        "<h3>Title</h3> <p>para one continues</p> <ul> <li>item one wrapped</li> <li>item <strong>two</strong></li> </ul> "
        "<h4>Sub</h4> "
    )


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
                                  "![remote](https://example.com/pixel.png)", "<a href='//evil'>x</a>"])  # fmt: skip
def test_template_markdown_passes_no_html_no_fetch_no_script(text):
    html = render_template(text)
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert not re.search(r"<[a-z][^>]*\s(src|on\w+)=", html)  # no tag that fetches or runs anything
    if text.startswith("<"):
        assert html.startswith("<p>&lt;")  # raw HTML is shown as text, not passed through


def test_each_interval_names_its_method():
    metrics_table = lambda html: html[html.index("<table><tr><th>metric</th>") : html.index("Per-class metrics")]  # noqa: E731
    boot = metrics_table(card())
    cell = '<td class="ci">{}</td>'.format
    assert boot.count(cell("percentile bootstrap")) == 7 and "100 resamples of the test rows" in boot and "DeLong" not in boot
    analytic = metrics_table(card(analytic=True))
    assert analytic.count(cell("Wilson score")) == 3 and analytic.count(cell("DeLong")) == 1
    assert analytic.count(cell("normal (delta method)")) == 3 and "resamples" not in analytic
