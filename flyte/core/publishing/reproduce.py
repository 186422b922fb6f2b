"""Training a model again from its manifest's recorded inputs, and telling whether the result is the same model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

from flyte.core.data.dataset import DatasetSpec
from flyte.core.common.errors import DataValidationError
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.artifact.manifest import Manifest, read_manifest, sha256
from flyte.core.artifact.schema import MODEL_FILE, SCHEMA_FILE
from flyte.core.data.split import PART_NAMES, SplitParams

log = logging.getLogger(__name__)


class Recorded(NamedTuple):
    """What a published manifest says a model was trained from: enough to train it again."""

    dataset: DatasetSpec
    split_params: SplitParams
    hyperparameters: Hyperparameters
    manifest: Manifest


class Retrained(NamedTuple):
    """The model trained again: its directory, and whether its booster is byte for byte the recorded one."""

    directory: Path
    model_sha256: str
    recorded_sha256: str

    @property
    def identical(self) -> bool:
        return self.model_sha256 == self.recorded_sha256


def recorded_inputs(directory: Path) -> Recorded:
    """The inputs recorded in ``directory``'s manifest, checked as strictly as a run's own inputs."""
    directory = Path(directory)
    manifest = read_manifest(directory, [MODEL_FILE, SCHEMA_FILE])
    if not (manifest.dataset and manifest.data.table_sha256):
        raise DataValidationError(
            f"{directory}: its manifest records no training inputs (a fit's directory, or written before they were recorded)",
            hint="reproduce a published model: the `model` output of training_pipeline",
        )
    from flyte.core.artifact.provenance import recorded_rule

    if recorded_rule(manifest) is None:
        raise DataValidationError(
            f"{directory}: its manifest records no split rule this code applies (split by an earlier rule, before "
            "each row's part was decided by its hash), so its training rows cannot be chosen again",
            hint="train a new model; models published from now on record their split rule",
        )
    try:
        return Recorded(
            DatasetSpec(**manifest.dataset), SplitParams(**manifest.split_params), Hyperparameters(**manifest.hyperparameters), manifest
        )
    except TypeError as exc:  # a key this code does not know: written by other code
        raise DataValidationError(f"{directory}/manifest.json: recorded inputs this code cannot read ({exc})") from None


def retrain(recorded: Recorded, source: Path, scratch: Path, n_threads: int, memory_budget: int | None) -> Retrained:
    """Ingest ``source`` (a local copy of the recorded dataset), split and fit as recorded, into ``scratch``.

    Refuses data whose bytes differ from the recorded ones (naming both hashes) before fitting: another
    snapshot cannot reproduce the model. ``n_threads`` / ``memory_budget`` as for ``fit.train_model`` (the
    fit is deterministic whatever the thread count; the budget decides ``external_memory="auto"``).
    """
    from flyte.core.training.fit import train_model
    from flyte.core.data.ingest import ingest_table
    from flyte.core.artifact.model import save_model
    from flyte.core.data.split import split_table

    scratch = Path(scratch)
    data = recorded.manifest.data
    result = ingest_table(source, recorded.dataset, scratch / "table", split=recorded.split_params)
    profile = result.profile
    for what, found, wanted in (("source file", profile.sha256, data.source_sha256), ("ingested table", profile.table_sha256, data.table_sha256)):
        if wanted and found != wanted:
            raise DataValidationError(
                f"{recorded.dataset.source}: the {what}'s sha256 is {found[:12]}..., but the model was trained on "
                f"{wanted[:12]}...: the data changed, so the model cannot be reproduced from it"
            )
    parts = {name: scratch / name for name in PART_NAMES}
    split_table(scratch / "table", profile, recorded.split_params, parts)
    model = train_model(parts["train"], parts["validation"], profile, recorded.hyperparameters,
                        n_threads=n_threads, memory_budget=memory_budget, scratch=scratch)  # fmt: skip
    directory = save_model(model, scratch / "model")
    found = sha256((directory / MODEL_FILE).read_bytes())
    wanted = recorded.manifest.files[MODEL_FILE]
    log.info("retrained %s: model.ubj sha256 %s, recorded %s", recorded.dataset.source, found, wanted)
    return Retrained(directory, found, wanted)
