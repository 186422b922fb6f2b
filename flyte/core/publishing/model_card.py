"""The model card: one self-contained HTML page saying what a model is for, how good it is, and where it came from."""

# Same standard as the report (common/html.py): styles scoped under ``.mr``, inline SVG with a viewBox, no scripts,
# nothing fetched, every string from the data, the user's template or the environment escaped.

from __future__ import annotations

import json
import re
import string
from dataclasses import asdict
from html import escape

from markdown_it import MarkdownIt

from flyte.core.evaluation.statistics.bootstrap import BOOTSTRAP, Intervals
from flyte.core.evaluation.statistics.calibration import Calibration
from flyte.core.evaluation.statistics.class_metrics import ClassMetrics
from flyte.core.data.dataset import DataProfile
from flyte.core.data.leakage import LeakCheck
from flyte.core.artifact.manifest import Manifest
from flyte.core.common.html import PALETTE, STYLE, page, section, svg_open
from flyte.core.evaluation.report import COLUMNS_SHOWN, importance_svg, profile_tables
from flyte.core.evaluation.score import Metrics

CARD_STYLE = STYLE + """
.mr .use p{margin:6px 0;max-width:620px} .mr .use ul{margin:6px 0;padding-left:20px;max-width:600px}
.mr pre{background:#f9fafb;border:1px solid #e5e7eb;border-radius:6px;padding:6px 8px;font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere;max-width:600px;margin:0}
.mr table.kv td{text-align:left;vertical-align:top} .mr table.kv td:first-child{color:#6b7280;white-space:nowrap}
.mr .ci{color:#6b7280;white-space:nowrap}
"""

#: The template's Markdown reader: CommonMark with raw HTML off (escaped as text) and no images.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable("image")
#: The characters that could make a filled-in value Markdown (emphasis, links, code, entities): escaped as literal.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>!#&|~])")

_METRIC_NAMES = {
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "roc_auc": "ROC AUC",
    "log_loss": "log loss (lower is better)",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
}


def render_card(
    template: str,
    manifest: Manifest,
    profile: DataProfile,
    metrics: Metrics,
    intervals: Intervals,
    per_class: list[ClassMetrics],
    curve: Calibration,
    importance: dict[str, float],
    leakage: LeakCheck | None = None,
) -> str:
    """The card's HTML. ``template`` is the user's intended-use text (see ``fill_template``); ``manifest`` the
    published manifest's descriptive fields (its ``files`` are not shown: they include this very page). ``leakage``
    is what fit's leakage check found (None for a model fitted without one)."""
    source = str(manifest.dataset.get("source", ""))
    body = [
        "<h1>Model card</h1>",
        f'<div class="sub">predicts <b>{escape(profile.target)}</b> from {len(profile.feature_columns)} features · '
        f"{len(metrics.labels)} classes · trained on {escape(source)} (sha256 {escape(profile.sha256[:12])})</div>",
        section("Intended use and limitations", f'<div class="use">{render_template(fill_template(template, profile, source))}</div>'),
        section(f"Test metrics, with {100 * intervals.level:g}% intervals", _metrics_table(metrics, intervals)),
        section("Per-class metrics", _class_table(per_class)),
        section("Calibration", _calibration_figure(curve)),
        section("Feature importance (total gain)", importance_svg(importance)),
        section("Leakage check", leakage_table(leakage, profile)),
        section("Data profile", profile_tables(profile)),
        section("Split", _split_table(manifest.split)),
        section("Provenance", _provenance_table(manifest)),
    ]
    return page("Model card", body, CARD_STYLE)


#: A line ``<!-- classification -->`` or ``<!-- regression -->`` opens text for that problem type only, up to the
#: next such line or ``<!-- end -->``; the marker lines themselves never reach the card.
_PROBLEM_MARK = re.compile(r"^\s*<!--\s*(classification|regression|end)\s*-->\s*$")


