"""Model names: each name is an entry of its own in a registry, ``<registry>/<name>/``, with its versions and champion."""

# A champion predicting one target never stands in the way of a model of another dataset: they have different names.

from __future__ import annotations

import re
from urllib.parse import urlparse

import fsspec

from flyte.core.common import uris
from flyte.core.common.errors import DataValidationError

#: A model name: lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64
#: characters. Lower case only, so two names never collide on a case-insensitive disk (macOS, Windows).
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
#: The names of an entry's own parts: never model names, so an entry cannot be mistaken for a registry.
RESERVED = frozenset({"versions", "claims", "champion.json"})
#: The name when nothing usable can be derived from the data's location.
FALLBACK = "model"
#: File-name endings that say how a table is stored, not what it holds: stripped when deriving a name.
_STORAGE_SUFFIXES = (".gz", ".bz2", ".zst", ".zstd", ".lz4", ".xz", ".csv", ".tsv", ".txt", ".parquet", ".pq", ".data")


def derive_model_name(source: str) -> str:
    """The default model name for data at ``source``: its file name without storage suffixes, lower-cased, every
    run of other characters made one '-'. ``bundled://pima-indians-diabetes.data.csv`` gives
    ``pima-indians-diabetes``, ``s3://bucket/2026/churned.csv.gz`` gives ``churned``."""
    parsed = urlparse(source)
    path = parsed.path if uris.scheme(source) else source
    stem = re.split(r"[/\\]", (parsed.netloc if not parsed.path.strip("/") else "") + path.rstrip("/\\"))[-1].lower()
    while True:
        cut = next((s for s in _STORAGE_SUFFIXES if stem.endswith(s) and len(stem) > len(s)), "")
        if not cut:
            break
        stem = stem[: -len(cut)]
    name = re.sub(r"[^a-z0-9._-]+", "-", stem).strip("-._")[:64].rstrip("-._")
    return name if name and NAME.fullmatch(name) and name not in RESERVED else FALLBACK


def check_model_name(name: str) -> str:
    """``name`` if it is a valid model name (NAME, not reserved); refused in one line otherwise."""
    if not NAME.fullmatch(name) or name in RESERVED:
        suggestion = derive_model_name(name)
        raise DataValidationError(
            f"model name {name[:80]!r} is not valid: use 1-64 lower-case letters, digits, '.', '_' or '-', starting "
            f"with a letter or digit (not {', '.join(sorted(RESERVED))})",
            hint=f"for example {suggestion!r}",
        )
    return name


def resolve_model_name(name: str, source: str) -> str:
    """The model name a run promotes under: ``name`` when given (checked), else the one derived from ``source``."""
    return check_model_name(name) if name else derive_model_name(source)


def entry_location(registry: str, name: str) -> str:
    """Where the model ``name`` is kept in ``registry``: ``<registry>/<name>``."""
    return uris.child(registry, check_model_name(name))


def model_names(registry: str) -> list[str]:
    """Every model name in ``registry``, sorted; refused in one line when the registry does not exist."""
    fs, root = fsspec.core.url_to_fs(registry, use_listings_cache=False)
    try:
        entries = fs.ls(root, detail=True)
    except FileNotFoundError:
        raise DataValidationError(f"{registry}: no such model registry", hint="check the path; training creates it on the first promotion") from None
    if not fs.isdir(root):
        raise DataValidationError(f"{registry}: not a directory, so not a model registry")
    names = (e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries if e.get("type") == "directory")
    return sorted(n for n in names if NAME.fullmatch(n) and n not in RESERVED)


def has_unnamed_layout(registry: str) -> bool:
    """True when ``registry`` holds a champion or versions at its top, as registries did before model names."""
    fs, root = fsspec.core.url_to_fs(registry, use_listings_cache=False)
    return any(fs.exists(f"{root.rstrip('/')}/{part}") for part in ("champion.json", "versions"))
