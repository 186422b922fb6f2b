"""Write the bundled Pima model (flyte/data/models/pima) and the bundled new rows: `make bundled-model`."""

# Trained through the core functions the pipeline's tasks call (ingest, split, fit, save), with the workflow's default
# split and hyperparameters, so it is the model `make run` trains. One thread: the same bytes on every machine with
# the same XGBoost. Run it again after anything that changes the model directory's format (the manifest, say).

from __future__ import annotations

import csv
import logging
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flyte.core.data.dataset import DATA_DIR, PIMA_MODEL, PIMA_NEW_ROWS, local_path, pima_spec  # noqa: E402
from flyte.core.training.fit import train_model  # noqa: E402
from flyte.core.training.hyperparameters import Hyperparameters  # noqa: E402
from flyte.core.data.ingest import ingest_table  # noqa: E402
from flyte.core.artifact.model import save_model  # noqa: E402
from flyte.core.data.split import PART_NAMES, SplitParams, split_table  # noqa: E402

#: How many rows the bundled new-rows file holds: the last rows of the Pima file, without their label.
NEW_ROWS = 100


def write_model(destination: Path) -> Path:
    spec, split = pima_spec(), SplitParams()
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        result = ingest_table(local_path(spec.source), spec, work / "table", split=split)
        parts = {name: work / name for name in PART_NAMES}
        split_table(work / "table", result.profile, split, parts)
        model = train_model(parts["train"], parts["validation"], result.profile, Hyperparameters(), n_threads=1)
        staged = save_model(model, work / "model")
        if destination.exists():
            shutil.rmtree(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staged, destination)
        destination.chmod(0o755)  # mkdtemp made it private; the image runs as another user
    return destination


def write_new_rows(destination: Path) -> Path:
    """The last NEW_ROWS Pima rows with a ``patient_id`` (P + their line number) first and no ``class`` column."""
    spec = pima_spec()
    lines = local_path(spec.source).read_text().splitlines()
    features = spec.column_names[:-1]
    with open(destination, "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["patient_id", *features])
        for number in range(len(lines) - NEW_ROWS + 1, len(lines) + 1):
            writer.writerow([f"P{number:04d}", *lines[number - 1].split(",")[:-1]])
    return destination


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model = write_model(local_path(PIMA_MODEL))
    rows = write_new_rows(DATA_DIR / PIMA_NEW_ROWS)
    logging.info("wrote %s and %s", model.relative_to(ROOT), rows.relative_to(ROOT))


if __name__ == "__main__":
    main()
