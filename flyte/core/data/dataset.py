"""What a dataset is: the spec that says how to read it, the profile ingest finds, and where its file lives."""

from __future__ import annotations

import codecs
import errno
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

from flyte.core.common import uris
from flyte.core.common.errors import DataValidationError, shorten
from flyte.core.common.validation import check_types, require, strict
from flyte.core.data.target import CLASSIFICATION, PROBLEM_TYPES, REGRESSION, TargetDistribution

#: Where the datasets shipped inside the package live; ``bundled://NAME`` points here.
DATA_DIR = Path(__file__).resolve().parents[2] / "data"
BUNDLED_SCHEME = "bundled"

#: Column names of the Pima Indians diabetes data, in file order, from its ``.names`` file
#: (section 7: eight numeric attributes, then the class variable).
PIMA_COLUMNS = (
    "pregnancies",  # number of times pregnant
    "glucose",  # plasma glucose 2 hours into an oral glucose tolerance test (mg/dl)
    "blood_pressure",  # diastolic blood pressure (mm Hg)
    "skin_thickness",  # triceps skin fold thickness (mm)
    "insulin",  # 2-hour serum insulin (mu U/ml)
    "bmi",  # body mass index (kg/m^2)
    "diabetes_pedigree",  # diabetes pedigree function
    "age",  # years
    "class",  # 1 = tested positive for diabetes
)

#: Schemes read straight from this machine's disk; any other scheme is fetched first by the caller.
LOCAL_SCHEMES = ("", "file", BUNDLED_SCHEME)


#: Text read as a missing value unless the spec says otherwise (empty fields and the usual spellings).
DEFAULT_MISSING_VALUES = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")
#: Fewest rows a class needs unless the spec says otherwise.
DEFAULT_MIN_ROWS_PER_CLASS = 10


