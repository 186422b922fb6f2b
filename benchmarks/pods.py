"""Processes measured as a pod is: wall time, peak RSS from os.wait4, and an optional hard memory limit.

A limit puts the process in a memory cgroup of its own, the mechanism a kubelet uses, so going over it
ends in the kernel's OOM kill (exit 137) exactly as an OOMKilled pod does. ``MemoryLimiter.detect``
takes the first mechanism this machine offers: ``systemd-run --scope -p MemoryMax=`` (needs systemd as
init), a cgroup v2 directory with ``memory.max``, a cgroup v1 directory with ``memory.limit_in_bytes``
(what a Firecracker VM without systemd offers), else none: the peak is then only reported against the limit.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MIB = 1 << 20

#: Environment variable naming the runtime venv, which the Makefile's bench targets set (.venv-run: requirements.txt,
#: the image's set). The pipeline side runs from it, as `make run` and the pods do; the plain scripts need the dev
#: venv's scikit-learn and run from this interpreter.
RUN_VENV_ENV = "RUN_VENV"


@functools.lru_cache(maxsize=None)  # decided (and any warning logged) once per process, not once per pod or run
def runtime_bin() -> Path:
    """bin/ of the venv the pipeline side runs from: $RUN_VENV's, else this interpreter's (then the pipeline also
    imports the dev venv's scikit-learn, through xgboost: about 1.2 s a fit that pods never pay; logged)."""
    venv = os.environ.get(RUN_VENV_ENV, "")
    if not venv:
        log.warning("%s is not set: the pipeline side runs in this interpreter's venv (%s), with the test tools",
                    RUN_VENV_ENV, sys.prefix)  # fmt: skip
        return Path(sys.executable).parent
    bin_dir = Path(venv).resolve() / "bin"
    if not (bin_dir / "python").exists():
        raise FileNotFoundError(f"{RUN_VENV_ENV}={venv}: no bin/python there; `make {venv}/.installed` builds it")
    return bin_dir


@dataclass
class Measured:
    """One finished process. ``returncode`` < 0 means killed by that signal (-9: SIGKILL, e.g. OOM)."""

    name: str
    returncode: int
    seconds: float
    peak_rss_mib: float
    limit_mib: float | None = None  # the hard limit it ran under, if any
    cgroup_peak_mib: float | None = None  # the cgroup's peak charge (RSS plus page cache), if read
    oom_killed: bool = False
    log_dir: str = ""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


class MemoryLimiter:
    """Runs a command under a hard memory limit with whichever mechanism ``detect`` found."""

    def __init__(self, kind: str, root: Path | None = None):
        self.kind, self.root = kind, root

    @classmethod
    def detect(cls) -> MemoryLimiter:
        candidates = []
        if Path("/run/systemd/system").is_dir() and shutil.which("systemd-run"):
            candidates.append(cls("systemd-run"))
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if (
                controllers == ""
                and (mount := _mount_of("cgroup2", None))
                and "memory" in _read(mount / "cgroup.controllers")
            ):
                candidates.append(cls("cgroup-v2", mount / path.lstrip("/")))
            elif "memory" in controllers.split(",") and (mount := _mount_of("cgroup", "memory")):
                candidates.append(cls("cgroup-v1", mount / path.lstrip("/")))
        for limiter in candidates:
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    probe = limiter.run("probe", ["true"], dict(os.environ), Path(tmp), Path(tmp), 64 * MIB, quiet=True)
            except OSError as exc:
                log.info("memory limit via %s unavailable: %s", limiter.kind, exc)
                continue
            if probe.returncode == 0:
                return limiter
        return cls("none")

    def run(self, name, argv, env, cwd, log_dir, limit_bytes: int | None, quiet: bool = False) -> Measured:
        """Run ``argv`` to completion, stdout/stderr into ``log_dir``, under ``limit_bytes`` if given."""
        if limit_bytes is None or self.kind == "none":
            return run_measured(name, argv, env, cwd, log_dir)
        if self.kind == "systemd-run":
            # --scope execs the command in place, so the pid wait4 reaps is the command's own.
            prefix = [
                "systemd-run",
                "--scope",
                "--quiet",
                "-p",
                f"MemoryMax={limit_bytes}",
                "-p",
                "MemorySwapMax=0",
                "--",
            ]
            result = run_measured(name, prefix + argv, env, cwd, log_dir)
            result.oom_killed = result.returncode == -9
        else:
            cgroup = self.root / f"flyte-bench-{uuid.uuid4().hex[:8]}"
            cgroup.mkdir()
            try:
                v2 = self.kind == "cgroup-v2"
                (cgroup / ("memory.max" if v2 else "memory.limit_in_bytes")).write_text(str(limit_bytes))
                if v2:
                    (cgroup / "memory.swap.max").write_text("0")
                # The shell joins the cgroup, then execs the command: same pid, limited from its first byte.
                wrapper = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup), *argv]
                result = run_measured(name, wrapper, env, cwd, log_dir)
                peak = _read(cgroup / ("memory.peak" if v2 else "memory.max_usage_in_bytes")).strip()
                result.cgroup_peak_mib = round(int(peak) / MIB, 1) if peak.isdigit() else None
                events = _read(cgroup / ("memory.events" if v2 else "memory.oom_control"))
                result.oom_killed = bool(re.search(r"^oom_kill [1-9]", events, flags=re.MULTILINE))
            finally:
                cgroup.rmdir()
        result.limit_mib = round(limit_bytes / MIB, 1)
        if not quiet:
            log.info(
                "%s ran under a %.0f MiB limit (%s)%s",
                name,
                result.limit_mib,
                self.kind,
                ", OOM-killed" if result.oom_killed else "",
            )
        return result


def run_measured(name: str, argv: list[str], env: dict[str, str], cwd: Path, log_dir: Path) -> Measured:
    """Run ``argv`` as a child, reap it with os.wait4 and keep its wall time and peak RSS."""
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # Output goes to files, not pipes: nothing reads a pipe while wait4 blocks, so a chatty child would hang.
    with open(log_dir / "stdout.txt", "wb") as out, open(log_dir / "stderr.txt", "wb") as err:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it is reaped, so it never waits again
    # ru_maxrss is KiB on Linux: the child's own peak (or its largest waited-for descendant's).
    return Measured(
        name=name,
        returncode=proc.returncode,
        seconds=round(seconds, 3),
        peak_rss_mib=round(usage.ru_maxrss / 1024, 1),
        log_dir=str(log_dir),
    )


def read_output(result: Measured, stream: str = "stdout") -> str:
    return (Path(result.log_dir) / f"{stream}.txt").read_text(encoding="utf-8", errors="replace")


def parse_quantity(value: str) -> int:
    """Bytes in a Kubernetes memory quantity: ``2Gi``, ``512Mi``, ``1G``, ``1500000``."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGTPE]i?)?", value.strip())
    if not match:
        raise ValueError(f"not a memory quantity: {value!r}")
    number, unit = float(match[1]), match[2] or ""
    power = "KMGTPE".index(unit[0]) + 1 if unit else 0
    return int(number * (1024 if unit.endswith("i") else 1000) ** power)


def _mount_of(fstype: str, option: str | None) -> Path | None:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, target, kind, options = line.split()[:4]
        if kind == fstype and (option is None or option in options.split(",")):
            return Path(target)
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
