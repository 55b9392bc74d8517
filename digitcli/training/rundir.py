"""The run folder: where a training run keeps its progress until its model is published.

Progress lives in a staging folder beside the output (`.NAME.keras.train/`): the settings and data
fingerprint the run started with, a run id, the last completed epoch's weights (for --resume), the
best weights so far, and the per-epoch history. When training ends, the final files are written
inside it under their final names and then moved into place: an existing model and its sidecars are
kept as NAME.N.*, never replaced, and a reader never sees a half-written file.
"""

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from digitcli import fileio
from digitcli.errors import DigitcliError, OutputError, UsageProblem
from digitcli.inference import modelfile
from digitcli.settings import SIDECARS
from digitcli.training import history as histories


def staging_dir(out):
    out = Path(out)
    return out.with_name(f".{out.name}.train")


def has_progress(staging):
    """Whether an interrupted run left a completed epoch behind (else its folder holds nothing)."""
    return bool(histories.read_csv(staging / "history.csv")) or (staging / "backup" / "state.json").exists()


def prepare(out, staging, wanted, resume, restart, note):
    """Make or reuse the staging folder: True when this run created it, False when it resumes one,
    "finished" when the run to resume had already saved its model."""
    check_out(out)
    if staging.is_symlink() or (staging.exists() and not staging.is_dir()):
        raise OutputError(
            f"{staging} is {'a symbolic link' if staging.is_symlink() else 'not a folder'}; digitcli keeps "
            f"the progress of a run of {out} in a folder of that name: move it away or choose another --out"
        )
    if staging.exists() and _published(out, staging):
        # Killed after its model was moved into place: finish moving its files, and it is done.
        for path in sorted((staging / "final").glob("*")):
            fileio.replace(path, out.with_name(path.name))
        shutil.rmtree(staging)
        if resume:
            note(f"the interrupted run of {out} had finished; nothing left to resume")
            return "finished"
    if staging.exists() and resume:
        _check_resumable(out, staging, wanted)
        note(f"resuming the interrupted run saved in {staging}")
        return False
    if staging.exists():
        if has_progress(staging) and not restart:
            raise OutputError(
                f"an interrupted run of {out} left its progress in {staging}; add --resume to "
                "continue it, or --restart to discard it and start over"
            )
        # Either the user said to discard it, or it holds no completed epoch: nothing to lose.
        shutil.rmtree(staging)
    elif resume:
        note(f"nothing to resume for {out}; starting from epoch 1")
    try:
        staging.mkdir(parents=True)
    except OSError as exc:
        raise OutputError(
            f"{staging}: cannot create the training folder ({exc.strerror}); choose a writable --out"
        ) from None
    fileio.write_json(staging / "settings.json", wanted)
    fileio.write_json(staging / "run.json", {"run": uuid.uuid4().hex})
    return True


