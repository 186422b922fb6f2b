"""A regression model's report and card: the three residual figures, the card's RMSE/MAE/R² intervals under the
card's settings, and the card's wording; none of these on a classifier's."""

from __future__ import annotations

from pathlib import Path

import pytest

from flyte.core.artifact.model import load_model, save_model
from flyte.core.artifact.schema import read_schema
from flyte.core.data.dataset import DatasetSpec
from flyte.core.data.ingest import ingest_table
from flyte.core.data.split import PART_NAMES, SplitParams, split_table
from flyte.core.evaluation.evaluate import evaluate
from flyte.core.evaluation.predict import predict_table
from flyte.core.publishing.model_card import for_problem
from flyte.core.publishing.publish import CardSettings, publish_model, regression_card_intervals
from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.workflows import config
from tests.core.publishing.test_publish import publish, train as train_classifier

FAST = Hyperparameters(max_rounds=40, early_stopping_rounds=10, learning_rate=0.2)
#: The bundled diabetes data (442 rows), read as a file: what bundled://diabetes.csv names.
DIABETES = Path(__file__).resolve().parents[3] / "flyte" / "data" / "diabetes.csv"
TITLES = ("Predicted against actual", "Residual distribution", "Residuals against predicted")


@pytest.fixture(scope="module")
def regression(tmp_path_factory):
    work = tmp_path_factory.mktemp("regression_card")
    spec = DatasetSpec(source=str(DIABETES), target="target", problem_type="regression")
    split = SplitParams()
    profile = ingest_table(spec.source, spec, work / "table", split=split).profile
    parts = {name: work / name for name in PART_NAMES}
    summary = split_table(work / "table", profile, split, parts)
    fit_dir = save_model(train_model(parts["train"], parts["validation"], profile, FAST), work / "fit")
    predict_table(load_model(fit_dir), parts["test"], work / "predictions")
    evaluation = evaluate(parts["test"], work / "predictions", read_schema(fit_dir), profile)
    return dict(work=work, spec=spec, split=split, profile=profile, summary=summary, fit_dir=fit_dir, test=parts["test"],
                predictions=work / "predictions", evaluation=evaluation)  # fmt: skip


def card(r, destination: Path, settings: CardSettings = CardSettings(replicates=200, seed=3)) -> str:
    return publish_model(r["fit_dir"], destination, r["test"], r["predictions"], r["evaluation"].metrics, r["profile"],
                         r["spec"], r["split"], FAST, config.MODEL_CARD_TEMPLATE, "local", settings, {},
                         split=r["summary"]).card_html  # fmt: skip


def test_the_report_and_the_card_show_the_three_residual_figures(regression, tmp_path):
    for html in (regression["evaluation"].report_html, card(regression, tmp_path / "published")):
        for title in TITLES:
            assert f"<h2>{title}</h2>" in html
        assert html.count("<svg") >= 4  # the three figures and the feature importance


def test_a_classifier_report_and_card_show_no_residual_figure(tmp_path):
    t = train_classifier(tmp_path)
    report = evaluate(t.test, t.predictions, read_schema(t.fit_dir), t.profile).report_html
    html = publish(t, tmp_path / "published", template=config.MODEL_CARD_TEMPLATE).card_html
    for page in (report, html):
        assert not any(title in page for title in TITLES)
    assert "calibration curve below" in html and "Predicts the value of" not in html and "&lt;!--" not in html


def test_the_card_shows_intervals_that_contain_the_point_estimates(regression, tmp_path):
    m = regression["evaluation"].metrics.regression
    settings = CardSettings(replicates=300, seed=5)
    intervals = regression_card_intervals(regression["test"], regression["predictions"], read_schema(regression["fit_dir"]), settings)
    for key, point in (("rmse", m.rmse), ("mae", m.mae), ("r2", m.r2)):
        low, high = intervals[key]
        assert low < point < high, (key, low, point, high)
    html = card(regression, tmp_path / "published", settings)
    assert "Test metrics, with 95% intervals" in html
    assert f"<span class='ci'>[{intervals['rmse'][0]:.4g}, {intervals['rmse'][1]:.4g}]</span>" in html
    assert f"<span class='ci'>[{intervals['r2'][0]:.4g}, {intervals['r2'][1]:.4g}]</span>" in html
    assert "Intervals: percentile bootstrap, 300 resamples of the test rows, seed 5." in html
    streamed = card(regression, tmp_path / "streamed", CardSettings(analytic_rows=10))
    assert "Intervals: normal (delta method), from the test rows&#x27; moments read in one pass." in streamed


def test_the_card_settings_shape_the_intervals(regression):
    schema, test, predictions = read_schema(regression["fit_dir"]), regression["test"], regression["predictions"]
    m = regression["evaluation"].metrics.regression
    a = regression_card_intervals(test, predictions, schema, CardSettings(replicates=200, seed=1))
    assert a == regression_card_intervals(test, predictions, schema, CardSettings(replicates=200, seed=1))
    assert a != regression_card_intervals(test, predictions, schema, CardSettings(replicates=200, seed=2))
    narrow = regression_card_intervals(test, predictions, schema, CardSettings(replicates=200, seed=1, level=0.5))
    assert a["rmse"][0] < narrow["rmse"][0] < narrow["rmse"][1] < a["rmse"][1]
    # From analytic_rows test rows on, streamed normal intervals: no resampling, so no seed moves them.
    streamed = [regression_card_intervals(test, predictions, schema, CardSettings(seed=s, analytic_rows=10)) for s in (1, 2)]
    assert streamed[0] == streamed[1] != a
    for key, point in (("rmse", m.rmse), ("mae", m.mae), ("r2", m.r2)):
        assert streamed[0][key][0] < point < streamed[0][key][1]


def test_the_regression_card_is_worded_for_regression(regression, tmp_path):
    html = card(regression, tmp_path / "published")
    assert "Predicts the value of target" in html and "residual plots below" in html
    for word in ("calibration", "rank or screen cases"):
        assert word not in html, html[max(0, html.find(word) - 300) : html.find(word) + 100]
    assert "Calibration" not in html and "rank or screen cases" not in html and "&lt;!--" not in html


def test_problem_blocks_keep_only_their_problem_type():
    text = "a\n<!-- classification -->\nb\n<!-- regression -->\nc\n  <!--  end -->\nd\n`<!-- regression -->` inline\n"
    assert for_problem(text, "classification") == "a\nb\nd\n`<!-- regression -->` inline\n"
    assert for_problem(text, "regression") == "a\nc\nd\n`<!-- regression -->` inline\n"
    assert for_problem("no blocks\n", "regression") == "no blocks\n"
