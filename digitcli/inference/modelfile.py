"""What digitcli stores with a model, readable without TensorFlow.

A `.keras` file is a zip; digitcli adds `digitcli.json` to it (the training settings, data source,
history and test score), so the model file alone says what produced it. The same JSON is written
beside it as `<name>.json`, and an ONNX export as `<name>.onnx` stamped with the checkpoint's hash.
"""

import hashlib
import json
import sys
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from digitcli import settings
from digitcli.errors import ModelFileError

META_ENTRY = "digitcli.json"
# The key of the checkpoint hash stamped into an ONNX twin: a twin whose hash differs is stale.
CHECKPOINT_HASH_KEY = "digitcli.keras_sha256"
# digitcli.json holds settings and a per-epoch history: kilobytes. A larger one is not digitcli's, and
# reading it whole first (a 1 GiB entry took 2.1 GB and 20 s) is what a hostile file would want.
MAX_META_BYTES = 16 << 20
# The folder above the package: the repository in a source checkout or an editable install.
REPOSITORY = Path(__file__).resolve().parents[2]


def sidecar(path, suffix):
    path = Path(path)
    return path.with_name(path.stem + suffix)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_model_path(path):
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file; train one with `digitcli train` or pass --model PATH")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a folder; pass the .keras file inside it")
    if path.suffix != ".keras":
        raise ModelFileError(f"{path}: not a .keras model file (digitcli reads models saved as NAME.keras)")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a Keras model (a .keras file is a zip archive; this one is not)")
    return path


def read_metadata(path):
    """The digitcli.json stored inside a .keras file, or {} for a plain Keras model."""
    path = check_model_path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "config.json" not in names:
                raise ModelFileError(f"{path}: a zip archive but not a Keras model (no config.json inside)")
            if META_ENTRY not in names:
                return {}
            if zf.getinfo(META_ENTRY).file_size > MAX_META_BYTES:
                raise ModelFileError(
                    f"{path}: its {META_ENTRY} is larger than {MAX_META_BYTES >> 20} MiB; not a model digitcli wrote"
                )
            meta = json.loads(zf.read(META_ENTRY))
    except (zipfile.BadZipFile, OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path}: damaged model file ({exc})") from None
    except RecursionError:  # '[' * 100000: JSON nested deeper than Python's parser goes
        raise ModelFileError(f"{path}: its {META_ENTRY} is nested too deeply; not a model digitcli wrote") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: its {META_ENTRY} is not digitcli metadata")
    _check_fields(path, meta)
    return meta


def _check_fields(path, meta):
    """Refuse stored values that digitcli would act on but could never have written (a forged or
    damaged file), naming the field, before they reach training, evaluation or the server."""
    problem = settings.stored_settings_problem(meta["settings"]) if "settings" in meta else None
    for field, kind in (("history", list), ("architecture", str), ("name", str), ("test", dict)):
        if problem is None and field in meta and not isinstance(meta[field], kind):
            problem = f"its {field} is {type(meta[field]).__name__}, not {kind.__name__}"
    problem = problem or _calibration_problem(meta.get("calibration"))
    if problem:
        raise ModelFileError(f"{path}: {problem}; the file's {META_ENTRY} is damaged or was not written by digitcli")


# A fitted temperature lies near 1 (0.5-3 for the shipped models); outside this range every reading
# collapses to one class or to 0.1 each, so such a value is forged or damaged, never fitted.
TEMPERATURE_RANGE = (0.01, 100.0)


def _calibration_problem(calibration):
    if calibration is None:
        return None
    if not isinstance(calibration, dict):
        return f"its calibration is {type(calibration).__name__}, not dict"
    if "temperature" not in calibration:
        return None
    value, (low, high) = calibration["temperature"], TEMPERATURE_RANGE
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        return f"its calibration temperature {str(value)[:40]!r} is not a number from {low} to {high}"
    return None


def add_metadata(path, metadata):
    """Append digitcli.json to a freshly saved .keras file (Keras ignores entries it does not know)."""
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(META_ENTRY, json.dumps(metadata, indent=2))


def copy_with_metadata(source, target, metadata):
    """Write `source`'s entries, byte for byte, to the new file `target` with `metadata` as its
    digitcli.json: the weights and architecture stay exactly as they were."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename != META_ENTRY:
                new.writestr(info, old.read(info))
        new.writestr(META_ENTRY, json.dumps(metadata, indent=2), compress_type=zipfile.ZIP_DEFLATED)


@dataclass
class ModelFile:
    """A model file opened once: its path, its metadata, and its ONNX twin with the check that the
    twin was made from this very checkpoint. The predictors, evaluation and export take one."""

    path: Path
    metadata: dict

    @classmethod
    def open(cls, path):
        """Check and read the file; a missing, damaged or foreign file is a ModelFileError naming it."""
        path = Path(path)
        return cls(path, read_metadata(path))

    @property
    def onnx_path(self):
        return sidecar(self.path, ".onnx")

    @cached_property
    def sha256(self):
        return sha256(self.path)

    def made_this(self, stamped_hash):
        """Whether an export stamped with `stamped_hash` was made from this checkpoint."""
        return stamped_hash == self.sha256

    @property
    def temperature(self):
        """The calibration temperature fitted for this model, or None (probabilities used as they come)."""
        value = (self.metadata.get("calibration") or {}).get("temperature")
        return float(value) if isinstance(value, (int, float)) and value > 0 else None

    @property
    def loss_kind(self):
        return self.metadata.get("settings", {}).get("loss", "crossentropy")


def as_model_file(model):
    return model if isinstance(model, ModelFile) else ModelFile.open(model)


def locate(value=None):
    """--model / MODEL / $DIGITCLI_MODEL if given; else models/robust.keras here; else the shipped copy
    (shipped_models()), so that any install predicts from any folder without training."""
    if value:
        return Path(value)
    local = Path(settings.DEFAULT_MODEL_FILE)
    if local.exists():
        return local
    shipped = (folder / local.name for folder in shipped_models())
    return next((path for path in shipped if path.exists()), local)


def shipped_models():
    """The folders that may hold the models shipped with digitcli, most specific first.

    A source checkout or an editable install (`pip install -e .`) imports the package from the
    repository, whose models/ sits beside it. A normal or wheel install gets models/ as data files,
    under the prefix it was installed into (a venv, the system, or the user base for --user).
    models/ stays a top-level folder of the repository, not a package, so no one lookup serves all."""
    import site

    found = [REPOSITORY / "models"] if (REPOSITORY / "setup.cfg").is_file() else []  # not site-packages
    prefixes = [sys.prefix, getattr(site, "USER_BASE", None) or ""]
    return found + [Path(prefix) / "share" / "digitcli" / "models" for prefix in prefixes if prefix]
