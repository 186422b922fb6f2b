"""README.md and the manual it links in docs/: the pages' text, links, anchors and code blocks.

The tests that run what the documentation shows read it through here, so a snippet is found on whichever page holds
it, and a page that README links but that does not exist fails them instead of being skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"

#: A Markdown link's target: `[text](target)`; images and inline links alike.
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", flags=re.DOTALL | re.MULTILINE)


def prose(text: str) -> str:
    """The text without its fenced code blocks (a `](` inside a snippet is no link)."""
    return FENCE.sub("", text)


def links(path: Path) -> list[str]:
    """Every link target in the page's prose, in order."""
    return LINK.findall(prose(path.read_text(encoding="utf-8")))


def local_target(page: Path, target: str) -> tuple[Path, str] | None:
    """(file, anchor) a relative link of `page` points at; None for a web link or a mail address."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target):
        return None
    file_part, _, anchor = target.partition("#")
    return ((page.parent / file_part).resolve() if file_part else page), anchor


def linked_pages() -> list[Path]:
    """The Markdown pages README links to, in link order, each once. Fails naming any that does not exist."""
    pages: list[Path] = []
    for target in links(README):
        local = local_target(README, target)
        if local is None or local[0] == README or local[0].suffix != ".md":
            continue
        path = local[0]
        assert path.is_file(), f"README.md links {target}, which does not exist"
        if path not in pages:
            pages.append(path)
    return pages


def manual() -> dict[str, str]:
    """README.md and every page it links, by path relative to the repo: the text a reader can reach."""
    return {str(path.relative_to(REPO)): path.read_text(encoding="utf-8") for path in [README, *linked_pages()]}


def code_blocks(language: str) -> list[tuple[str, str]]:
    """(page, code) for every fenced block of `language` in README and the pages it links."""
    return [
        (page, block)
        for page, text in manual().items()
        for block in re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
    ]


def one_block(language: str, marker: str) -> tuple[str, str]:
    """The single block of `language` holding `marker`: (page, code). Fails if none or more than one does."""
    found = [(page, block) for page, block in code_blocks(language) if marker in block]
    assert len(found) == 1, f"expected one ```{language} block containing {marker!r} in the docs, found {len(found)}"
    return found[0]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (hyphens and underscores kept), spaces to -."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors a page's headings define; a repeated heading gets -1, -2... as on GitHub."""
    seen: dict[str, int] = {}
    result = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose(path.read_text(encoding="utf-8")), flags=re.MULTILINE):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result