def check_out(out):
    """Refuse, before any training, an --out whose files could not be written when it ends: not a
    .keras name, a folder where a file goes, or a name too long for the temporary names beside it."""
    out = Path(out)
    if out.suffix != ".keras":
        raise UsageProblem(f"--out {out}: model files must end in .keras", "--out")
    for suffix in (".keras", *SIDECARS):
        target = modelfile.sidecar(out, suffix)
        if target.is_dir():
            raise OutputError(
                f"{target} is a folder, and training writes a file there; move it or choose another --out"
            )
    longest = max(
        len(f".{out.name}.train"),
        *(len(f".{out.stem}{suffix}.12345678.tmp{suffix}") for suffix in (".keras", *SIDECARS)),
        *(len(f"{out.stem}.999{suffix}") for suffix in (".keras", *SIDECARS)),
    )
    try:
        limit = os.pathconf(out.parent if out.parent.is_dir() else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if longest > limit:
        raise UsageProblem(
            f"--out {out.name[:40]}...: the name is too long for the files written beside it "
            f"(at most {len(out.name) - (longest - limit)} characters here)",
            "--out",
        )


def _check_resumable(out, staging, wanted):
    """Refuse to resume a run that trained on other data or with other settings."""
    try:
        saved = json.loads((staging / "settings.json").read_text())
    except (OSError, ValueError):
        return
    if not isinstance(saved, dict):
        return
    if saved.get("data_fingerprint") != wanted["data_fingerprint"]:
        raise UsageProblem(
            f"cannot resume {out}: the interrupted run trained on other data "
            f"({saved.get('data_source')}); give it the same --data, --limit and "
            "--validation-size",
            "--resume",
        )
    if saved != wanted:
        diff = ", ".join(
            f"{k}: {saved.get(k)!r} -> {v!r}" for k, v in wanted.items() if saved.get(k) != v and k != "data_source"
        )
        raise UsageProblem(
            f"cannot resume {out}: the interrupted run used other settings ({diff}); "
            "repeat its exact command with --resume",
            "--resume",
        )


def run_id(staging):
    try:
        return json.loads((staging / "run.json").read_text())["run"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _published(out, staging):
    """Whether `out` is the model that the run in `staging` saved."""
    run = run_id(staging)
    if run is None or not out.exists():
        return False
    try:
        return modelfile.read_metadata(out).get("run") == run
    except DigitcliError:
        return False


def staging_for(role, out, resume, stack):
    """The chief trains in the staging folder beside `out`; another worker in a temporary folder of
    its own, seeded on --resume with a copy of the chief's progress so all resume the same epoch."""
    if role.chief:
        return staging_dir(out)
    staging = Path(tempfile.mkdtemp(prefix="digitcli-worker-"))
    stack.callback(shutil.rmtree, staging, ignore_errors=True)
    if resume and (staging_dir(out) / "backup").exists():
        shutil.copytree(staging_dir(out), staging, dirs_exist_ok=True)
    return staging


def stage_outputs(model, staging, out, metadata, history, export_onnx, note):
    """Write the final files inside the staging folder, under their final names: {suffix: path}."""
    final = staging / "final"
    shutil.rmtree(final, ignore_errors=True)  # a killed earlier attempt's, never published
    final.mkdir()
    staged = {".keras": final / out.name}
    inference = save_model(model, staged[".keras"], metadata)
    staged[".json"] = modelfile.sidecar(staged[".keras"], ".json")
    fileio.write_json(staged[".json"], metadata)
    staged[".history.csv"] = modelfile.sidecar(staged[".keras"], ".history.csv")
    fileio.write_text(staged[".history.csv"], histories.csv_text(history))
    if export_onnx:
        from digitcli.inference.export import export_onnx as _export_onnx

        try:
            staged[".onnx"] = _export_onnx(inference, staged[".keras"])
        except Exception as exc:  # noqa: BLE001 - ONNX is an accelerator; the model is already saved
            note(f"note: ONNX export skipped ({type(exc).__name__}: {exc}); predictions will use Keras")
    return staged


def _free_number(out):
    """The N of NAME.N.* to keep the current files under: a number no file uses, or the one that a
    publish killed midway left as second names of these very files (so a retry reuses it)."""
    n = 1
    while any(_taken(out, n, suffix) for suffix in (".keras", *SIDECARS)):
        n += 1
    return n


def _taken(out, n, suffix):
    kept, current = modelfile.sidecar(out, f".{n}{suffix}"), modelfile.sidecar(out, suffix)
    if not kept.exists() and not kept.is_symlink():
        return False
    try:
        return not os.path.samefile(kept, current) or kept.is_symlink()
    except OSError:
        return True


def publish(staged, out, keep=True):
    """Move the staged files into place. An existing model and its sidecars are kept as NAME.N.*
    (never replaced: hard links keep them while the new files are renamed over the old names), and a
    failure puts everything back as it was. Returns the kept model's path, or None. With keep=False
    (--overwrite) the NAME.N.* links are made all the same, for that putting back, and removed once
    the new files are in place."""
    n = _free_number(out)
    kept = {}
    try:
        for suffix in (".keras", *SIDECARS):
            old = modelfile.sidecar(out, suffix)
            if old.exists():
                kept[suffix] = modelfile.sidecar(out, f".{n}{suffix}")
                if not kept[suffix].exists():  # else a killed publish's link to this very file
                    os.link(old, kept[suffix])
    except OSError as exc:
        for path in kept.values():
            path.unlink(missing_ok=True)
        raise fileio.explain_os_error(out, exc) from None
    changed = []
    try:
        for suffix in (".keras", *SIDECARS):  # the model first: if it fails, nothing has changed
            target = modelfile.sidecar(out, suffix)
            if suffix in staged:
                fileio.replace(staged[suffix], target)
                changed.append(suffix)
            elif suffix in kept:  # an old sidecar with no new one (an ONNX twin): it belongs to the kept model
                target.unlink()
                changed.append(suffix)
    except OSError as exc:
        for suffix in changed:  # put the old files back under their names
            if suffix in kept:
                fileio.replace(kept.pop(suffix), modelfile.sidecar(out, suffix))
            else:
                modelfile.sidecar(out, suffix).unlink(missing_ok=True)
        for path in kept.values():  # the rest never moved: drop their second names
            path.unlink(missing_ok=True)
        raise fileio.explain_os_error(out, exc) from None
    if not keep:
        for path in kept.values():
            path.unlink(missing_ok=True)
        return None
    return kept.get(".keras")


def save_model(model, out, metadata):
    """Save weights and architecture without optimizer state (smaller, and all that inference
    needs), with digitcli.json inside, by atomic rename. Returns that inference copy, made outside
    any distribution strategy."""
    import keras

    inference = keras.models.clone_model(model)
    inference.set_weights(model.get_weights())
    inference.compile(loss=model.loss, metrics=["accuracy"])
    with fileio.atomic_path(out) as tmp:
        inference.save(tmp)
        modelfile.add_metadata(tmp, metadata)
    return inference


def written(out):
    """The model and the sidecars that exist beside it."""
    out = Path(out)
    return [p for p in (out, *(modelfile.sidecar(out, s) for s in SIDECARS)) if p.exists()]
