"""The stage-by-stage report: each workflow's tasks beside the plain script's stages, with ratios. No measuring here.

A measurement (benchmarks.workflows) holds, for one workflow at one size, every run of both sides:

    {"workflow": "training", "rows": 1000000, "repeats": 3,
     "pipeline_runs": [{"wall_s", "peak_rss_mib", "tasks": [{"name", "seconds", "peak_rss_mib"}, ...]}, ...],
     "plain_runs": [{"wall_s", "peak_rss_mib", "stages": {stage: s}, "stage_peak_rss_mib": {stage: MiB}}, ...]}

``summarize`` turns it into table rows: each plain stage with the pipeline tasks that do its work, the tasks
with no counterpart in a plain script (publish, the gate), the start-up and the rest (wall time outside every
task: imports, flytekit's compile, printing the outputs), and the total. Seconds are medians over the runs,
peaks the largest over the runs. A ratio is pipeline / plain, rounded to 2 decimals, and absent where the
plain side has no such stage or took no measurable time.
"""

from __future__ import annotations

import statistics

#: Plain-script stages in the order they run; every workflow uses a subset.
PLAIN_STAGES = ("load", "read", "split", "trial", "fit", "predict", "score")

#: Task (short name) to the plain stage that does the same work. Tasks not listed have no plain counterpart.
STAGE_OF = {
    "model_fingerprint": "load", "fetch_model": "load",
    "fingerprint": "read", "ingest": "read", "check_rows": "read",
    "split": "split",
    "cross_validate_trial": "trial",
    "fit": "fit", "fit_distributed": "fit",
    "predict": "predict", "predict_rows": "predict",
    "score": "score", "batch_report": "score",
}  # fmt: skip

STARTUP = "start-up+rest"
TOTAL = "total"

#: The performance targets for the whole run against the plain script, by (workflow, rows): shown, never enforced.
TARGETS = {("training", 1_000_000): 1.15, ("training", 5_000_000): 1.05}
#: Publish's time as a share of fit's, at 1M rows and up: shown, never enforced.
PUBLISH_SHARE_TARGET = 0.10

WIDTH = 120


def short_name(task: str) -> str:
    """``flyte.workflows.training.tasks.fit`` -> ``fit``; a map task over a trial task -> ``cross_validate_trial``."""
    name = task.rsplit(".", 1)[-1]
    return "cross_validate_trial" if "cross_validate_trial" in task else name


