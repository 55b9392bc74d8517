"""The reliability diagram of `evaluate --plots`: for each confidence bin, how often the model was
right against how sure it said it was. A calibrated model's bars sit on the diagonal."""

import numpy as np

from digitcli.inference.calibration import ECE_BINS, expected_calibration_error, reliability


def draw_reliability(probabilities, labels, title, bins=ECE_BINS):
    """Accuracy per confidence bin (bars) against the diagonal, the gap shaded, and below it how many
    images fell in each bin (log scale: nearly all of a good model's answers are in the last bin)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table = reliability(probabilities, labels, bins)
    ece = expected_calibration_error(probabilities, labels, bins)
    fig = Figure(figsize=(6, 7), layout="constrained")
    FigureCanvasAgg(fig)  # its own canvas, as in plots.py: no pyplot, no global backend
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    width = 1.0 / bins
    lows = np.array([row["low"] for row in table])
    filled = [row["images"] > 0 for row in table]
    accuracy = np.array([row["accuracy"] if row["images"] else 0.0 for row in table])
    confidence = np.array([row["confidence"] if row["images"] else 0.0 for row in table])
    top.bar(lows[filled], accuracy[filled], width=width, align="edge", color="tab:blue", edgecolor="black",
            label="accuracy in the bin")  # fmt: skip
    # The gap, hatched over or above the bar: above it the model was too sure, inside it too unsure.
    top.bar(lows[filled], np.abs(confidence - accuracy)[filled], bottom=np.minimum(accuracy, confidence)[filled],
            width=width, align="edge", fill=False, edgecolor="tab:red", hatch="///",
            label="gap to the mean confidence")  # fmt: skip
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(f"{title}\nECE {100 * ece:.2f}% ({bins} bins)")
    top.legend(loc="upper left")
    counts = np.array([row["images"] for row in table])
    bottom.bar(lows, np.maximum(counts, 0), width=width, align="edge", color="tab:grey", edgecolor="black")
    bottom.set_yscale("symlog", linthresh=1)
    bottom.set_xlabel("confidence (top probability)")
    bottom.set_ylabel("images")
    return fig
