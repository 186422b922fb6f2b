"""What a workflow run through the project's command line made: paths, key metrics, the gate's verdict, what to try next."""

# pyflyte ends a local run with click.echo(outputs): one line of the outputs' repr, 1,300 characters for a
# training run, every drift bin of a batch run, and a predictions table shown as `StructuredDataset(uri=None)`.
# pyflyte 1.16 offers no hook for what it prints, so while the command runs, its run module's `click` is a view of
# the real one whose `echo` hands a non-text message (the outputs) to ``summary_lines`` instead. The raw repr stays
# one flag away (--raw-outputs).

from __future__ import annotations

import math
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

#: Longest line the summary prints.
MAX_LINE_CHARS = 300
PROG = "python -m flyte.cli"
#: The project command's own options (pyflyte knows neither), taken out of the arguments before pyflyte parses them.
QUIET_FLAG = "--quiet"
RAW_FLAG = "--raw-outputs"
#: The metrics in the summary's table, in this order.
KEY_METRICS = ("rows", "accuracy", "balanced_accuracy", "roc_auc", "log_loss", "f1")
#: A regression model's metrics, as the summary prints them (Metrics.regression).
REGRESSION_METRICS = ("rows", "rmse", "mae", "r2", "median_ae", "mape")
#: flytekit's own Deck tabs, named on every task's page; the summary names a page by the project's tabs.
_FLYTEKIT_TABS = {"Input", "Output", "Timeline", "Source Code", "Dependencies"}
_TAB = re.compile(r'<li onclick="handleLinkClick\(this\)">([^<]*)</li>')


@dataclass(frozen=True)
class Options:
    """quiet: no stage or progress lines; raw: print pyflyte's repr of the outputs instead of the summary."""

    quiet: bool = False
    raw: bool = False


def split_options(argv: list[str]) -> tuple[list[str], Options]:
    """``argv`` without the project's own flags (wherever given), and the options they set."""
    rest = [a for a in argv if a not in (QUIET_FLAG, RAW_FLAG)]
    return rest, Options(quiet=QUIET_FLAG in argv, raw=RAW_FLAG in argv)


def cut(line: str, limit: int = MAX_LINE_CHARS) -> str:
    """``line`` cut to ``limit`` characters, marked with an ellipsis when cut."""
    return line if len(line) <= limit else line[: limit - 1] + "…"


@contextmanager
def summarized(options: Options, decks_under: Path, echo: Callable[[str], None] | None = None) -> Iterator[None]:
    """While the command runs, print a run's outputs as ``summary_lines`` (or raw, with ``options.raw``).

    decks_under: where flytekit writes local Deck pages; those written since the run began are listed."""
    from flytekit.clis.sdk_in_container import run as run_module

    real = run_module.click
    started = time.time()
    say = echo or real.echo

    class _Click:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        @staticmethod
        def echo(message=None, *args, **kwargs):
            if options.raw or message is None or isinstance(message, (str, bytes)):
                return real.echo(message, *args, **kwargs)
            for line in summary_lines(message, decks_written(decks_under, started)):
                say(line)

    run_module.click = _Click()
    try:
        yield
    finally:
        run_module.click = real


def decks_written(root: Path, since: float) -> list[tuple[str, Path]]:
    """The Deck pages under ``root`` written at or after ``since`` (epoch seconds), oldest first, each with the tabs it
    adds: in a local run each task's page repeats the earlier tasks' tabs, so the last page holds them all."""
    pages = []
    for path in root.rglob("deck.html") if root.is_dir() else []:
        stat = path.stat()
        if stat.st_mtime >= since - 1:
            tabs = [t for t in _TAB.findall(path.read_text(encoding="utf-8", errors="replace")) if t not in _FLYTEKIT_TABS]
            pages.append((stat.st_mtime, tabs, path))
    out, seen = [], set()
    for _, tabs, path in sorted(pages):
        new = [t for t in tabs if t not in seen]
        seen.update(tabs)
        out.append((", ".join(new) or "no new tab", path))
    return out


def summary_lines(outputs: Any, decks: list[tuple[str, Path]]) -> list[str]:
    """The summary of a workflow's outputs, each line at most MAX_LINE_CHARS long."""
    fields = set(getattr(outputs, "_fields", ()))
    if {"model", "metrics", "decision", "report"} <= fields:
        lines = _training(outputs)
    elif {"predictions", "drift", "report"} <= fields:
        lines = _batch(outputs)
    else:
        lines = _generic(outputs)
    if decks:
        lines.append("Decks written this run (the last page holds every tab):")
        lines.extend(f"  {tabs}: {path}" for tabs, path in decks)
    elif fields & {"report"}:
        lines.append("Decks: none written this run (every stage with a Deck was served from the cache)")
    next_step = _next_command(outputs, fields)
    if next_step:
        lines.append(f"Next: {next_step}")
    return [cut(line.rstrip()) for line in lines]


def _path(value: Any) -> str:
    """A local file, directory or table output as a path."""
    if value is None:
        return "-"
    literal = getattr(value, "literal", None)  # a table: its location is in the literal it was decoded from
    if literal is not None and getattr(literal, "uri", None):
        return literal.uri.rstrip("/") or literal.uri
    for attr in ("path", "uri"):
        found = getattr(value, attr, None)
        if found:
            return str(found)
    return str(value)


