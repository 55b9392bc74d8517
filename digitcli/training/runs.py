"""train --runs N: N independent runs of one recipe, seeds seed ... seed+N-1, as the seed's paper
trains six instances of its network; and the summary of their test scores."""

import dataclasses
import statistics
from pathlib import Path

from digitcli.errors import DigitcliError, UsageProblem, to_stderr
from digitcli.inference import modelfile
from digitcli.training import rundir


def outputs(out, runs):
    """The model file of each run: `out` itself for one run, NAME.run1.keras ... for several."""
    out = Path(out)
    return [out] if runs == 1 else [out.with_name(f"{out.stem}.run{k}{out.suffix}") for k in range(1, runs + 1)]


def _finished(path, settings, dataset):
    """Whether `path` holds this very run's model, complete (its run folder gone). One made with these
    settings from other data is refused, as --resume refuses an interrupted run on other data."""
    if not path.exists() or rundir.staging_dir(path).exists():
        return False
    try:
        meta = modelfile.read_metadata(path)
    except DigitcliError:
        return False
    if meta.get("settings") != settings.as_dict():
        return False
    data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    if data.get("fingerprint") != dataset.fingerprint():
        raise UsageProblem(
            f"cannot resume: {path} was trained on other data ({data.get('source', 'not recorded')}); "
            "give the same --data, --limit and --validation-size, or leave out --resume to train every run afresh",
            "--resume",
        )
    return True


def train_runs(train, settings, dataset, out, runs, *, resume=False, note=to_stderr, **options):
    """Each run's metadata. With `resume`, runs already finished are kept and the others continued."""
    for path in outputs(out, runs):  # every run's names, before the first one trains
        rundir.check_out(path)
    found = []
    for k, path in enumerate(outputs(out, runs)):
        chosen = dataclasses.replace(settings, seed=settings.seed + k)
        if resume and runs > 1 and _finished(path, chosen, dataset):
            note(f"run {k + 1} of {runs} ({path}) had finished; keeping it")
            found.append(modelfile.read_metadata(path))
            continue
        if runs > 1:
            note(f"run {k + 1} of {runs}: seed {chosen.seed}, {path}")
        found.append(train(chosen, dataset, path, resume=resume, note=note, **options))
    return found


def summary(metas, paths):
    """One line per run, then the mean and standard deviation of the test accuracies."""
    lines = [
        f"run {k}: seed {m['settings']['seed']}, test accuracy {100 * m['test']['accuracy']:.2f}% "
        f"(best: epoch {m['best_epoch']} of {len(m['history'])}), {path}"
        for k, (m, path) in enumerate(zip(metas, paths), 1)
    ]
    scores = [100 * m["test"]["accuracy"] for m in metas]
    spread = statistics.stdev(scores) if len(scores) > 1 else 0.0
    lines.append(
        f"mean test accuracy {statistics.mean(scores):.2f}% ± {spread:.2f} (standard deviation over {len(scores)} runs)"
    )
    return lines


def training_line(chosen, dataset, preset=None, from_model=None):
    """The note that says what is about to be trained, on how many images."""
    sizes = dataset.sizes()
    what = (
        f"preset {preset} ({chosen.model})" if preset else chosen.model + (f" from {from_model}" if from_model else "")
    )
    return f"training {what} on {sizes['train']:,} images, validating on {sizes['validation']:,}"


def result_lines(metas, out, runs):
    """What `train` prints on stdout: each run's score and the summary, or one run's score and files."""
    if runs > 1:
        return summary(metas, outputs(out, runs))
    meta = metas[0]
    acc, epochs = meta["test"]["accuracy"], len(meta["history"])
    done = (
        f"test accuracy {100 * acc:.2f}% after {epochs} epoch{'s' if epochs != 1 else ''} "
        f"(best: epoch {meta['best_epoch']}) in {meta['train_seconds']:.1f} s"
    )
    if meta.get("saved", True):
        return [f"{done}; wrote {', '.join(str(p) for p in rundir.written(out))}"]
    return [f"{done}; {meta['task']} wrote nothing, the chief saves {out}"]
