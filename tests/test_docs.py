"""README.md is a short front door and the manual in docs/ is whole: every page linked, every link resolving."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs_pages import DOCS, README, REPO, anchors, code_blocks, linked_pages, links, local_target, manual, slug

#: README stays a front door; the manual lives in docs/.
README_MAX_LINES = 250


def test_readme_is_a_front_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_readme_links_every_page_of_the_manual():
    """A page in docs/ that README does not link is a page nobody finds (docs/incoming/ holds drafts, not pages)."""
    pages = sorted(DOCS.glob("*.md"))
    assert pages, "docs/ holds no pages"
    unlinked = [str(p.relative_to(REPO)) for p in pages if p.resolve() not in linked_pages()]
    assert not unlinked, f"not linked from README.md: {unlinked}"


def test_a_page_readme_links_must_exist(tmp_path, monkeypatch):
    """The check the snippet tests rely on: a missing page fails them rather than leaving its snippets unrun."""
    import tests.docs_pages as docs_pages

    readme = tmp_path / "README.md"
    readme.write_text("See [the manual](docs/gone.md).\n```bash\necho '[x](docs/in-a-snippet.md)'\n```\n")
    monkeypatch.setattr(docs_pages, "README", readme)
    with pytest.raises(AssertionError, match="links docs/gone.md, which does not exist"):
        docs_pages.linked_pages()


@pytest.mark.parametrize("page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_anchor_resolves(page: Path):
    broken = []
    for target in links(page):
        local = local_target(page, target)
        if local is None:
            continue
        path, anchor = local
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target}: no heading with that anchor in {path.name}")
    assert not broken, f"{page.relative_to(REPO)}: {broken}"


def test_heading_anchors_follow_github():
    assert slug("What tuning bought: `make bench-tuning`") == "what-tuning-bought-make-bench-tuning"
    assert slug("1. Start the sandbox, pinned to Flyte 1.16") == "1-start-the-sandbox-pinned-to-flyte-116"
    assert slug("Peak memory and time per task, as a pod runs it") == "peak-memory-and-time-per-task-as-a-pod-runs-it"


def test_the_manual_has_no_process_notes():
    """The docs describe the project as it is, not how it got there or the machine it was measured on."""
    banned = ("before this rework", "the audit", "this shared 2-core machine", "this machine", "issue #", "(issue ")
    found = [(page, phrase) for page, text in manual().items() for phrase in banned if phrase in text.lower()]
    assert not found, found


def test_every_shell_block_of_the_manual_names_real_workflow_files():
    """A `flyte.cli run <file> <workflow>` the docs show names a file that exists and a workflow defined in it."""
    import re

    runs = [
        (page, path, name)
        for page, block in code_blocks("bash")
        for path, name in re.findall(r"(?:flyte\.cli|pyflyte)(?: [^\n]*?)? run (?:[^\n]*? )?(flyte/workflows/[\w/]+\.py) (\w+)", block)
    ]
    assert runs, "the docs show no workflow runs"
    readme_runs = re.findall(r"flyte\.cli run (flyte/workflows/[\w/]+\.py) (\w+)", README.read_text(encoding="utf-8"))
    for page, path, name in runs + [("README.md", p, n) for p, n in readme_runs]:
        source = REPO / path
        assert source.is_file(), f"{page}: {path} does not exist"
        assert re.search(rf"^def {name}\(", source.read_text(encoding="utf-8"), flags=re.MULTILINE), f"{page}: no {name} in {path}"
