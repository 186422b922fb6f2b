"""The quality gate's Deck page: the decision, the floors, the paired comparison and the reasons, self-contained."""

# Scoped under ``.qg`` like the report family's ``.mr`` (common/html.py) so it can sit in a Deck; no scripts, nothing fetched; every string that
# comes from data or the registry (the target, version names, reasons) is escaped. Tables wrap in a ~620 px pane.

from __future__ import annotations

from html import escape

from flyte.core.common.html import page
from flyte.core.gate.gate import GateDecision

STYLE = """
.qg{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;max-width:1100px;padding:8px 16px;line-height:1.35}
.qg h1{font-size:22px;margin:0 0 4px} .qg h2{font-size:16px;margin:24px 0 8px;color:#374151}
.qg .verdict{display:inline-block;border-radius:6px;padding:4px 10px;font-weight:600;color:#fff}
.qg .yes{background:#16a34a} .qg .no{background:#dc2626}
.qg .sub{color:#6b7280;font-size:13px;margin:6px 0 12px;overflow-wrap:anywhere}
.qg table{border-collapse:collapse;font-size:13px;max-width:100%}
.qg td,.qg th{border-bottom:1px solid #e5e7eb;padding:4px 10px;text-align:right;font-variant-numeric:tabular-nums}
.qg th:first-child,.qg td:first-child{text-align:left} .qg th{color:#374151;background:#f9fafb}
.qg ul{margin:4px 0;padding-left:20px;font-size:13px} .qg li{margin:3px 0;overflow-wrap:anywhere}
.qg .pass{color:#16a34a;font-weight:600} .qg .fail{color:#dc2626;font-weight:600}
"""


def render_gate(decision: GateDecision, target: str) -> str:
    """The whole page for one decision; ``target`` names the predicted column."""
    verdict = "Promote" if decision.promote else "Keep the champion" if decision.champion else "Do not promote"
    champion = escape(decision.champion_version) if decision.champion_version else "none yet"
    body = [
        "<h1>Quality gate</h1>",
        f'<span class="verdict {"yes" if decision.promote else "no"}">{verdict}</span>',
        f'<div class="sub">target <b>{escape(target)}</b> · champion {champion}</div>',
        "<h2>Reasons</h2><ul>" + "".join(f"<li>{escape(r)}</li>" for r in decision.reasons) + "</ul>",
        "<h2>Floors</h2>",
        _floors(decision),
        "<h2>Against the champion (test rows neither model saw)</h2>",
        _regression(decision) if decision.regression is not None else _comparison(decision),
    ]
    return page("Quality gate", body, STYLE, scope="qg")


def outcome_line(decision: GateDecision) -> str:
    """The gate's outcome in one line: ``promoted: <version> ...``, ``kept the champion <version>: ...`` or (with
    no champion) ``not promoted: ...``, then every reason; ``[floors only]`` marks a decision the floors alone
    made although there was a champion."""
    flag = " [floors only]" if decision.floors_only else ""
    why = "; ".join(decision.reasons)
    if decision.promote:
        version = decision.promoted_version or "(not stored)"
        was = f", replacing {decision.champion_version}" if decision.champion_version else ""
        return f"promoted: {version} is the champion{was}{flag}: {why}"
    if decision.champion:
        return f"kept the champion {decision.champion_version}{flag}: {why}"
    return f"not promoted{flag}: {why}"


def render_outcome(line: str) -> str:
    """A Deck page holding the outcome line."""
    return page("Gate outcome", ["<h1>Gate outcome</h1>", f"<p>{escape(line)}</p>"], STYLE, scope="qg")


def _floors(decision: GateDecision) -> str:
    rows = "".join(
        f"<tr><td>{escape(f.metric)}</td><td>{f.value:.4f}</td><td>{escape(f.kind)} {f.bound:.4f}</td>"
        f'<td class="{"pass" if f.passed else "fail"}">{"pass" if f.passed else "fail"}</td></tr>'
        for f in decision.floors
    )
    return f"<table><tr><th>metric</th><th>challenger</th><th>floor</th><th></th></tr>{rows}</table>"