@strict
@dataclass
class DatasetSpec:
    """Where a dataset lives and how to read it. Unknown keys, wrong types and bad values are refused.

    source: a local path, ``file://``, ``http(s)://``, ``s3://``, ``gs://`` or ``bundled://NAME``
        (a file shipped in ``flyte/data``). Required.
    target: the column to predict. Required for training (ingest refuses a spec without one); batch
        prediction's new rows may have none, and when set it names the true labels to score against.
    file_format: ``csv``, ``parquet``, or ``auto`` to decide by the file name's extension.
    has_header: whether a CSV's first line (after skip_rows) holds the column names.
    column_names: the names of a header-less CSV's columns, in file order; required without a header.
    delimiter: the CSV field separator, one character (``,``, ``;``, a tab).
    encoding: the file's text encoding (``utf-8``, ``latin-1``, ``cp1252``, ...).
    missing_values: field texts that mean "missing" (compared after trimming, when trim_whitespace). Setting
        it replaces the defaults (DEFAULT_MISSING_VALUES), e.g. to read "NA" as a category.
    extra_missing_values: more texts that mean "missing", on top of missing_values (``["?"]`` adds "?" to
        the defaults). A blank line is never a record, whatever either list holds.
    trim_whitespace: strip spaces around text fields (labels, categories); numbers are always trimmed.
    comment_prefix: lines starting with this text are ignored (``#``); empty for none.
    skip_rows: lines to skip at the top of the file, before the header.
    categorical_columns: feature columns holding categories (text) rather than numbers.
    drop_columns: columns to leave out (IDs, leaky columns).
    feature_columns: the feature columns to use; empty for every column but the target and dropped ones.
    expected_labels: the only labels the target may hold (as text); a row with another is refused,
        naming its line. Empty: any label, but each class needs min_rows_per_class rows.
    positive_label: for a binary target, the class whose precision, recall and F1 are reported;
        empty for the larger label (numbers by value, then text).
    min_rows_per_class: fewest rows a class may have; a stray class below it is refused at ingest.
    problem_type: ``classification`` (the default: the target holds classes) or ``regression`` (the target is a
        finite number to predict). Declared, never guessed from the data. expected_labels, positive_label and
        min_rows_per_class are for classification and refused on a regression spec.
    allow_predictive_columns: features allowed to predict the target almost alone. Fit refuses a feature whose
        leak score on the training rows passes the threshold (a copy of the target, a column known only after
        the outcome); list one here when it is truly known at prediction time. The model card shows it.
    """

    source: str = ""
    target: str = ""
    file_format: str = "auto"
    has_header: bool = True
    column_names: list[str] = field(default_factory=list)
    delimiter: str = ","
    encoding: str = "utf-8"
    missing_values: list[str] = field(default_factory=lambda: list(DEFAULT_MISSING_VALUES))
    extra_missing_values: list[str] = field(default_factory=list)
    trim_whitespace: bool = True
    comment_prefix: str = ""
    skip_rows: int = 0
    categorical_columns: list[str] = field(default_factory=list)
    drop_columns: list[str] = field(default_factory=list)
    feature_columns: list[str] = field(default_factory=list)
    expected_labels: list[str] = field(default_factory=list)
    positive_label: str = ""
    min_rows_per_class: int = DEFAULT_MIN_ROWS_PER_CLASS
    problem_type: str = CLASSIFICATION
    allow_predictive_columns: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_types(self)
        require(bool(self.source.strip()), "DatasetSpec.source is required: the file to read")
        require(self.file_format.lower() in ("auto", "csv", "parquet"),
                f"DatasetSpec.file_format must be auto, csv or parquet, got {self.file_format!r}")  # fmt: skip
        require(self.has_header or bool(self.column_names),
                "DatasetSpec.column_names must list the columns when has_header is false")  # fmt: skip
        require(len(self.delimiter) == 1 and self.delimiter not in "\r\n\"",
                f"DatasetSpec.delimiter must be one character (',', ';', a tab), got {self.delimiter!r}")  # fmt: skip
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise DataValidationError(f"DatasetSpec.encoding {self.encoding!r} is not a known text encoding") from None
        require(self.skip_rows >= 0, f"DatasetSpec.skip_rows must be 0 or more, got {self.skip_rows}")
        require(self.min_rows_per_class >= 1, f"DatasetSpec.min_rows_per_class must be 1 or more, got {self.min_rows_per_class}")
        if self.target:  # the checks that involve the target apply once there is one (batch rows may have none)
            require(bool(self.target.strip()), "DatasetSpec.target must name a column, got only spaces")
            require(self.target not in self.categorical_columns,
                    f"DatasetSpec: target {self.target!r} cannot also be a categorical feature")  # fmt: skip
            require(self.target not in self.drop_columns, f"DatasetSpec: target {self.target!r} cannot be dropped")
            require(self.target not in self.feature_columns, f"DatasetSpec: target {self.target!r} cannot be a feature")
        require(self.target not in self.allow_predictive_columns or not self.target,
                f"DatasetSpec: target {self.target!r} cannot be in allow_predictive_columns: it is not a feature")  # fmt: skip
        both = sorted(set(self.drop_columns) & (set(self.feature_columns) | set(self.categorical_columns)))
        require(not both, f"DatasetSpec: column(s) {both} are both dropped and used")
        if self.expected_labels:
            require(len(set(self.expected_labels)) == len(self.expected_labels) >= 2,
                    f"DatasetSpec.expected_labels must list two or more distinct labels, got {self.expected_labels}")  # fmt: skip
        require(self.problem_type in PROBLEM_TYPES,
                f"DatasetSpec.problem_type must be one of {list(PROBLEM_TYPES)}, got {self.problem_type!r}")  # fmt: skip
        if self.problem_type == REGRESSION:
            set_options = [name for name, unset in (("expected_labels", not self.expected_labels),
                           ("positive_label", not self.positive_label),
                           ("min_rows_per_class", self.min_rows_per_class == DEFAULT_MIN_ROWS_PER_CLASS)) if not unset]  # fmt: skip
            require(not set_options, f"DatasetSpec: {', '.join(set_options)} are for classification; a regression spec "
                    "(problem_type 'regression') cannot set them")  # fmt: skip
        if self.positive_label and self.expected_labels:
            require(self.positive_label in self.expected_labels,
                    f"DatasetSpec.positive_label {self.positive_label!r} is not one of expected_labels {self.expected_labels}")  # fmt: skip


    def missing_markers(self) -> list[str]:
        """Every field text read as missing: missing_values, then extra_missing_values, each once."""
        return list(dict.fromkeys([*self.missing_values, *self.extra_missing_values]))


def pima_spec() -> DatasetSpec:
    """The bundled Pima Indians diabetes data: the workflow's default dataset, a preset like any other spec."""
    return DatasetSpec(
        source=f"{BUNDLED_SCHEME}://pima-indians-diabetes.data.csv",
        target="class",
        has_header=False,
        column_names=list(PIMA_COLUMNS),
        expected_labels=["0", "1"],
        positive_label="1",
    )


#: The bundled diabetes progression data (scikit-learn's ``load_diabetes(as_frame=True, scaled=False)``; Efron et
#: al. 2004): 442 patients, ten baseline measurements (age, sex, bmi, bp, s1-s6 serum measurements) and ``target``,
#: a quantitative measure of disease progression one year later.
DIABETES_FILE = "diabetes.csv"


def diabetes_spec() -> DatasetSpec:
    """The bundled diabetes progression data: the regression example, a preset like pima_spec."""
    return DatasetSpec(source=f"{BUNDLED_SCHEME}://{DIABETES_FILE}", target="target", problem_type=REGRESSION)


