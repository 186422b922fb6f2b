"""Where batch prediction's model comes from: its manifest's digest (the cache key) and the listed files, verified."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable

from flyte.core.artifact.drift import REFERENCE_FILE, Reference, read_reference
from flyte.core.common.errors import DataValidationError
from flyte.core.common.files import staged_directory
from flyte.core.common.uris import child, is_plain_name
from flyte.core.artifact.manifest import MANIFEST_FILE, read_manifest, sha256, verified_bytes, verify_directory
from flyte.core.artifact.schema import MODEL_FILE, SCHEMA_FILE, ModelSchema, parse_schema

log = logging.getLogger(__name__)

#: The files batch prediction needs in a model directory: the booster, its schema and the drift reference.
REQUIRED = [MODEL_FILE, SCHEMA_FILE, REFERENCE_FILE]
_REFIT = "fit the model again with this version of the pipeline: fit writes reference.json beside model.ubj"

#: Copies the object at a URI (a file of the model directory) to a local path; raises when it cannot.
Getter = Callable[[str, Path], None]


def listed_files(manifest: bytes, uri: str) -> list[str]:
    """The file names a manifest lists, checked before any is fetched: plain names only, and the ones
    batch prediction needs among them."""
    where = child(uri, MANIFEST_FILE)
    try:
        files = json.loads(manifest)["files"]
        names = sorted(files)
    except (ValueError, KeyError, TypeError):
        raise DataValidationError(f"{where}: not a model manifest (no 'files' object)", hint=_REFIT) from None
    bad = [n for n in names if not is_plain_name(n) or n == MANIFEST_FILE]
    if bad:
        raise DataValidationError(f"{where}: lists {bad[0]!r}, not a plain file name in the directory")
    absent = [n for n in REQUIRED if n not in names]
    if absent:
        hint = _REFIT if absent == [REFERENCE_FILE] else "point the model input at a model directory written by fit"
        raise DataValidationError(f"{uri}: the model directory does not hold {', '.join(absent)}", hint=hint)
    return names


def manifest_digest(manifest: bytes, uri: str) -> str:
    """The sha256 of a model's manifest: it names every file's sha256, so it identifies the whole model."""
    listed_files(manifest, uri)  # refuse a directory batch prediction cannot use before anything is fetched
    return sha256(manifest)


def fetch_model(uri: str, expected_sha256: str, destination: Path, get: Getter) -> Path:
    """Copy the model directory at ``uri`` into the new local directory ``destination``, file by file.

    Fetches the manifest, refuses it unless its sha256 is ``expected_sha256`` (the model changed since it was
    fingerprinted), then exactly the files it lists, each refused unless it matches its digest. Nothing is left
    at ``destination`` on any failure.
    """
    destination = Path(destination)
    with staged_directory(destination) as staging:
        get(child(uri, MANIFEST_FILE), staging / MANIFEST_FILE)
        manifest = (staging / MANIFEST_FILE).read_bytes()
        if sha256(manifest) != expected_sha256:
            raise DataValidationError(
                f"{child(uri, MANIFEST_FILE)}: changed while this run was reading it (sha256 {sha256(manifest)[:12]}..., "
                f"expected {expected_sha256[:12]}...)", hint="run again once the model directory is complete",
            )  # fmt: skip
        for name in listed_files(manifest, uri):
            get(child(uri, name), staging / name)
        verify_directory(staging, REQUIRED)
    log.info("fetched model %s (manifest sha256 %s) into %s", uri, expected_sha256[:12], destination)
    return destination


def read_model_files(directory: Path) -> tuple[ModelSchema, Reference]:
    """The schema and drift reference of a local model directory, each verified against the manifest."""
    directory = Path(directory)
    manifest = read_manifest(directory, [MODEL_FILE, SCHEMA_FILE])
    if REFERENCE_FILE not in manifest.files:
        raise DataValidationError(f"{directory}: the model has no {REFERENCE_FILE} to measure drift against", hint=_REFIT)
    schema = parse_schema(verified_bytes(directory, manifest, SCHEMA_FILE), directory / SCHEMA_FILE)
    data = verified_bytes(directory, manifest, REFERENCE_FILE)
    return schema, read_reference(data, directory / REFERENCE_FILE, schema.features, schema.categories)