def for_problem(template: str, problem_type: str) -> str:
    """The template's text for ``problem_type``: lines in another problem type's blocks (see _PROBLEM_MARK) and
    the marker lines dropped, every other line kept as written."""
    kept, block = [], "end"
    for line in template.splitlines(keepends=True):
        mark = _PROBLEM_MARK.match(line)
        if mark:
            block = mark.group(1)
        elif block in ("end", problem_type):
            kept.append(line)
    return "".join(kept)


def fill_template(template: str, profile: DataProfile, source: str) -> str:
    """The template's text for the profile's problem type (``for_problem``) with ``$dataset``, ``$target``,
    ``$labels``, ``$rows`` and ``$features`` filled in; other ``$`` text is left as written. The values are
    Markdown-escaped (a column named ``*a*`` stays literal); HTML escaping happens when the text is rendered."""
    template = for_problem(template, profile.problem_type)
    values = {
        "dataset": source,
        "target": profile.target,
        "labels": ", ".join(profile.labels) if profile.labels else profile.problem_type,  # a regression has none
        "rows": str(profile.rows),
        "features": _names(profile.feature_columns),
    }
    return string.Template(template).safe_substitute({k: _MARKDOWN_SPECIAL.sub(r"\\\1", v) for k, v in values.items()})


def _names(features: list[str], most: int = COLUMNS_SHOWN) -> str:
    """The feature names for the template: all of them up to ``most``, else the first ``most`` and a count."""
    head = ", ".join(features[:most])
    return head if len(features) <= most else f"{head} and {len(features) - most} more"


def render_template(text: str) -> str:
    """The filled template, CommonMark, as HTML safe to embed: raw HTML in it is shown as text, images are left
    out (the card fetches nothing), link targets markdown-it refuses (``javascript:``, ``data:``) stay text, and
    headings start at ``h3`` (under the card's own ``h2`` sections)."""
    tokens = _MARKDOWN.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 2, 6)}"
    return _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})


def _metrics_table(m: Metrics, ci: Intervals) -> str:
    positive = f" (class {m.labels[-1]})" if m.average == "binary" and m.labels else " (macro)"
    rows = []
    for name, shown in _METRIC_NAMES.items():
        if name in ("precision", "recall", "f1"):
            shown += positive
        low, high = ci.low.get(name, float("nan")), ci.high.get(name, float("nan"))
        interval = f"{low:.3f} – {high:.3f}" if low == low and high == high else "undefined"
        undefined = ci.undefined.get(name, 0)
        note = f" ({undefined} resamples undefined)" if undefined else ""
        method = ci.method.get(name, BOOTSTRAP)
        rows.append(
            f"<tr><td>{escape(shown)}</td><td>{getattr(m, name):.3f}</td><td class=\"ci\">{interval}{note}</td>"
            f"<td class=\"ci\">{escape(method)}</td></tr>"
        )
    tail = 100 * (1 - ci.level) / 2
    if ci.replicates:
        how = (f"Bootstrap intervals: the {tail:g}th and {100 - tail:g}th percentiles over {ci.replicates} resamples of "
               f"the test rows with replacement (seed {ci.seed}).")  # fmt: skip
    else:
        how = ("Analytic intervals (no resampling, used on large test sets): Wilson score intervals for proportions, "
               "DeLong's variance for ROC AUC, and normal intervals from each metric's per-row variance (the delta "
               "method) for the rest.")  # fmt: skip
    caption = (
        f"On {m.rows} held-out test rows. {how} They show how much the estimate moves with the sample, not how the "
        "model will do on data unlike the test rows."
    )
    return (
        f"<table><tr><th>metric</th><th>estimate</th><th>{100 * ci.level:g}% interval</th><th>method</th></tr>"
        f'{"".join(rows)}</table><p class="cap">{escape(caption)}</p>'
    )


def _class_table(per_class: list[ClassMetrics]) -> str:
    rows = "".join(
        f"<tr><td>{escape(c.label)}</td><td>{c.precision:.3f}</td><td>{c.recall:.3f}</td><td>{c.f1:.3f}</td><td>{c.support}</td></tr>"
        for c in per_class
    )
    return f"<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>{rows}</table>"


