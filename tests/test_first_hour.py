"""Issue 28's smaller things, as a new user met them: pictures not replaced silently, help that does
not contradict itself, output that fits a terminal, notes that say what is scored, a progress bar in
images, titled digit grids, a prepare --show picture in which the photo is not a thumbnail."""

import io
import re
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SAMPLES, SHIPPED_DENSE

from digitcli.cli import cli
from digitcli.report import plots


def run(*args, code=0, **kwargs):
    result = CliRunner().invoke(cli, [str(a) for a in args], **kwargs)
    assert result.exit_code == code, (result.output, result.stderr, repr(result.exception))
    return result


def help_of(*command):
    return " ".join(run(*command, "--help").output.split())


def option_help(command, option):
    """The help of one option of `command`, on one line."""
    blocks = re.split(r"\n(?=  -)", run(command, "--help").output)
    (block,) = [b for b in blocks if option in b.split()[:2] or f"{option}," in b.split()[:2]]
    return " ".join(block.split())


def test_plot_refuses_to_replace_a_picture_unless_told(tmp_path):
    history = tmp_path / "a.history.csv"
    history.write_text("epoch,accuracy,loss\n1,0.5,1.0\n2,0.7,0.6\n")
    other = tmp_path / "b.history.csv"
    other.write_text("epoch,accuracy,loss\n1,0.6,0.9\n")
    out = tmp_path / "pics"
    out.mkdir()
    (out / "compare-history.png").write_bytes(b"mine")
    refused = run("plot", history, other, "--out", out, code=1)
    assert f"{out / 'compare-history.png'}: already exists" in refused.stderr and "--overwrite" in refused.stderr
    assert (out / "compare-history.png").read_bytes() == b"mine"
    assert run("plot", history, other, "--out", out, "--overwrite").stdout.split() == [str(out / "compare-history.png")]
    assert (out / "compare-history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_validation_size_help_states_one_default():
    text = option_help("train", "--validation-size")
    assert text.count("default") == 1 and "a tenth of a set under 20,000 images" in text


def test_plot_data_help_is_about_samples_not_training():
    text = option_help("plot", "--data")
    assert "--samples" in text and "test set" not in text


def test_export_help_explains_litert():
    text = help_of("export")
    assert "litert: a .tflite file for LiteRT, formerly TensorFlow Lite" in text
    assert "0 = background and 1 = ink" in text


@pytest.mark.parametrize("columns,widest", [("250", 100), ("72", 72)])
def test_presets_wrap_to_the_terminal(monkeypatch, columns, widest):
    monkeypatch.setenv("COLUMNS", columns)
    lines = run("presets").output.splitlines()
    assert max(map(len, lines)) <= widest
    from digitcli.nets.presets import PRESETS

    text = " ".join(" ".join(lines).split())
    assert text.count("this project's target") == len(PRESETS) == 8  # nothing lost to wrapping


@pytest.mark.skipif(not SHIPPED_DENSE.exists(), reason="shipped model missing")
def test_evaluate_on_a_labelled_csv_says_it_scores_its_last_tenth(tmp_path):
    from conftest import synthetic_digits

    images, labels = synthetic_digits(50)
    data = tmp_path / "mine.csv"
    np.savetxt(data, np.column_stack([labels, images.reshape(50, -1)]), fmt="%d", delimiter=",")
    result = run("evaluate", SHIPPED_DENSE, "--data", data, "--backend", "onnx")
    assert f"note: scoring the last tenth of {data} (5 of 50 images)" in result.stderr
    assert "5" in result.stdout  # the report itself stays on stdout


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_prediction_progress_bar_counts_images(monkeypatch):
    from digitcli.cliparams import terminal_progress
    from digitcli.inference.predict import BLOCK, _InBlocks

    class Zeros:
        backend = "test"

        def probabilities(self, images):
            return np.zeros((len(images), 10), dtype=np.float32)

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    n = 3 * BLOCK + 5
    out = _InBlocks(Zeros(), terminal_progress).probabilities(np.zeros((n, 28, 28), dtype=np.uint8))
    assert out.shape == (n, 10)
    assert f"{n}/{n}" in screen.getvalue() and "4/4" not in screen.getvalue()


@pytest.mark.skipif(not SHIPPED_DENSE.exists(), reason="shipped model missing")
def test_a_digits_grid_from_a_glob_is_titled_with_the_model(tmp_path, monkeypatch):
    titles = []
    real_save = plots.save
    monkeypatch.setattr(
        plots, "save", lambda fig, path: titles.append(fig._suptitle.get_text()) or real_save(fig, path)
    )
    run("plot", "--digits", str(SAMPLES / "digit3_*.csv"), "--model", SHIPPED_DENSE, "--out", tmp_path)
    assert titles == ["dense.keras: 4 digits read"]


def test_prepare_show_draws_a_ten_digit_photo_across_the_picture():
    from types import SimpleNamespace

    gray = np.full((60, 600), 255, dtype=np.uint8)  # a strip of ten digits, ten times wider than tall
    masks = []
    for i in range(10):
        gray[15:45, 60 * i + 20 : 60 * i + 40] = 0
        mask = np.zeros(gray.shape, dtype=bool)
        mask[15:45, 60 * i + 20 : 60 * i + 40] = True
        masks.append(mask)
    shown = SimpleNamespace(
        name="ten.png", gray=gray, masks=masks, digits=np.zeros((10, 28, 28), dtype=np.uint8), lines=[10]
    )
    fig = plots.draw_prepared(shown)
    fig.canvas.draw()
    photo = fig.axes[0].get_window_extent()
    figure = fig.get_window_extent()
    assert photo.width >= 0.8 * figure.width  # the photo spans the picture, not a thumbnail beside it
    digit = fig.axes[1].get_window_extent()
    assert photo.width >= 8 * digit.width
