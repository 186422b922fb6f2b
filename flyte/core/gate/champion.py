"""Meeting the champion before any comparison: which one, whether it can be judged at all, and the loaded model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from flyte.core.artifact.manifest import MANIFEST_FILE, sha256
from flyte.core.artifact.schema import ModelSchema
from flyte.core.data.tables import schema as table_schema
from flyte.core.gate.decision import incompatibility
from flyte.core.registry.registry import Registry

if TYPE_CHECKING:
    from flyte.core.artifact.model import TrainedModel


@dataclass
class Encounter:
    """What the gate learns of the champion before comparing the two models.

    version: the champion's version name ("" when there is none).
    kept: reasons to keep the champion without judging (the challenger already is it; it is of the other problem
        type; it cannot be scored on these rows and replace_incompatible is off). Non-empty ends the judgement.
    preamble: reasons the floors alone decide (no champion yet; an incompatible one under replace_incompatible).
    reigning / directory: the loaded champion and where it was fetched, when it can be compared on these rows.
    """

    version: str = ""
    kept: list[str] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)
    reigning: "TrainedModel | None" = None
    directory: Path | None = None


def other_problem(version: str, theirs: ModelSchema, ours: ModelSchema) -> str:
    """Why a champion of the other problem type is kept, whatever replace_incompatible says."""
    return (f"the champion {version} is a {theirs.problem_type} model and the challenger a {ours.problem_type} model: "
            "neither judges the other; kept the champion (train under another model_name)")  # fmt: skip


def meet_champion(
    model_dir: Path, schema: ModelSchema, test: Path, registry: str | Registry, champion: str, replace_incompatible: bool,
    scratch: Path, n_threads: int = 1,
) -> Encounter:  # fmt: skip
    """Find out whether the challenger in ``model_dir`` (``schema``) can be judged against ``champion``
    (``<version>@<manifest sha256>`` in ``registry``, "" for none) on the ``test`` rows, fetching and loading it
    under ``scratch`` when it can."""
    if not champion:
        return Encounter(preamble=["no champion yet: the floors alone decide"])
    version, _, digest = champion.partition("@")
    if digest == sha256((Path(model_dir) / MANIFEST_FILE).read_bytes()):
        return Encounter(version, kept=[f"the challenger is already the champion ({version}): nothing to promote"])
    from flyte.core.artifact.model import load_model  # xgboost: only when there is a champion to load

    entry = registry if isinstance(registry, Registry) else Registry(registry)
    directory = entry.fetch(version, digest, Path(scratch) / "champion")
    reigning = load_model(directory, n_threads=n_threads)
    if reigning.schema.problem_type != schema.problem_type:
        return Encounter(version, kept=[other_problem(version, reigning.schema, schema)])
    why = incompatibility(reigning.schema, schema, table_schema(test).names)
    if why and not replace_incompatible:
        return Encounter(version, kept=[f"the champion {version} cannot be compared on these test rows: {why}",
                                        "kept the champion; set replace_incompatible to judge by the floors alone"])  # fmt: skip
    if why:
        return Encounter(version, preamble=[f"the champion {version} cannot be compared ({why}); replace_incompatible: "
                                            "the floors alone decide"])  # fmt: skip
    return Encounter(version, reigning=reigning, directory=directory)