def ratio(pipeline: float | None, plain: float | None) -> float | None:
    """pipeline / plain to 2 decimals; None without both, or when plain is not positive."""
    if pipeline is None or plain is None or plain <= 0:
        return None
    return round(pipeline / plain, 2)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _peak(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def summarize(m: dict) -> list[dict]:
    """Table rows: {stage, tasks, pipeline_s, plain_s, ratio, pipeline_peak_mib, plain_peak_mib}."""
    pipe_runs, plain_runs = m["pipeline_runs"], m["plain_runs"]
    groups: dict[str, list[str]] = {}  # stage (or lone task) -> its task names, in order of first appearance
    for run in pipe_runs:
        for task in run["tasks"]:
            name = short_name(task["name"])
            key = STAGE_OF.get(name, name)
            if name not in groups.setdefault(key, []):
                groups[key].append(name)
    plain_names = [s for s in PLAIN_STAGES if any(s in r["stages"] for r in plain_runs)]
    order = [s for s in PLAIN_STAGES if s in groups or s in plain_names] + [k for k in groups if k not in PLAIN_STAGES]
    rows = []
    for stage in order:
        members = groups.get(stage, [])
        pipe_s = _median(
            [sum(t["seconds"] for t in r["tasks"] if short_name(t["name"]) in members) for r in pipe_runs]
        ) if members else None  # fmt: skip
        has_plain = stage in plain_names
        plain_s = _median([r["stages"].get(stage, 0.0) for r in plain_runs]) if has_plain else None
        rows.append(
            {
                "stage": stage if stage in PLAIN_STAGES else "-",
                "tasks": "+".join(members) or "-",
                "pipeline_s": pipe_s,
                "plain_s": plain_s,
                "ratio": ratio(pipe_s, plain_s),
                "pipeline_peak_mib": _peak(
                    [t["peak_rss_mib"] for r in pipe_runs for t in r["tasks"] if short_name(t["name"]) in members]
                ),
                "plain_peak_mib": (
                    _peak([r["stage_peak_rss_mib"].get(stage) for r in plain_runs]) if has_plain else None
                ),
            }
        )
    pipe_rest = _median([r["wall_s"] - sum(t["seconds"] for t in r["tasks"]) for r in pipe_runs])
    plain_rest = _median([r["wall_s"] - sum(r["stages"].values()) for r in plain_runs])
    rows.append(
        {"stage": STARTUP, "tasks": "imports, compile, outputs", "pipeline_s": pipe_rest, "plain_s": plain_rest,
         "ratio": ratio(pipe_rest, plain_rest), "pipeline_peak_mib": None, "plain_peak_mib": None}
    )  # fmt: skip
    pipe_total, plain_total = _median([r["wall_s"] for r in pipe_runs]), _median([r["wall_s"] for r in plain_runs])
    rows.append(
        {"stage": TOTAL, "tasks": "wall, whole process", "pipeline_s": pipe_total, "plain_s": plain_total,
         "ratio": ratio(pipe_total, plain_total), "pipeline_peak_mib": _peak([r["peak_rss_mib"] for r in pipe_runs]),
         "plain_peak_mib": _peak([r["peak_rss_mib"] for r in plain_runs])}
    )  # fmt: skip
    return rows


def notes(m: dict, rows: list[dict]) -> list[str]:
    """The targets the figures are read against: stated, and whether this run meets them. Never an error."""
    out = []
    total = next(r for r in rows if r["stage"] == TOTAL)
    target = TARGETS.get((m["workflow"], m["rows"]))
    if target is not None and total["ratio"] is not None:
        verdict = "meets it" if total["ratio"] <= target else "over it"
        out.append(f"target: total <= {target:.2f}x the plain script; this run {total['ratio']:.2f}x, {verdict}")
    by_task = {r["tasks"]: r for r in rows}
    fit = next((r for r in rows if r["stage"] == "fit"), None)
    if m["workflow"] == "training" and m["rows"] >= 1_000_000 and "publish" in by_task and fit and fit["pipeline_s"]:
        share = by_task["publish"]["pipeline_s"] / fit["pipeline_s"]
        verdict = "meets it" if share <= PUBLISH_SHARE_TARGET else "over it"
        out.append(f"target: publish <= {PUBLISH_SHARE_TARGET:.0%} of fit; this run {share:.0%}, {verdict}")
    return out


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_table(m: dict) -> str:
    """One workflow at one size as a fixed-width table, no line over WIDTH characters."""
    rows = summarize(m)
    head = (
        f"{m['workflow']} ({m.get('entry', '')}), {m['rows']:,} rows: seconds (median of {len(m['pipeline_runs'])} "
        f"interleaved run(s) a side), peak RSS MiB"
    )
    lines = [head[:WIDTH]]
    lines.append(
        f"  {'stage':<13} {'pipeline tasks':<38} {'pipeline':>9} {'plain':>8} {'ratio':>8} "
        f"{'pipe MiB':>9} {'plain MiB':>9}"
    )
    for r in rows:
        ratio_text = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        tasks = r["tasks"] if len(r["tasks"]) <= 38 else r["tasks"][:35] + "..."
        lines.append(
            f"  {r['stage']:<13} {tasks:<38} {_num(r['pipeline_s'], 2):>9} {_num(r['plain_s'], 2):>8} "
            f"{ratio_text:>8} {_num(r['pipeline_peak_mib'], 0):>9} {_num(r['plain_peak_mib'], 0):>9}"
        )
    lines += [f"  {n}" for n in notes(m, rows)]
    return "\n".join(line[:WIDTH] for line in lines)


def render(measurements: list[dict]) -> str:
    """Every table, a blank line between them."""
    return "\n\n".join(render_table(m) for m in measurements)


def as_json(measurements: list[dict]) -> list[dict]:
    """The measurements with their summarized rows, for --json."""
    return [{**m, "summary": summarize(m), "notes": notes(m, summarize(m))} for m in measurements]