#: The bundled model trained on the Pima data (``make bundled-model``): batch prediction's default model.
PIMA_MODEL = f"{BUNDLED_SCHEME}://models/pima"
#: Bundled new rows for it: Pima rows with a ``patient_id`` column and no target (``make bundled-model``).
PIMA_NEW_ROWS = "pima-new-rows.csv"


def pima_new_rows_spec() -> DatasetSpec:
    """The bundled new rows to score: batch prediction's default dataset (no target, so no metrics)."""
    return DatasetSpec(source=f"{BUNDLED_SCHEME}://{PIMA_NEW_ROWS}")


@dataclass
class DataProfile:
    """What ingest found in the data; later stages read the target, feature roles and labels from it.

    rows / columns: the table's shape after validation.
    dtypes: column name to its Arrow type in the ingested table (``double``, ``string``, ...).
    missing: column name to the count of missing values.
    class_counts: each class (its label as text) to its number of rows.
    labels: every class's label as text, in class-code order (numbers by value, then text).
    label_kind: how the labels read back: ``int``, ``float`` or ``str``.
    allow_predictive_columns: the spec's features allowed past fit's leakage check (see DatasetSpec).
    problem_type: the spec's ``classification`` or ``regression``. For regression, class_counts and labels are
        empty, label_kind is ``float`` and target_distribution describes the target instead.
    target_distribution: a regression target's distribution (min, quantiles, max, mean); None for classification.
    dropped_index_columns: columns left out because the Parquet file's pandas metadata records them as its
        index (``__index_level_0__`` after a filter): row labels, not data.
    sha256: hex digest of the source file's bytes, to tell two snapshots apart. The profile holds no
        path: it follows the bytes, so the same file read from another place has the same profile.
    table_sha256: hex digest of the ingested table's Parquet bytes (what split and fit read): equal for
        equal content however the source was laid out; recorded in the model manifest.
    """

    sha256: str = ""
    table_sha256: str = ""
    rows: int = 0
    columns: int = 0
    target: str = ""
    feature_columns: list[str] = field(default_factory=list)
    categorical_columns: list[str] = field(default_factory=list)
    dtypes: dict[str, str] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    class_counts: dict[str, int] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    label_kind: str = "str"
    allow_predictive_columns: list[str] = field(default_factory=list)
    dropped_index_columns: list[str] = field(default_factory=list)
    problem_type: str = CLASSIFICATION
    target_distribution: Optional[TargetDistribution] = None


def is_local(source: str) -> bool:
    """True when the source can be read from this machine's disk without fetching."""
    return uris.scheme(source) in LOCAL_SCHEMES


def local_path(source: str) -> Path:
    """The file on this machine that a local source names (``bundled://`` resolves to the package)."""
    if uris.scheme(source) == BUNDLED_SCHEME:
        parsed = urlparse(source)
        return bundled_path(source, parsed.netloc + parsed.path)
    if not uris.is_file(source):
        raise DataValidationError(f"{source}: not a local path; fetch it before reading")
    return uris.file_path(source)


def checked_file(path: Path, name: str) -> Path:
    """``path`` when it is a readable, non-empty file; otherwise a DataValidationError naming ``name`` (the
    source) and why: not found, a directory, empty, or a path the system refuses (too long, no permission)."""
    try:
        if path.is_dir():
            raise DataValidationError(f"{name}: is a directory, not a file ({path})")
        if not path.is_file():
            raise DataValidationError(f"{name}: file not found ({path})")
        size = path.stat().st_size
    except OSError as exc:
        long_name = exc.errno == errno.ENAMETOOLONG
        raise DataValidationError(
            f"{shorten(name)}: cannot open: {exc.strerror or type(exc).__name__}",
            hint="a file or folder name is limited to 255 bytes: rename it" if long_name else "",
        ) from None
    if size == 0:
        raise DataValidationError(f"{name}: file is empty")
    return path


def bundled_path(source: str, name: str) -> Path:
    """The file ``name`` inside the bundled data directory, symlinks resolved; a name that resolves
    anywhere else (``..``, an absolute path, a link pointing out) is refused before anything is read."""
    root = DATA_DIR.resolve()
    path = (root / name).resolve()
    if path != root and root not in path.parents:
        raise DataValidationError(
            f"{shorten(source)}: bundled:// names a file inside the bundled data directory only",
            hint=f"name a file under {root}, or pass a plain path",
        )
    return path


def resolve_format(spec: DatasetSpec, path: Path) -> str:
    """``csv`` or ``parquet``: the spec's choice, or the file's extension when the spec says auto."""
    fmt = spec.file_format.lower()
    if fmt == "auto":
        suffixes = [s.lower() for s in Path(path).suffixes]
        fmt = "parquet" if ".parquet" in suffixes or ".pq" in suffixes else "csv"
    if fmt not in ("csv", "parquet"):
        raise DataValidationError(f"{spec.source}: unknown file_format {spec.file_format!r}; use csv, parquet or auto")
    return fmt
