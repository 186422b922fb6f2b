"""The registry's commands (``python -m flyte.core.registry ...``): list names and versions, roll back, clean staging."""

# Every failure prints one line on stderr and exits non-zero: 2 for something the user can fix (a missing version,
# a malformed pointer, an unknown name), 1 for a storage error.

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from flyte.core.common.errors import ActionableError, DataValidationError
from flyte.core.artifact.manifest import MANIFEST_FILE
from flyte.core.registry.registry import POINTER, VERSIONS, Registry
from flyte.core.registry.names import entry_location, has_unnamed_layout, model_names

log = logging.getLogger(__name__)

PROG = "python -m flyte.core.registry"
EXIT_USER_ERROR = 2
#: Longest error line printed, in characters.
MAX_LINE = 300
#: Default age, in hours, past which a staging directory belongs to no live promotion: a promotion's task times out
#: after 10 minutes (REGISTRY_TIMEOUT in flyte/workflows/config.py), so an hour leaves a wide margin.
STALE_AFTER_HOURS = 1.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Inspect and maintain a model registry (REGISTRY: a directory, s3:// or gs://).")
    sub = p.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="the model names (with NAME: that model's versions; * marks the champion)")
    listing.add_argument("registry")
    listing.add_argument("name", nargs="?", default="")
    rollback = sub.add_parser("rollback", help="make an older version of NAME the champion again (a pointer move)")
    for a in ("registry", "name", "version"):
        rollback.add_argument(a)
    for command, words in (("staging", "list"), ("clean-staging", "delete")):
        s = sub.add_parser(command, help=f"{words} NAME's staging left by interrupted promotions (never a complete version)")
        s.add_argument("registry")
        s.add_argument("name")
        s.add_argument("--older-than-hours", type=float, default=STALE_AFTER_HOURS, metavar="H",
                       help=f"only staging untouched for H hours (default {STALE_AFTER_HOURS:g})")  # fmt: skip
    return p


def main(argv: list[str]) -> int:
    """Run one command; every failure is one line on stderr and a non-zero exit status."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse printed its usage and error
        return int(exc.code or 0) and EXIT_USER_ERROR
    try:
        return COMMANDS[args.command](args)
    except ActionableError as exc:
        _error(exc.message + (f" ({exc.hint})" if exc.hint else ""))
        return EXIT_USER_ERROR
    except (OSError, ValueError) as exc:
        _error(f"{args.registry}: {type(exc).__name__}: {exc}")
        return 1


def _error(text: str) -> None:
    safe = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    sys.stderr.write(f"Error: {safe if len(safe) <= MAX_LINE else safe[: MAX_LINE - 1] + '…'}\n")


def _entry(registry: str, name: str) -> Registry:
    """The registry entry of ``name``, refusing a name the registry does not hold (listing its names)."""
    names = model_names(registry)
    if name not in names:
        known = f"names: {', '.join(names[:10])}" if names else "it holds no model yet"
        raise DataValidationError(f"{registry}: no model named {name[:80]!r}", hint=known)
    return Registry(entry_location(registry, name))


def list_command(args) -> int:
    if not args.name:
        names = model_names(args.registry)
        for name in names:
            champion = Registry(entry_location(args.registry, name)).champion()
            sys.stdout.write(f"{name}  champion: {champion.version if champion else 'none'}\n")
        if has_unnamed_layout(args.registry):
            raise DataValidationError(
                f"{args.registry}: holds {POINTER} or {VERSIONS}/ at its top, the layout before model names; it is not read",
                hint=f"move them into {args.registry.rstrip('/')}/NAME/ to keep them as the model NAME",
            )
        if not names:
            sys.stdout.write("no models yet\n")
        return 0
    registry = _entry(args.registry, args.name)
    champion = registry.champion()
    versions = registry.versions()
    for version in versions:
        mark = "*" if champion and champion.version == version else " "
        sys.stdout.write(f"{mark} {version}{'' if registry.manifest_digest(version) else '  (incomplete)'}\n")
    if champion and registry.manifest_digest(champion.version) != champion.manifest_sha256:
        raise DataValidationError(
            f"{registry.location}/{POINTER}: names version {champion.version}, which is missing, incomplete or changed",
            hint=f"roll back to a sound version: {PROG} rollback {args.registry} {args.name} VERSION",
        )
    return 0


def rollback_command(args) -> int:
    registry = _entry(args.registry, args.name)
    try:
        previous = registry.champion()
    except DataValidationError as exc:  # a malformed pointer: the rollback replaces it
        log.warning("%s", exc.message)
        previous = None
    digest = registry.manifest_digest(args.version)
    if digest:  # every file verified before the pointer moves to it
        with tempfile.TemporaryDirectory() as scratch:
            registry.fetch(args.version, digest, Path(scratch) / "check")
    reason = f"rollback by hand from {previous.version if previous else 'none'}"
    pointer = registry.point(args.version, [reason], datetime.now(timezone.utc))
    sys.stdout.write(f"{args.name}: champion is now {pointer.version}\n")
    return 0


def stale_staging(registry: Registry, older_than_hours: float, now: float | None = None) -> list[str]:
    """Paths (of ``registry.fs``) left by promotions that never finished and untouched for ``older_than_hours``:
    hidden staging directories and pointer temporaries (local), and versions without a manifest (object stores,
    where a version's files are written in place and its manifest last). A complete version is never listed."""
    fs, root = registry.fs, registry.root.rstrip("/")
    cutoff = (time.time() if now is None else now) - older_than_hours * 3600
    candidates = []
    for parent in (root, f"{root}/{VERSIONS}"):
        try:
            entries = fs.ls(parent, detail=False)
        except FileNotFoundError:
            continue
        for entry in entries:
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            hidden = name.startswith(".") and name != ".lock"
            incomplete = parent.endswith(VERSIONS) and not hidden and not fs.exists(f"{entry}/{MANIFEST_FILE}")
            if hidden or incomplete:
                candidates.append(entry.rstrip("/"))
    return [c for c in candidates if _newest(fs, c) < cutoff]


def _newest(fs, path: str) -> float:
    """The latest modification time (seconds since the epoch) of ``path`` or anything under it."""
    times = [_mtime(info) for info in [fs.info(path), *fs.find(path, withdirs=True, detail=True).values()]]
    return max(t for t in times if t is not None) if any(t is not None for t in times) else 0.0


def _mtime(info: dict) -> float | None:
    value = info.get("mtime", info.get("LastModified", info.get("updated", info.get("created"))))
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return float(value) if value is not None else None


def staging_command(args) -> int:
    registry = _entry(args.registry, args.name)
    found = stale_staging(registry, args.older_than_hours)
    for path in found:
        if args.command == "clean-staging":
            registry.fs.rm(path, recursive=True)
            log.info("removed %s", path)
        sys.stdout.write(f"{'removed' if args.command == 'clean-staging' else 'stale'}: {path}\n")
    if not found:
        sys.stdout.write(f"no staging older than {args.older_than_hours:g} h\n")
    return 0


COMMANDS = {"list": list_command, "rollback": rollback_command, "staging": staging_command, "clean-staging": staging_command}