def _training(outputs) -> list[str]:
    lines = [f"Model:   {_path(outputs.model)}", f"Report:  {_path(outputs.report)}"]
    if "trials_report" in outputs._fields:
        lines.append(f"Trials:  {_path(outputs.trials_report)}")
        lines.extend(_tuning(outputs))
    lines.extend(metrics_table(outputs.metrics))
    lines.append(gate_line(outputs.decision))
    return lines


def _tuning(outputs) -> list[str]:
    results = list(outputs.cv_results)
    best = min(results, key=lambda r: r.mean_log_loss, default=None)
    if best is None:
        return []
    metric = getattr(best, "metric", "logloss")
    metric = "log loss" if metric in ("logloss", "mlogloss", "") else metric  # a regression's own metric (rmse, ...)
    chosen = outputs.best_hyperparameters
    names = ("learning_rate", "max_depth", "min_child_weight", "subsample", "colsample_bytree", "reg_lambda", "reg_alpha")
    settings = ", ".join(f"{n}={getattr(chosen, n)}" for n in names if hasattr(chosen, n))
    return [
        f"Search:  {len(results)} trials; best trial {best.index}: cross-validated {metric} {best.mean_log_loss:.4f} ± {best.std_log_loss:.4f}",
        f"Best:    {settings}",
    ]


def metrics_table(metrics) -> list[str]:
    """Key test metrics as two aligned rows: names, values."""
    if metrics is None:
        return []
    regression = getattr(metrics, "regression", None)
    if regression is not None:  # a regression model's numbers, never the empty class fields
        names = [n for n in REGRESSION_METRICS if hasattr(regression, n)]
        values = [_number(getattr(regression, n)) for n in names]
        if getattr(regression, "mape", 0) is None:
            values[names.index("mape")] = "n/a"
        note = [f"  (MAPE {regression.mape_note})"] if getattr(regression, "mape_note", "") else []
    else:
        names = [n for n in KEY_METRICS if hasattr(metrics, n)]
        values = [_number(getattr(metrics, n)) for n in names]
        note = []
    widths = [max(len(n), len(v)) for n, v in zip(names, values)]
    return [
        "Metrics (test rows):" if hasattr(metrics, "average") else "Metrics:",
        "  " + "  ".join(n.ljust(w) for n, w in zip(names, widths)),
        "  " + "  ".join(v.ljust(w) for v, w in zip(values, widths)),
        *note,
    ]


def _number(value) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def gate_line(decision) -> str:
    """The gate's verdict and its reasons, in one line."""
    if decision.promote:
        verdict = f"promoted as {decision.promoted_version}" if decision.promoted_version else "promote"
    else:
        verdict = f"kept the champion {decision.champion_version}" if decision.champion_version else "not promoted"
    reasons = "; ".join(decision.reasons) or "no reason given"
    return f"Gate:    {verdict}: {reasons}"


def _batch(outputs) -> list[str]:
    drift = outputs.drift
    lines = [
        f"Predictions: {_path(outputs.predictions)} (Parquet)",
        f"CSV:         {_path(outputs.csv) if outputs.csv is not None else 'not written (options: export_csv true writes one)'}",
        f"Report:      {_path(outputs.report)}",
        drift_line(drift),
    ]
    lines.extend(metrics_table(outputs.metrics))
    return lines


def drift_line(drift) -> str:
    """The flagged features only (most drifted first, with their PSI), never the bins."""
    psi = {d.feature: d.psi for d in drift.features}
    head = f"Drift:       {drift.rows:,} rows against {drift.reference_rows:,} training rows; "
    if not drift.flagged:
        return head + f"no feature past PSI {drift.threshold:g}"
    head += f"{len(drift.flagged)} of {len(drift.features)} features past PSI {drift.threshold:g}: "
    shown: list[str] = []
    for name in drift.flagged:
        item = f"{name} ({psi.get(name, float('nan')):.2f})"
        tail = f", … and {len(drift.flagged) - len(shown) - 1} more (the report lists them all)"
        if len(head) + len(", ".join([*shown, item])) + len(tail) > MAX_LINE_CHARS and name != drift.flagged[-1]:
            listed = ", ".join(shown) + (", " if shown else "")
            return head + listed + f"… and {len(drift.flagged) - len(shown)} more (the report lists them all)"
        shown.append(item)
    return head + ", ".join(shown)


def _generic(outputs) -> list[str]:
    """Any other output (a single task run): each field on its own line, cut short."""
    if hasattr(outputs, "_fields"):
        return [f"{name}: {_path(getattr(outputs, name))}" for name in outputs._fields]
    return [f"Output: {_path(outputs)}"]


def _next_command(outputs, fields: set[str]) -> str:
    if {"model", "decision"} <= fields:
        return (
            f"{PROG} run flyte/workflows/batch/pipeline.py batch_predict --model {_path(outputs.model)}"
            " (add --dataset '{\"source\": ...}' for rows of your own)"
        )
    if "predictions" in fields:
        return f"open {_path(outputs.report)} in a browser; the predictions load with pyarrow.parquet.read_table"
    return ""