def _calibration_figure(c: Calibration) -> str:
    side, left, top, bottom = 260, 46, 10, 42
    w, h = left + side + 14, top + side + bottom

    def px(x: float, y: float) -> str:
        return f"{left + x * side:.1f},{top + (1 - y) * side:.1f}"

    x_name, y_name = ("predicted probability", "observed share") if c.kind == "positive" else ("confidence", "accuracy")
    parts = [svg_open(w, h, "reliability diagram")]
    parts.append(f'<rect x="{left}" y="{top}" width="{side}" height="{side}" fill="#ffffff" stroke="#d1d5db"/>')
    parts.append(f'<polyline points="{px(0, 0)} {px(1, 1)}" fill="none" stroke="#9ca3af" stroke-dasharray="4 4"/>')
    for k in (0, 0.5, 1):
        parts.append(f'<text x="{left + k * side:.1f}" y="{top + side + 15}" text-anchor="middle" font-size="10" fill="#6b7280">{k:g}</text>')
        parts.append(f'<text x="{left - 6}" y="{top + (1 - k) * side + 4:.1f}" text-anchor="end" font-size="10" fill="#6b7280">{k:g}</text>')
    parts.append(f'<text x="{left + side / 2:.1f}" y="{h - 6}" text-anchor="middle" font-size="11" fill="#374151">{x_name}</text>')
    parts.append(f'<text x="14" y="{top + side / 2:.1f}" font-size="11" fill="#374151" transform="rotate(-90 14 {top + side / 2:.1f})" text-anchor="middle">{y_name}</text>')
    if c.confidence:
        points = " ".join(px(x, y) for x, y in zip(c.confidence, c.observed))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>')
        peak = max(c.counts)
        for x, y, n in zip(c.confidence, c.observed, c.counts):
            r = 2.5 + 3.5 * (n / peak) ** 0.5  # area grows with the bin's rows
            parts.append(f'<circle cx="{left + x * side:.1f}" cy="{top + (1 - y) * side:.1f}" r="{r:.1f}" fill="{PALETTE[0]}">'
                         f"<title>{n} rows: mean {x:.3f}, observed {y:.3f}</title></circle>")
    parts.append("</svg>")
    what = (f"the predicted probability of class {c.label} against the share of rows that were of it"
            if c.kind == "positive" else "the top-label confidence against how often the predicted class was right")  # fmt: skip
    caption = (
        f"Expected calibration error {c.ece:.3f}. Each point is one of {c.bins} equal-width bins (empty ones left out; "
        f"bigger = more rows): {what}. On the dashed diagonal, probabilities can be taken at their word."
    )
    return f'<div>{"".join(parts)}<p class="cap" style="max-width:{w + 120}px">{escape(caption)}</p></div>'


#: Features listed in the card's leakage table, highest score first; the rest are summarised in a line.
LEAK_ROWS_SHOWN = 20


