"""A model directory's manifest: the sha256 of every file, checked before any file is trusted."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from flyte.core.common.errors import DataValidationError
from flyte.core.common.uris import is_plain_name
from flyte.core.artifact.provenance import DataSummary, Provenance, from_dict

MANIFEST_FILE = "manifest.json"
#: The manifest layout this code writes and reads. Adding a field with a default keeps format 1; a field
#: whose absence or meaning would change how files are verified needs a new format number.
FORMAT = 1

_REFIT = "fit the model again: it is corrupt, was changed after saving, or predates integrity manifests"


@dataclass
class Manifest:
    """What a model directory holds, written last by ``model.save_model``.

    files: each file's name in the directory and the sha256 (hex) of its bytes; nothing else may be there.
    format: the manifest layout (``FORMAT``).

    The rest is written by ``publish.publish_model`` (a fit directory's manifest leaves them at their
    defaults): what the model was trained on and how, so it can be trained again.
    data: the training data's hashes and profile summary.
    dataset / split_params / hyperparameters: the DatasetSpec, SplitParams and Hyperparameters as JSON
        objects, exactly as the run was given them.
    split: the rule that split the data into train / validation / test (``split.SplitSummary`` as a JSON object:
        its ``rule`` - method, hash version, seed, fractions, key column - and each class's rows and shares per
        part); {} for a model published before the rule was recorded, whose training rows cannot be told apart.
    best_iteration: the last boosting round kept by early stopping (None: not recorded).
    metrics: the test metrics (``score.Metrics`` as a JSON object).
    problem_type: ``classification`` or ``regression``; objective: the XGBoost objective the booster was fitted
        on ("" when not recorded). Both also in schema.json; here so a registry reads them without the schema.
    provenance: versions, image, git commit and execution id.

    It detects corruption and accidental edits, not a deliberate forgery: whoever can rewrite a file can
    rewrite its digest here too. Fields are added with defaults, so manifests written before them still read.
    """

    files: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT
    data: DataSummary = field(default_factory=DataSummary)
    dataset: dict = field(default_factory=dict)
    split_params: dict = field(default_factory=dict)
    split: dict = field(default_factory=dict)
    hyperparameters: dict = field(default_factory=dict)
    best_iteration: int | None = None
    metrics: dict = field(default_factory=dict)
    problem_type: str = "classification"
    objective: str = ""
    provenance: Provenance = field(default_factory=Provenance)

    def to_json(self) -> str:
        """The manifest as the text of ``manifest.json``."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def sha256(data: bytes) -> str:
    """The hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def write_manifest(directory: Path, names: list[str], **extra) -> Manifest:
    """Hash the files ``names`` of ``directory`` as they are on disk and write their manifest beside them.

    ``extra`` sets the manifest's other fields (``data``, ``dataset``, ... ``provenance``).
    """
    directory = Path(directory)
    manifest = Manifest(files={name: sha256((directory / name).read_bytes()) for name in names}, **extra)
    (directory / MANIFEST_FILE).write_text(manifest.to_json())
    return manifest


def read_manifest(directory: Path, required: list[str]) -> Manifest:
    """The manifest of ``directory``, checked against the directory's listing (not yet the digests).

    ``required`` are the files the caller needs; the manifest must list each. Refuses, naming the file at
    fault: a missing or malformed manifest, a listed file that is missing, a file the manifest does not list.
    """
    directory = Path(directory)
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise DataValidationError(f"{directory}: not a saved model, {MANIFEST_FILE} is missing", hint=_REFIT)
    manifest = _parse(path)
    unlisted = [name for name in required if name not in manifest.files]
    if unlisted:
        raise DataValidationError(f"{path}: does not list {unlisted[0]}", hint=_REFIT)
    for name in sorted(manifest.files):
        if not (directory / name).is_file():
            raise DataValidationError(f"{directory}: not a saved model, {name} is missing", hint=_REFIT)
    extra = sorted(p.name for p in directory.iterdir() if p.name != MANIFEST_FILE and p.name not in manifest.files)
    if extra:
        # Only save_model writes here; anything else means the directory is not the one it saved.
        raise DataValidationError(f"{directory / extra[0]}: unexpected file, not listed in {MANIFEST_FILE}", hint=_REFIT)
    return manifest


def verified_bytes(directory: Path, manifest: Manifest, name: str) -> bytes:
    """The bytes of ``directory/name``, once their sha256 matches the manifest's.

    Callers parse these very bytes, so what was checked is what gets used.
    """
    path = Path(directory) / name
    data = path.read_bytes()
    actual, expected = sha256(data), manifest.files[name]
    if actual != expected:
        raise DataValidationError(
            f"{path}: sha256 {actual[:12]}... does not match {MANIFEST_FILE} ({expected[:12]}...); "
            "the file is corrupt or was changed after saving",
            hint=_REFIT,
        )
    return data


def verify_directory(directory: Path, required: list[str]) -> Manifest:
    """The manifest of ``directory`` once every file it lists matches its sha256 (none missing, none extra)."""
    manifest = read_manifest(directory, required)
    verify_rest(directory, manifest, [])
    return manifest


def verify_rest(directory: Path, manifest: Manifest, checked: list[str]) -> None:
    """Check the digest of every listed file but ``checked`` (the ones the caller verified as it read them)."""
    for name in sorted(manifest.files):
        if name not in checked:
            verified_bytes(directory, manifest, name)


def _parse(path: Path) -> Manifest:
    """``manifest.json``'s content as a Manifest, or a DataValidationError naming it."""
    try:
        raw = json.loads(path.read_bytes())
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise DataValidationError(f"{path}: not valid JSON ({exc})", hint=_REFIT) from None
    if not isinstance(raw, dict):
        raise DataValidationError(f"{path}: expected a JSON object, found {type(raw).__name__}", hint=_REFIT)
    if raw.get("format") != FORMAT:
        raise DataValidationError(f"{path}: format {raw.get('format')!r}, but this code reads format {FORMAT}")
    files = raw.get("files")
    if not (
        isinstance(files, dict)
        and all(isinstance(k, str) and _is_digest(v) for k, v in files.items())
        and all(is_plain_name(k) and k != MANIFEST_FILE for k in files)
    ):
        raise DataValidationError(f"{path}: 'files' must map file names in the directory to sha256 hex digests", hint=_REFIT)
    # Keys a later writer adds are kept out: verifying the files needs only the fields known here. The
    # descriptive fields are read leniently (a wrong type reads as absent): they are never used to verify.
    known = {f.name for f in fields(Manifest)}
    values = {k: v for k, v in raw.items() if k in known}
    for name in ("dataset", "split_params", "split", "hyperparameters", "metrics"):
        if not isinstance(values.get(name, {}), dict):
            del values[name]
    for name in ("problem_type", "objective"):
        if not isinstance(values.get(name, ""), str):
            del values[name]
    best = values.get("best_iteration")
    if not (best is None or (isinstance(best, int) and not isinstance(best, bool))):
        del values["best_iteration"]
    values["data"] = from_dict(DataSummary, values.get("data"))
    values["provenance"] = from_dict(Provenance, values.get("provenance"))
    return Manifest(**values)


def _is_digest(value) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
