"""Which of the challenger's test rows the champion never saw: recomputed from the split rule in its manifest."""

# A row the champion trained or early-stopped on flatters it: scored there, the champion looks better than it is,
# and a retrain on a grown table (whose test rows are partly the champion's training rows) could never replace it.
# Rows are recomputed, not looked up: the champion's rule is a function of the row, so no list of rows is kept.

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
import pyarrow as pa

from flyte.core.artifact.manifest import read_manifest
from flyte.core.artifact.provenance import recorded_rule
from flyte.core.artifact.schema import ModelSchema
from flyte.core.data.split import TEST, SplitRule, assign_parts, hashed_columns
from flyte.core.data.tables import iter_batches, schema as table_schema
from flyte.core.evaluation.scored import kept_batches, sample_mask

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
    # The label read as Parquet stores it, a row group's distinct values once: it is hashed per distinct value.
    for batch in iter_batches(test, columns=columns, dictionary=[champion.target]):
        parts = assign_parts(batch, rule, champion.hashed_target, champion.label_kind)
        mask[offset : offset + len(parts)] = parts == TEST
        offset += len(parts)
    if offset != rows:
        return Unseen(nothing, f"the test table has {offset} rows, not the {rows} scored")
    log.info("gate: %d of %d test rows are in the champion's test part too (rule %s)", int(mask.sum()), rows, rule)
    return Unseen(mask, "")



def judgeable_rows(test: Path, rows: int, champion_dir: Path, champion: ModelSchema, minimum: int,
                   keep: np.ndarray | None = None) -> tuple[np.ndarray, str]:  # fmt: skip
    """The mask of the ``rows`` test rows the champion fetched into ``champion_dir`` never saw (its manifest's split
    rule recomputed), and "" when there are at least ``minimum`` of them; otherwise the same mask and the reason
    the floors alone decide. ``keep``: when the judge works on a sample (``sample_for_judging``), its mask over the
    ``rows`` test rows; the mask returned is then over the sampled rows, and ``minimum`` counts those."""
    unseen = unseen_rows(test, rows, recorded_rule(read_manifest(champion_dir, [])), champion)
    mask = unseen.mask if keep is None else unseen.mask[keep]
    n = int(mask.sum())
    if n >= minimum:
        return mask, ""
    why = f" ({unseen.why})" if unseen.why else ""
    where = "" if keep is None else " in the judged sample"
    return mask, (f"too few test rows to judge against the champion{where}: {n} of {len(mask)} are rows it neither "
                  f"trained nor early-stopped on{why}, fewer than min_unseen_rows={minimum}; the floors alone decide")  # fmt: skip


def sample_for_judging(rows: int, judge_rows: int, seed: int) -> tuple[np.ndarray | None, list[str]]:
    """Above ``judge_rows`` test rows (0: never), the mask of a seeded sample of about ``judge_rows`` of the ``rows``
    test rows for the comparison with the champion, and the reason line saying so; else (None, [])."""
    if not judge_rows or rows <= judge_rows:
        return None, []
    keep = sample_mask(rows, judge_rows, seed)
    return keep, [f"judged in bounded memory: the floors on all {rows} test rows (streamed), the comparison with the "
                  f"champion on a seeded sample of {int(keep.sum())} of them (judge_rows={judge_rows})"]  # fmt: skip


def champion_batches(test: Path, columns: list[str], keep: np.ndarray | None) -> Iterator[pa.RecordBatch]:
    """The test rows the champion predicts, batch by batch, in order: every row, or those the sample ``keep`` marks."""
    if keep is None:
        yield from iter_batches(test, columns=columns)
        return
    for batch, chosen in kept_batches(test, columns, keep):
        yield batch.take(chosen)
