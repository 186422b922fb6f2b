"""benchmarks.stage_report: task names grouped into the plain script's stages, medians, peaks, ratios, the table."""

from __future__ import annotations

import json

import pytest

from benchmarks.stage_report import WIDTH, as_json, ratio, render, render_table, short_name, summarize


def task(name: str, seconds: float, peak: float | None = 300.0) -> dict:
    return {"name": name, "seconds": seconds, "peak_rss_mib": peak}


def pipeline_run(wall: float, fit: float, peak: float = 450.0) -> dict:
    return {
        "wall_s": wall,
        "peak_rss_mib": peak,
        "tasks": [
            task("flyte.workflows.training.tasks.fingerprint", 0.5),
            task("flyte.workflows.training.tasks.ingest", 1.5, 320.0),
            task("flyte.workflows.training.tasks.split", 0.5),
            task("flyte.workflows.training.tasks.fit", fit, 400.0),
            task("flyte.workflows.training.tasks.predict", 0.4),
            task("flyte.workflows.training.tasks.score", 0.6),
            task("flyte.workflows.training.tasks.publish", 3.0),
            task("flyte.workflows.gate.tasks.judge", 0.2),
        ],
    }


def plain_run(wall: float, fit: float) -> dict:
    stages = {"read": 1.0, "split": 0.25, "fit": fit, "predict": 0.2, "score": 0.3}
    return {"wall_s": wall, "peak_rss_mib": 700.0, "stages": stages,
            "stage_peak_rss_mib": {s: 600.0 + i for i, s in enumerate(stages)}}  # fmt: skip


def measurement(rows: int = 1_000_000) -> dict:
    return {
        "workflow": "training", "entry": "training_pipeline", "rows": rows, "repeats": 3,
        "pipeline_runs": [pipeline_run(20.0, 6.0), pipeline_run(22.0, 7.0, peak=470.0), pipeline_run(30.0, 9.0)],
        "plain_runs": [plain_run(8.0, 5.0), plain_run(9.0, 5.5), plain_run(7.0, 4.5)],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("flyte.workflows.training.tasks.fit", "fit"),
        ("flyte.workflows.gate.tasks.judge", "judge"),
        ("flyte.workflows.tuning.tasks.map_cross_validate_trial_6a1f", "cross_validate_trial"),
        ("fit", "fit"),
    ],
)
def test_short_names(name, short):
    assert short_name(name) == short


def test_ratio_is_pipeline_over_plain_to_two_decimals_and_absent_without_a_bar():
    assert ratio(20.7, 7.6) == 2.72
    assert ratio(1.0, 3.0) == 0.33
    assert ratio(1.0, 0.0) is None and ratio(1.0, None) is None and ratio(None, 1.0) is None


def test_tasks_are_grouped_into_plain_stages_with_medians_and_peaks():
    rows = {r["tasks"]: r for r in summarize(measurement())}
    read = rows["fingerprint+ingest"]
    assert read["stage"] == "read"
    assert read["pipeline_s"] == 2.0 and read["plain_s"] == 1.0 and read["ratio"] == 2.0
    assert read["pipeline_peak_mib"] == 320.0 and read["plain_peak_mib"] == 600.0
    fit = rows["fit"]
    assert fit["pipeline_s"] == 7.0 and fit["plain_s"] == 5.0 and fit["ratio"] == 1.4  # medians of 3 runs
    assert fit["pipeline_peak_mib"] == 400.0 and fit["plain_peak_mib"] == 602.0
    publish = rows["publish"]
    assert publish["stage"] == "-" and publish["plain_s"] is None and publish["ratio"] is None


def test_start_up_is_the_wall_time_outside_every_stage_and_total_is_the_whole_process():
    rows = summarize(measurement())
    startup, total = rows[-2], rows[-1]
    # Tasks take 6.7 s besides fit: runs leave 20-12.7, 22-13.7, 30-15.7 -> median 8.3; plain 8-6.75, 9-7.25, 7-6.25.
    assert startup["pipeline_s"] == pytest.approx(8.3) and startup["plain_s"] == pytest.approx(1.25)
    assert total["pipeline_s"] == 22.0 and total["plain_s"] == 8.0 and total["ratio"] == 2.75
    assert total["pipeline_peak_mib"] == 470.0 and total["plain_peak_mib"] == 700.0
    assert [r["stage"] for r in rows[:5]] == ["read", "split", "fit", "predict", "score"]


def test_table_is_readable_and_states_the_targets():
    text = render_table(measurement())
    lines = text.splitlines()
    assert all(len(line) <= WIDTH for line in lines)
    assert lines[0].startswith("training (training_pipeline), 1,000,000 rows")
    total = next(line for line in lines if line.strip().startswith("total"))
    assert total.split()[-5:] == ["22.00", "8.00", "2.75x", "470", "700"]
    assert "target: total <= 1.15x the plain script; this run 2.75x, over it" in text
    assert "target: publish <= 10% of fit; this run 43%, over it" in text
    assert "target" not in render_table(measurement(rows=100_000))  # no target is set at 100k rows


def test_a_task_without_a_peak_and_a_long_task_list_still_render():
    m = measurement()
    for run in m["pipeline_runs"]:
        run["tasks"].append(task("flyte.workflows.training.tasks." + "x" * 60, 1.0, None))
    lines = render([m, measurement(rows=100_000)]).splitlines()
    assert all(len(line) <= WIDTH for line in lines)
    assert any("xxx..." in line and line.rstrip().endswith("-") for line in lines)


def test_json_form_carries_the_summary_and_serializes():
    data = json.loads(json.dumps(as_json([measurement()])))
    assert data[0]["summary"][-1]["ratio"] == 2.75
    assert data[0]["notes"][0].endswith("over it")
    assert render(data) == render([measurement()])  # the JSON renders the same tables again
