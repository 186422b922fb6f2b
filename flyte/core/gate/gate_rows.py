"""Which of the challenger's test rows the champion never saw: recomputed from the split rule in its manifest."""

# A row the champion trained or early-stopped on flatters it: scored there, the champion looks better than it is,
# and a retrain on a grown table (whose test rows are partly the champion's training rows) could never replace it.
# Rows are recomputed, not looked up: the champion's rule is a function of the row, so no list of rows is kept.

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from flyte.core.artifact.manifest import read_manifest
from flyte.core.artifact.provenance import recorded_rule
from flyte.core.artifact.schema import ModelSchema
from flyte.core.data.split import TEST, SplitRule, assign_parts, hashed_columns
from flyte.core.data.tables import iter_batches, schema as table_schema

log = logging.getLogger(__name__)


class Unseen(NamedTuple):
    """mask: each test row's "the champion never saw it" (all False when that cannot be told); why: "" when
    the rule was recomputed, else why every row counts as possibly seen."""

    mask: np.ndarray
    why: str


def unseen_rows(test: Path, rows: int, rule: SplitRule | None, champion: ModelSchema) -> Unseen:
    """Which of the ``rows`` rows of ``test`` fell in the champion's own test part under ``rule``: the rows it
    neither trained nor early-stopped on. The champion's table held its target and features, so those are hashed
    (or its key column alone), read as its ingest read them: categorical features as text, the rest as float64."""
    nothing = np.zeros(rows, dtype=bool)
    if rule is None:
        return Unseen(nothing, "the champion's manifest records no split rule this code can recompute")
    columns = hashed_columns(rule, [champion.target, *champion.features])
    found = table_schema(test)
    for name in columns:
        if name not in found.names:
            return Unseen(nothing, f"the test rows lack column {name!r}, which the champion's split hashed")
        typ = found.field(name).type
        text = pa.types.is_string(typ) or pa.types.is_large_string(typ)
        if name in champion.categories and not text or name in champion.features and name not in champion.categories and typ != pa.float64():
            return Unseen(nothing, f"column {name!r} is typed {typ} here, not as the champion's data read it")
    mask = np.empty(rows, dtype=bool)
    offset = 0
    for batch in iter_batches(test, columns=columns):
        parts = assign_parts(batch, rule, champion.hashed_target, champion.label_kind)
        mask[offset : offset + len(parts)] = parts == TEST
        offset += len(parts)
    if offset != rows:
        return Unseen(nothing, f"the test table has {offset} rows, not the {rows} scored")
    log.info("gate: %d of %d test rows are in the champion's test part too (rule %s)", int(mask.sum()), rows, rule)
    return Unseen(mask, "")



def judgeable_rows(test: Path, rows: int, champion_dir: Path, champion: ModelSchema, minimum: int) -> tuple[np.ndarray, str]:
    """The mask of the ``rows`` test rows the champion fetched into ``champion_dir`` never saw (its manifest's split
    rule recomputed), and "" when there are at least ``minimum`` of them; otherwise the same mask and the reason
    the floors alone decide."""
    unseen = unseen_rows(test, rows, recorded_rule(read_manifest(champion_dir, [])), champion)
    n = int(unseen.mask.sum())
    if n >= minimum:
        return unseen.mask, ""
    why = f" ({unseen.why})" if unseen.why else ""
    return unseen.mask, (f"too few test rows to judge against the champion: {n} of {rows} are rows it neither trained "
                         f"nor early-stopped on{why}, fewer than min_unseen_rows={minimum}; the floors alone decide")  # fmt: skip


def sample_too_few(unseen: int, sampled: int, minimum: int) -> str:
    """The reason the floors alone decide when the judged sample holds too few rows the champion never saw."""
    return (f"too few test rows to judge against the champion in the judged sample: {unseen} of {sampled} sampled "
            f"rows are rows it never saw, fewer than min_unseen_rows={minimum}; the floors alone decide")
