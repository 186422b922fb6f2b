"""The page shell and drawing helpers that every HTML page shares (report, model card, batch report, Decks)."""

# A page is self-contained: inline CSS and SVG, no scripts, nothing fetched. Its CSS is scoped under one class
# (``.mr`` for the report family) so it can sit in a Flyte Deck without restyling the Deck's own tabs. Every SVG
# carries a viewBox and scales down to a narrow pane instead of being clipped; text inside an SVG is shortened
# (middle elided) to the room it has, with the full text kept as a hover title. Every text from data, settings or
# the environment goes through ``escape`` before it is placed in a page. Python functions build the pages rather
# than jinja2 templates: most of a page is computed SVG, so a template would hold little more than this shell,
# while adding a second place where escaping has to be right.

from __future__ import annotations

from html import escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777")
INK, MUTED, GRID = "#111827", "#6b7280", "#e5e7eb"

#: The report family's CSS, scoped under ``.mr``.
STYLE = """
.mr{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;max-width:1100px;padding:8px 16px;line-height:1.35}
.mr h1{font-size:22px;margin:0 0 4px} .mr h2{font-size:16px;margin:28px 0 10px;color:#374151}
.mr h3{font-size:14px;margin:18px 0 6px;color:#374151}
.mr .sub{color:#6b7280;font-size:13px;margin-bottom:16px;overflow-wrap:anywhere}
.mr .cards{display:flex;flex-wrap:wrap;gap:10px}
.mr .card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:110px}
.mr .card .v{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums} .mr .card .k{font-size:12px;color:#6b7280}
.mr .grid{display:flex;flex-wrap:wrap;gap:16px 48px;align-items:flex-start}
.mr .fig{display:flex;flex-wrap:wrap;gap:8px 20px;align-items:flex-start}
.mr svg{display:block;max-width:100%;height:auto} .mr svg text{font-family:inherit}
.mr .cap{color:#4b5563;font-size:12px;margin:6px 0 0;max-width:520px}
.mr .legend{list-style:none;margin:6px 0 0;padding:0;font-size:12px;max-width:280px;display:grid;grid-template-columns:auto 1fr auto;gap:5px 8px;align-items:baseline}
.mr .legend li{display:contents} .mr .legend li span{overflow-wrap:anywhere}
.mr .sw{flex:none;display:inline-block;width:14px;height:0;border-top:3px solid;position:relative;top:-3px}
.mr .legend b{font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
.mr table{border-collapse:collapse;font-size:13px}
.mr td,.mr th{border-bottom:1px solid #e5e7eb;padding:4px 10px;text-align:right;font-variant-numeric:tabular-nums}
.mr th:first-child,.mr td:first-child{text-align:left;overflow-wrap:anywhere} .mr th{color:#374151;background:#f9fafb}
.mr td.role{text-align:left;color:#6b7280}
.mr .mute{color:#9ca3af}
.mr .meter{display:inline-block;width:60px;height:8px;background:#f3f4f6;border-radius:2px;margin-right:8px;vertical-align:middle}
.mr .meter span{display:block;height:8px;border-radius:2px}
"""


def page(title: str, body: list[str], style: str = STYLE, scope: str = "mr") -> str:
    """A self-contained HTML page: ``body`` (HTML parts) inside ``<div class=scope>``, styled by ``style`` (CSS
    scoped under that class; the report family's by default), titled ``title`` (escaped)."""
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<style>{style}</style></head><body><div class="{scope}">{"".join(body)}</div></body></html>'
    )


def section(title: str, content: str) -> str:
    """An ``h2`` titled block of the page."""
    return f"<div><h2>{escape(title)}</h2>{content}</div>"


def text_width(text: str, size: float) -> float:
    """A generous estimate of rendered width in px (wide sans fonts run about 0.6 em a character)."""
    return len(text) * size * 0.62


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, the middle elided: names that share a long prefix stay told apart."""
    if len(text) <= limit:
        return text
    tail = max((limit - 1) // 3, 1)
    return text[: max(limit - 1 - tail, 1)] + "…" + text[-tail:]


def svg_text(x: float, y: float, full: str, limit: int, attrs: str) -> str:
    """A <text> showing at most ``limit`` characters; when shortened, the full text is its hover title."""
    shown = clip(full, limit)
    title = f"<title>{escape(full)}</title>" if shown != full else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" {attrs}>{title}{escape(shown)}</text>'


def svg_open(width: float, height: float, label: str) -> str:
    """An ``<svg>`` start tag ``width`` x ``height`` px with a matching viewBox, labelled ``label`` for screen readers."""
    w, h = round(width), round(height)
    return f'<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(label)}">'


def svg_empty(label: str, message: str) -> str:
    """A placeholder chart, so the page keeps its three figures even when one has nothing to draw."""
    return f'{svg_open(240, 40, label)}<text x="0" y="24" font-size="12" fill="{MUTED}">{escape(message)}</text></svg>'


def meter(fraction: float, color: str) -> str:
    """A small horizontal bar filled to ``fraction`` (clamped to [0, 1]) in ``color``."""
    width = max(0.0, min(1.0, fraction)) * 100
    return f'<span class="meter"><span style="width:{width:.0f}%;background:{color}"></span></span>'
