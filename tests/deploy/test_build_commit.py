"""The image carries the commit it was built from (GIT_COMMIT), which model manifests record."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_build_script_passes_head_and_the_dirty_flag_as_a_build_arg():
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip())
    done = subprocess.run(["bash", "docker_build_and_tag.sh", "--dry-run", "-v", "t"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (arg,) = re.findall(r"GIT_COMMIT=(\S+)", done.stderr)
    assert arg == head + ("-dirty" if dirty else "")


def test_the_dockerfile_turns_the_build_arg_into_the_environment():
    text = (ROOT / "Dockerfile").read_text()
    assert 'ARG GIT_COMMIT=""' in text and "ENV GIT_COMMIT=${GIT_COMMIT}" in text
