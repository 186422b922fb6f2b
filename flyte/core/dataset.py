"""What a dataset is: the spec that says how to read it, the profile ingest finds, and where its file lives."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from flyte.core.errors import DataValidationError

#: Where the datasets shipped inside the package live; ``bundled://NAME`` points here.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
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


@dataclass
class DatasetSpec:
    """Where a dataset lives and how to read it.

    source: a local path, ``file://``, ``http(s)://``, ``s3://``, ``gs://`` or ``bundled://NAME``
        (a file shipped in ``flyte/data``).
    file_format: ``csv``, ``parquet``, or ``auto`` to decide by the file name's extension.
    has_header: whether a CSV's first line holds the column names.
    column_names: the names of a header-less CSV's columns, in file order; ignored otherwise.
    target: the column to predict.
    categorical_columns: feature columns holding categories (strings) rather than numbers.
    """

    source: str = f"{BUNDLED_SCHEME}://pima-indians-diabetes.data.csv"
    file_format: str = "auto"
    has_header: bool = False
    column_names: list[str] = field(default_factory=lambda: list(PIMA_COLUMNS))
    target: str = "class"
    categorical_columns: list[str] = field(default_factory=list)


@dataclass
class DataProfile:
    """What ingest found in the data; later stages read the target, feature roles and labels from it.

    rows / columns: the table's shape after validation.
    dtypes: column name to its Arrow type in the ingested table (``double``, ``string``, ...).
    missing: column name to the count of missing values.
    class_counts: each class (its label as text) to its number of rows.
    labels: every class's label as text, in class-code order (numbers by value, then text).
    label_kind: how the labels read back: ``int``, ``float`` or ``str``.
    sha256: hex digest of the source file's bytes, to tell two snapshots apart.
    """

    source: str = ""
    sha256: str = ""
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


def is_local(source: str) -> bool:
    """True when the source can be read from this machine's disk without fetching."""
    return urlparse(source).scheme in LOCAL_SCHEMES or _looks_like_windows_path(source)


def _looks_like_windows_path(source: str) -> bool:
    return len(source) > 2 and source[1] == ":" and source[0].isalpha()


def local_path(source: str) -> Path:
    """The file on this machine that a local source names (``bundled://`` resolves to the package)."""
    parsed = urlparse(source)
    if parsed.scheme == BUNDLED_SCHEME:
        return DATA_DIR / (parsed.netloc + parsed.path)
    if parsed.scheme == "file":
        return Path(parsed.path)
    if not is_local(source):
        raise DataValidationError(f"{source}: not a local path; fetch it before reading")
    return Path(source)


def resolve_format(spec: DatasetSpec, path: Path) -> str:
    """``csv`` or ``parquet``: the spec's choice, or the file's extension when the spec says auto."""
    fmt = spec.file_format.lower()
    if fmt == "auto":
        suffixes = [s.lower() for s in Path(path).suffixes]
        fmt = "parquet" if ".parquet" in suffixes or ".pq" in suffixes else "csv"
    if fmt not in ("csv", "parquet"):
        raise DataValidationError(f"{spec.source}: unknown file_format {spec.file_format!r}; use csv, parquet or auto")
    return fmt
