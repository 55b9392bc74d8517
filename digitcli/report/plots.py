"""Pictures of training and predictions. Drawing functions return matplotlib Figures (so tests can
read back what was drawn); `save` writes them. Uses the Agg backend: no display needed."""

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from digitcli import fileio
from digitcli.errors import to_stderr

TRAIN_STYLE = {"linestyle": "-", "marker": "o", "markersize": 3}
VAL_STYLE = {"linestyle": "--", "marker": "s", "markersize": 3}
WATCH_STYLE = {"linestyle": ":", "marker": "^", "markersize": 4}
PARTS = (("", TRAIN_STYLE, "train"), ("val_", VAL_STYLE, "validation"), ("watch_", WATCH_STYLE, "watched set"))


def _subplots(*args, layout=None, **kwargs):
    """pyplot.subplots without pyplot: a Figure of its own, outside any global state or backend."""
    fig = _figure(figsize=kwargs.pop("figsize", None), layout=layout)
    return fig, fig.subplots(*args, **kwargs)


def _figure(**kwargs):
    """A Figure with its own Agg canvas: it draws and measures text without pyplot or a backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def save(fig, path):
    """Write `fig` atomically; the format follows the suffix (png, svg, pdf)."""
    path = Path(path)
    with fileio.atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip("."), dpi=120, bbox_inches="tight")
    return path


def draw_history(runs, band=False):
    """Accuracy and loss against epoch for each (label, history rows) in `runs`: train solid,
    validation dashed, the --watch set dotted, one colour per run. With `band`, the runs' mean for
    each part, with a band of one standard deviation either side, instead of a line per run."""
    fig, (acc_ax, loss_ax) = _subplots(1, 2, figsize=(11, 4.2))
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    max_epoch = max([1, *(row["epoch"] for _, history in runs for row in history)])
    for ax, metric in ((acc_ax, "accuracy"), (loss_ax, "loss")):
        common = _draw_band(ax, runs, metric, colours) if band else _draw_lines(ax, runs, metric, colours)
        title = f"{metric.capitalize()} by epoch"
        if band:  # runs of different lengths: the mean stops where the shortest run does
            title += (
                f" (mean of {len(runs)} runs{f' to epoch {common}' if 0 < common < max_epoch else ''}, band: 1 s.d.)"
            )
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
        ax.set_xticks(_epoch_ticks(max_epoch))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        else:  # a history without this metric: say so, rather than an empty legend (and its warning)
            ax.text(0.5, 0.5, f"no {metric} recorded", transform=ax.transAxes, ha="center", va="center")
    if len(runs) == 1:
        fig.suptitle(runs[0][0])
    fig.tight_layout()
    return fig


def _draw_lines(ax, runs, metric, colours):
    for i, (label, history) in enumerate(runs):
        for prefix, style, part in PARTS:
            points = [(row["epoch"], row[prefix + metric]) for row in history if prefix + metric in row]
            if points:
                xs, ys = zip(*points)
                ax.plot(
                    xs, ys, color=colours[i % len(colours)], label=f"{label} {part}" if len(runs) > 1 else part, **style
                )


def _draw_band(ax, runs, metric, colours):
    """The mean and spread of each part, over the epochs that every run recording it has (a mean of
    fewer runs would be another quantity under the same name). Returns the last epoch drawn."""
    last = 0
    for j, (prefix, style, part) in enumerate(PARTS):
        by_epoch = {}
        having = sum(any(prefix + metric in row for row in history) for _, history in runs)
        for _, history in runs:
            for row in history:
                if prefix + metric in row:
                    by_epoch.setdefault(row["epoch"], []).append(row[prefix + metric])
        xs = sorted(x for x, values in by_epoch.items() if len(values) == having)
        if not xs:
            continue
        last = max(last, xs[-1])
        if having < len(runs):
            part = f"{part} of {having} runs"
        mean = np.array([np.mean(by_epoch[x]) for x in xs])
        spread = np.array([np.std(by_epoch[x]) for x in xs])
        ax.plot(xs, mean, color=colours[j], label=f"{part} (mean)", **style)
        low, high = mean - spread, mean + spread
        if metric == "accuracy":  # a band past 100% would show accuracies no run had
            low, high = np.clip(low, 0, 1), np.clip(high, 0, 1)
        ax.fill_between(xs, low, high, color=colours[j], alpha=0.2, linewidth=0)
    return last


def _epoch_ticks(max_epoch):
    step = max(1, int(np.ceil(max_epoch / 15)))
    return list(range(1, max_epoch + 1, step))


def draw_digits(images, titles, wrong=None, columns=10, suptitle=None):
    """A grid of 28 x 28 digits in the seed's binary colour map, each titled just above its image;
    titles of wrong predictions in red. A few digits get large tiles, many get smaller ones."""
    n = len(images)
    columns = max(1, min(columns, n))
    rows = max(1, int(np.ceil(n / columns)))
    tile = 1.6 if n <= 5 else 1.25
    lines = max((str(t).count("\n") + 1 for t in titles), default=1)
    fig, axes = _subplots(
        rows,
        columns,
        figsize=(tile * columns, (tile + 0.16 * lines) * rows + (0.35 if suptitle else 0)),
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i >= n:
            continue
        # imshow rather than matshow: matshow moves the x axis to the top, and the title then
        # stands above that (hidden) axis, nearer the image in the row above than its own.
        ax.imshow(images[i], cmap="binary", vmin=0, vmax=255, interpolation="nearest")
        bad = wrong is not None and wrong[i]
        ax.set_title(titles[i], fontsize=8, color="crimson" if bad else "black", pad=2)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def prediction_titles(predictions, confidences, labels=None):
    titles, wrong = [], []
    for i, (pred, conf) in enumerate(zip(predictions, confidences)):
        title = "blank" if conf is None else f"{pred} ({100 * conf:.0f}%)"
        label = None if labels is None else labels[i]
        if label is not None:
            title += f"\ntrue {label}" + (" ✗" if pred != label else "")
        titles.append(title)
        wrong.append(label is not None and pred != label)
    return titles, wrong


def draw_confusion(matrix, title="Confusion matrix"):
    """The 10 x 10 confusion matrix as an annotated heatmap (rows true, columns predicted)."""
    matrix = np.asarray(matrix)
    fig, ax = _subplots(figsize=(7.5, 6.5))
    # A log-like scale keeps the off-diagonal mistakes visible beside the large diagonal.
    image = ax.imshow(
        matrix, cmap="Blues", norm=matplotlib.colors.SymLogNorm(linthresh=10, vmin=0, vmax=max(matrix.max(), 1))
    )
    threshold = np.sqrt(max(matrix.max(), 1))
    for (r, c), v in np.ndenumerate(matrix):
        ax.text(
            c,
            r,
            str(v),
            ha="center",
            va="center",
            fontsize=8,
            color="white" if v > threshold * 3 else ("black" if v else "lightgrey"),
        )
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="images")
    fig.tight_layout()
    return fig


def draw_samples(images, labels, per_class=10):
    """`per_class` training images of each digit, one row per class."""
    fig, axes = _subplots(10, per_class, figsize=(0.9 * per_class + 0.6, 9.6), squeeze=False)
    for digit, row in enumerate(axes):
        idx = np.flatnonzero(labels == digit)[:per_class]
        for ax, i in zip(row, list(idx) + [None] * (per_class - len(idx))):
            if i is not None:
                ax.matshow(images[i], cmap="binary", vmin=0, vmax=255)
            # Not set_axis_off(): that would hide the row's digit label too.
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        row[0].set_ylabel(str(digit), rotation=0, fontsize=14, labelpad=14, va="center")
    fig.suptitle(f"The first {per_class} training images of each digit")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def evaluation_plots(result, raw, probabilities, out_dir, fmt="png", limit=60, models=None):
    """The confusion heatmap, the reliability diagram and the most confident mistakes, for `evaluate
    --plots`, named after `models` (the model paths; the first one's name, with -ensembleN for several)."""
    from digitcli.inference.evaluation import misclassified

    out_dir = Path(out_dir)
    models = [Path(m) for m in (models or [result["model"]])]
    name = models[0].stem + (f"-ensemble{len(models)}" if len(models) > 1 else "")
    written = [
        save(
            draw_confusion(
                result["confusion_matrix"],
                f"{name}: confusion matrix, {100 * result['accuracy']:.2f}% of {result['images']:,} test images",
            ),
            out_dir / f"{name}-confusion.{fmt}",
        )
    ]
    from digitcli.report.reliability import draw_reliability

    title = f"{name}: reliability on {result['images']:,} test images"
    written.append(save(draw_reliability(probabilities, raw.y_test, title), out_dir / f"{name}-reliability.{fmt}"))
    wrong = misclassified(probabilities, raw.y_test)[:limit]
    predictions = probabilities.argmax(axis=1)
    titles, flags = prediction_titles(predictions[wrong], probabilities[wrong, predictions[wrong]], raw.y_test[wrong])
    suptitle = f"{name}: {len(wrong)} most confident mistakes (of {int(result['images'] - result['correct'])})"
    if len(wrong):
        written.append(
            save(
                draw_digits(raw.x_test[wrong], titles, flags, suptitle=suptitle),
                out_dir / f"{name}-misclassified.{fmt}",
            )
        )
    return written


def _digit_names(lines):
    """(line index, name) per digit: "3" on a one-line page, "2.3" for line 2's third digit."""
    if len(lines) == 1:
        return [(0, str(i)) for i in range(1, lines[0] + 1)]
    return [(k, f"{k + 1}.{i}") for k, n in enumerate(lines) for i in range(1, n + 1)]


def draw_prepared(prepared, per_row=10):
    """Before and after for `prepare --show`: the photo across the top with a box round each digit
    found, then each digit as the model will see it, up to `per_row` to a row. (Side by side, a photo
    of ten digits shrank to a thumbnail beside them.)"""
    from matplotlib.patches import Rectangle

    k = len(prepared.digits)
    columns, rows = max(1, min(k, per_row)), max(1, -(-k // per_row))
    width = max(6.0, 1.3 * columns)
    height, breadth = prepared.gray.shape[:2]
    photo = min(max(width * height / breadth, 1.5), 6.0)  # inches: the page as wide as the figure, within reason
    fig = _figure(figsize=(width, photo + 1.6 * rows), layout="constrained")
    grid = fig.add_gridspec(1 + rows, columns, height_ratios=[photo] + [1.6] * rows)
    page = fig.add_subplot(grid[0, :])
    page.imshow(prepared.gray, cmap="gray", vmin=0, vmax=255)
    names = _digit_names(prepared.lines)
    for mask, (line, name) in zip(prepared.masks, names):
        ys, xs = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = (xs[0] - 0.5, ys[0] - 0.5), xs[-1] - xs[0] + 1, ys[-1] - ys[0] + 1
        colour = ("crimson", "royalblue")[line % 2]  # neighbouring lines told apart
        page.add_patch(Rectangle(*box, fill=False, edgecolor=colour, linewidth=1.5))
        page.text(xs[0], ys[0] - 3, name, color=colour, fontsize=9, va="bottom")
    page.set_title(Path(prepared.name).name, fontsize=9, pad=14)
    page.set_axis_off()
    for i, digit in enumerate(prepared.digits):
        ax = fig.add_subplot(grid[1 + i // per_row, i % per_row])
        ax.imshow(digit, cmap="binary", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(f"digit {names[i][1]}\n28 x 28", fontsize=8)
        ax.set_axis_off()
    return fig


def plot_digit_files(arguments, labels_value, model, path, note=to_stderr):
    """`plot --digits`: read digit CSVs, predict them with `model`, and draw them with their readings."""
    from digitcli.inference.predictors import load_predictor
    from digitcli.reading import labels, pipeline
    from digitcli.reading.records import accuracy
    from digitcli.settings import MAX_PLOT_DIGITS

    batch = pipeline.read_files(arguments, "digits", strict=True, labels=labels_value)
    truth = labels.for_records(labels_value, batch)
    total = sum(len(f.digits) for f in batch.files)
    if total > MAX_PLOT_DIGITS:  # a bigger grid is unreadable and takes gigabytes to draw
        note(f"note: drawing the first {MAX_PLOT_DIGITS} of {total:,} digits")
        batch, truth = pipeline.first_digits(batch, MAX_PLOT_DIGITS), truth[:MAX_PLOT_DIGITS]
    records, _ = pipeline.predict(batch, load_predictor(model, note=note), "digits", truth)
    images = list(pipeline.digits_of(batch))
    titles, wrong = prediction_titles([r["prediction"] for r in records], [r["confidence"] for r in records], truth)
    right, judged = accuracy(records)
    # Titled with the model's name always: a grid of readings says little without whose they are.
    read = f"{right} of {judged} read correctly" if judged else f"{len(images)} digit{'s' * (len(images) != 1)} read"
    return save(draw_digits(images, titles, wrong, suptitle=f"{Path(model).name}: {read}"), path)