def leakage_table(check: LeakCheck | None, profile: DataProfile) -> str:
    """Each feature's leak score (highest first), the threshold and what was allowed, and the index columns ingest left out."""
    dropped = profile.dropped_index_columns
    index_note = (
        f"Left out at ingest as the Parquet file's pandas index, not data: {', '.join(dropped)}." if dropped else ""
    )
    if check is None:
        text = "This model was fitted without a leakage check. " + index_note
        return f'<p class="cap">{escape(text)}</p>'
    ranked = sorted(check.scores.items(), key=lambda kv: (-kv[1], kv[0]))
    allowed = set(check.allowed)

    def status(name: str, score: float) -> str:
        if score > check.threshold:
            return "above the threshold, allowed" if name in allowed else "above the threshold"
        return "allowed (below the threshold)" if name in allowed else "passed"

    rows = "".join(
        f"<tr><td>{escape(f)}</td><td>{s:.4f}</td><td style='text-align:left'>{status(f, s)}</td></tr>"
        for f, s in ranked[:LEAK_ROWS_SHOWN]
    )
    rest = len(ranked) - LEAK_ROWS_SHOWN
    more = f" {rest} more features scored at most {ranked[LEAK_ROWS_SHOWN][1]:.4f} and are not listed." if rest > 0 else ""
    measure = (
        "the share of the target's variance explained by the mean of each of the feature's quantile bins or "
        "categories (R²; 0 = no help, 1 = determines the target)" if profile.problem_type == "regression" else
        "the share of the errors of always guessing the majority class that the feature's values remove (Goodman-Kruskal "
        "lambda over quantile bins or categories; 0 = no help, 1 = determines the class)"
    )  # fmt: skip
    caption = (
        f"Every feature alone against the target on {check.rows} training rows (seed {check.seed}): {measure}. "
        f"A feature above the threshold, "
        f"{check.threshold:g}, is refused unless the dataset spec allows it (allow_predictive_columns: "
        f"{', '.join(check.allowed) if check.allowed else 'none'}).{more} {index_note}"
    )
    return (
        f"<table><tr><th>feature</th><th>leak score</th><th style='text-align:left'>result</th></tr>{rows}</table>"
        f'<p class="cap">{escape(caption)}</p>'
    )


def _provenance_table(m: Manifest) -> str:
    p, d = m.provenance, m.data
    commit = (p.git_commit + (" (uncommitted changes)" if p.git_dirty else "")) if p.git_commit else "unknown"
    rows = [
        ("source sha256", d.source_sha256 or "unknown"),
        ("table sha256", d.table_sha256 or "unknown"),
        ("best iteration", "unknown" if m.best_iteration is None else str(m.best_iteration)),
        ("Python", p.python),
        *((name, version or "not installed") for name, version in sorted(p.libraries.items())),
        ("image", p.image or "none (not run in an image)"),
        ("git commit", commit),
        ("execution", p.execution_id or "unknown"),
    ]
    cells = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
    settings = "".join(
        f"<h3>{escape(title)}</h3><pre>{escape(json.dumps(value, indent=1, sort_keys=True))}</pre>"
        for title, value in (("Dataset spec", m.dataset), ("Split parameters", m.split_params), ("Hyperparameters", m.hyperparameters))
    )
    note = "Everything here is also in manifest.json, beside this page; docs/model-directory.md in the project shows how to train this model again from it."
    return f'<table class="kv">{cells}</table>{settings}<p class="cap">{escape(note)}</p>'


def _split_table(split: dict) -> str:
    """The split's rule and each class's realised rows and shares per part (from the manifest's ``split``)."""
    rule = split.get("rule") or {}
    if not rule.get("method"):
        return '<p class="cap">No split rule recorded: the gate treats every row as one this model may have seen.</p>'
    key = rule.get("key_column") or ""
    how = (f"{rule['method']} v{rule.get('hash_version')}, seed {rule.get('seed')}, test_ratio {rule.get('test_ratio')}, "
           f"validation_ratio {rule.get('validation_ratio')}, hashing " + (f"key column {key!r}" if key else "every column of the row"))
    head = "<tr><th>class</th><th>train</th><th>validation</th><th>test</th></tr>"
    rows = "".join(
        f"<tr><td>{escape(str(label))}</td>" + "".join(
            f"<td>{n} ({100 * share:.1f}%)</td>" for n, share in zip(counts, split.get("class_shares", {}).get(label, [0, 0, 0]))
        ) + "</tr>"
        for label, counts in split.get("class_counts", {}).items()
    )  # fmt: skip
    note = ("Each row's part is decided by a seeded hash of the row, so appending rows never moves one; the parts are "
            "stratified in expectation, and these are the realised rows (and shares of each class) per part.")
    return f'<p>{escape(how)}</p><table><thead>{head}</thead><tbody>{rows}</tbody></table><p class="cap">{escape(note)}</p>'


def as_json(value) -> dict:
    """A parameter dataclass as the JSON object a manifest keeps."""
    return json.loads(json.dumps(asdict(value)))
