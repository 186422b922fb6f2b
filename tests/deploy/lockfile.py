"""Reads the hashed locks that `make lock` writes (requirements.txt, requirements-dev.txt, ...): each pin, its
environment marker and its sha256 hashes, so tests can check the lock and what an environment holds against it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

# One requirement after continuation lines are joined: `name==version [; marker] --hash=sha256:... [--hash=...]`.
_PIN = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;]+)\s*(?:;\s*(?P<marker>.*?))?\s*"
    r"(?P<hashes>(?:--hash=sha256:[0-9a-f]{64}\s*)+)"
)
_IN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[A-Za-z0-9,._-]+\])?==(?P<version>[^\s;]+)\s*(?:;\s*(?P<marker>.*))?")


@dataclass(frozen=True)
class Pin:
    name: str  # canonical: lower case, runs of -_. as one -
    version: str
    marker: str | None
    hashes: tuple[str, ...] = ()

    def applies(self, environment: dict[str, str]) -> bool:
        return self.marker is None or Marker(self.marker).evaluate(environment)


def read_lock(path: Path) -> list[Pin]:
    """Every requirement of a lock. Raises ValueError on a line that is not an exact pin with at least one hash."""
    logical = re.sub(r"\\\n", " ", path.read_text())
    pins = []
    for number, line in enumerate(logical.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _PIN.fullmatch(line)
        if match is None:
            raise ValueError(f"{path.name}: not an exact pin with sha256 hashes: {line[:120]!r}")
        hashes = tuple(re.findall(r"sha256:([0-9a-f]{64})", match["hashes"]))
        pins.append(Pin(canonicalize_name(match["name"]), match["version"], match["marker"] or None, hashes))
    return pins


def read_in(path: Path) -> list[Pin]:
    """The direct requirements of a .in file (exact pins, no hashes); -r/-c lines are skipped."""
    pins = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = _IN.fullmatch(line)
        if match is None:
            raise ValueError(f"{path.name}: not an exact pin: {line!r}")
        marker = match["marker"].strip() if match["marker"] else None
        pins.append(Pin(canonicalize_name(match["name"]), match["version"], marker))
    return pins


def expected_set(pins: list[Pin], environment: dict[str, str]) -> dict[str, str]:
    """{name: version} of what an environment described by `environment` (PEP 508 marker values) installs."""
    return {pin.name: pin.version for pin in pins if pin.applies(environment)}