def _comparison(decision: GateDecision) -> str:
    c = decision.comparison
    seen = (f" {c.seen_rows} of the challenger's {c.test_rows} test rows were left out: by its recorded split rule the "
            "champion may have trained or early-stopped on them." if c.test_rows else "")
    if not c.compared:
        flag = "The floors alone decided. " if decision.floors_only else ""
        return f'<div class="sub">{flag}No comparison: see the reasons.{escape(seen)}</div>'
    level = f"{c.confidence:.0%} CI"
    how = (f"paired bootstrap, {c.replicates} resamples of the same rows for both models, seed {c.seed}" if c.replicates
           else "paired normal intervals (large test set): accuracy from the discordant counts, AUC by DeLong's paired variance")  # fmt: skip
    rows = [
        ("accuracy", c.challenger_accuracy, c.champion_accuracy, c.accuracy_difference, c.accuracy_ci_low, c.accuracy_ci_high),
        ("ROC AUC", c.challenger_roc_auc, c.champion_roc_auc, c.auc_difference, c.auc_ci_low, c.auc_ci_high),
    ]
    table = "".join(
        f"<tr><td>{name}</td><td>{ours:.4f}</td><td>{theirs:.4f}</td><td>{diff:+.4f}</td><td>[{low:+.4f}, {high:+.4f}]</td></tr>"
        for name, ours, theirs, diff, low, high in rows
    )
    return (
        f"<table><tr><th>metric</th><th>challenger</th><th>champion</th><th>difference</th><th>{level}</th></tr>{table}</table>"
        f'<div class="sub">{c.rows} rows.{escape(seen)} McNemar exact test on correct / incorrect: {c.challenger_only} rows only the '
        f"challenger got right, {c.champion_only} only the champion; two-sided p = {c.mcnemar_p:.4g}. Intervals: {how}.</div>"
    )


def _regression(decision: GateDecision) -> str:
    """A regression comparison: both models' RMSE and MAE, the RMSE difference's interval, Wilcoxon's p, the rows."""
    c = decision.regression
    seen = (f" {c.seen_rows} of the challenger's {c.test_rows} test rows were left out: by its recorded split rule the "
            "champion may have trained or early-stopped on them." if c.test_rows else "")
    if not c.compared:
        flag = "The floors alone decided. " if decision.floors_only else ""
        return f'<div class="sub">{flag}No comparison: see the reasons.{escape(seen)}</div>'
    ci = f"[{c.rmse_ci_low:+.4g}, {c.rmse_ci_high:+.4g}]" if c.tested else "not tested"
    rows = (f"<tr><td>RMSE</td><td>{c.challenger_rmse:.4g}</td><td>{c.champion_rmse:.4g}</td><td>{c.rmse_difference:+.4g}</td><td>{ci}</td></tr>"
            f"<tr><td>MAE</td><td>{c.challenger_mae:.4g}</td><td>{c.champion_mae:.4g}</td>"
            f"<td>{c.challenger_mae - c.champion_mae:+.4g}</td><td></td></tr>")  # fmt: skip
    level = f"{c.confidence:.0%} CI" if c.tested else "CI"
    if c.tested:
        how = (f"paired bootstrap, {c.replicates} resamples of the same rows for both models, seed {c.seed}" if c.replicates
               else "normal by the delta method (large test set, rows streamed)")  # fmt: skip
        test = (f"Wilcoxon signed-rank test on the rows' absolute errors ({escape(c.wilcoxon_method)}): two-sided "
                f"p = {c.wilcoxon_p:.4g}; the challenger was closer on {c.challenger_closer} rows, the champion on "
                f"{c.champion_closer}. RMSE interval: {escape(how)}. Verdict: {escape(c.verdict)}.")  # fmt: skip
    else:
        test = "No paired test of the errors ran: the floors alone decided."
    if c.tested:
        rows += f"<tr><td>Wilcoxon p</td><td colspan=4>{c.wilcoxon_p:.4g}</td></tr>"
    rows += f"<tr><td>rows</td><td colspan=4>{c.rows}</td></tr>"
    return (
        f"<table><tr><th>metric</th><th>challenger</th><th>champion</th><th>difference</th><th>{level}</th></tr>{rows}</table>"
        f'<div class="sub">{escape(seen.strip())} {test} Differences are challenger - champion, in the target\'s units: '
        "above 0 the challenger errs more.</div>"
    )
