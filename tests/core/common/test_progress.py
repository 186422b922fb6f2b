"""Progress lines: throttled by a clock (injected here, so nothing waits), and what fit, ingest and the bootstraps say."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from flyte.core.common import progress as progress_module
from flyte.core.evaluation.statistics.bootstrap import replicate_metrics
from flyte.core.gate.gate_stats import paired_bootstrap
from flyte.core.common.progress import Progress


class Clock:
    """Seconds that pass only when the test says so, or by ``step`` at every read."""

    def __init__(self, step: float = 0.0):
        self.now, self.step = 1000.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


LOG = logging.getLogger("flyte.tests.progress")


def messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("flyte.")]


def test_nothing_is_logged_before_the_interval_and_then_at_most_once_per_interval(caplog):
    caplog.set_level(logging.INFO, logger="flyte")
    clock = Clock()
    progress = Progress(LOG, interval_s=10, clock=clock)
    assert not progress.report("row %d", 1) and not progress.due()
    clock.now += 9.9
    assert not progress.report("row %d", 2)
    clock.now += 0.1
    assert progress.due() and progress.report("row %d", 3)
    for i in range(100):  # a fast loop: many calls within the next interval write nothing
        clock.now += 0.05
        progress.report("row %d", 10 + i)
    clock.now += 5.1  # 10.1 s after the last line
    assert progress.report("row %d", 999)
    assert messages(caplog) == ["row 3", "row 999"] and progress.lines == 2


def test_a_slow_loop_logs_every_step_once_each_interval_has_passed(caplog):
    caplog.set_level(logging.INFO, logger="flyte")
    progress = Progress(LOG, interval_s=2, clock=Clock(step=3))
    for i in range(4):
        progress.report("step %d", i)
    assert messages(caplog) == ["step 0", "step 1", "step 2", "step 3"]


@pytest.mark.parametrize("interval", [0, -1, float("nan")])
def test_a_non_positive_interval_is_refused(interval):
    with pytest.raises(ValueError, match="interval_s must be positive"):
        Progress(LOG, interval_s=interval, clock=Clock())


@pytest.fixture
def every_call_due(monkeypatch):
    """Each Progress created from here on finds a line due at every call: its clock moves 60 s per read."""
    monkeypatch.setattr(progress_module, "CLOCK", Clock(step=60))


def test_fit_reports_the_round_and_the_best_validation_score_so_far(caplog):
    from flyte.core.training.fit import FitProgress

    caplog.set_level(logging.INFO, logger="flyte")
    clock = Clock()
    callback = FitProgress(max_rounds=50, progress=Progress(LOG, interval_s=10, clock=clock))
    losses = [0.69, 0.55, 0.50, 0.52, 0.51, 0.49]
    for epoch in range(len(losses)):
        clock.now += 4  # a line is due after round 3 (12 s in) and round 6 (24 s in, 12 s after the first line)
        assert callback.after_iteration(None, epoch, {"validation": {"logloss": losses[: epoch + 1]}}) is False
    assert messages(caplog) == [
        "round 3 of at most 50; best validation logloss 0.50000 at round 2",
        "round 6 of at most 50; best validation logloss 0.49000 at round 5",
    ]


def test_a_real_fit_logs_progress_and_trains_the_same_booster(caplog, every_call_due, tmp_path):
    import xgboost as xgb

    from flyte.core.training.fit import FitProgress

    caplog.set_level(logging.INFO, logger="flyte")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] + rng.normal(scale=0.5, size=200) > 0).astype(int)
    train, valid = xgb.DMatrix(x[:150], label=y[:150]), xgb.DMatrix(x[150:], label=y[150:])
    params = {"objective": "binary:logistic", "eval_metric": "logloss", "seed": 1, "nthread": 1}

    def fit(callbacks):
        return xgb.train(params, train, 20, evals=[(valid, "validation")], verbose_eval=False, callbacks=callbacks)

    watched, plain = fit([FitProgress(20)]), fit([])
    assert bytes(watched.save_raw("ubj")) == bytes(plain.save_raw("ubj"))
    lines = [m for m in messages(caplog) if m.startswith("round ")]
    assert len(lines) == 20 and lines[-1].startswith("round 20 of at most 20; best validation logloss ")


def test_the_bootstraps_report_replicates_done(caplog, every_call_due):
    caplog.set_level(logging.INFO, logger="flyte")
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    proba = rng.uniform(size=60)
    two = np.column_stack([1 - proba, proba])
    replicate_metrics(y, two, [0, 1], replicates=5, seed=0)
    paired_bootstrap(y, two, two[::-1], replicates=4, seed=0, confidence=0.95)
    lines = messages(caplog)
    assert "bootstrap: 4 of 5 replicates done" in lines and "paired bootstrap: 3 of 4 replicates done" in lines


def test_ingest_reports_rows_read_so_far(caplog, every_call_due, tmp_path):
    from flyte.core.data.dataset import DatasetSpec
    from flyte.core.data.ingest import ingest_table

    caplog.set_level(logging.INFO, logger="flyte")
    csv = tmp_path / "rows.csv"
    csv.write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(500)))
    ingest_table(csv, DatasetSpec(source=str(csv), target="y"), tmp_path / "table")
    read = [m for m in messages(caplog) if m.endswith("rows so far")]
    assert read and read[-1] == "read 500 rows so far"
