"""predict-image's preparation on degraded pages (issue 27): each family of tests/degradations.py,
drawn here with pen strokes, at the levels where a person still reads the digit easily, is read
right and as one digit, by the shipped model through the library's prepare()."""

import degradations
import numpy as np
import pytest
from conftest import ROOT

from digitcli.photos.prepare import prepare

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def model():
    from digitcli.inference.predictors import load_predictor

    return load_predictor(ROOT / "models" / "robust.keras", "onnx")


def reading(model, family, level, digit, seed):
    rng = np.random.default_rng([seed, digit, level])
    page = degradations.degrade(degradations.pen_ink(digit, rng), family, level, rng)
    found = prepare(f"{family}.png", data=degradations.encode(page, family, level), read=model.probabilities)
    return "".join(map(str, model.probabilities(found.digits).argmax(1)))


@pytest.mark.parametrize("family", list(degradations.FAMILIES))
def test_each_family_is_read_at_mild_and_moderate_levels(model, family):
    """Five digits a level, mild and moderate: every one read right, none split in two."""
    for level, digits in ((0, (0, 2, 4, 6, 8)), (1, (1, 3, 5, 7, 9))):
        got = [reading(model, family, level, d, seed=1) for d in digits]
        assert got == [str(d) for d in digits], (family, degradations.LEVELS[level])


@pytest.mark.parametrize(
    "family, level",
    [("light+shadow", 1), ("light+shadow", 3), ("noise", 2), ("squared", 2), ("lined", 3)],
)
def test_hard_cases_the_old_preparation_lost(model, family, level):
    """A hard shadow edge through the digit (the page mostly in shade, which flipped the old
    polarity guess), heavy sensor noise, dark squared and ruled paper: all ten digits read right."""
    got = [reading(model, family, level, d, seed=2) for d in range(10)]
    assert got == [str(d) for d in range(10)]


@pytest.mark.slow
def test_a_single_digit_is_never_split(model):
    """At every level of every family, a single digit is read as one digit."""
    split = [
        (family, level, got)
        for family in degradations.FAMILIES
        for level in range(len(degradations.LEVELS))
        if len(got := reading(model, family, level, (3 * level + len(family)) % 10, seed=3)) != 1
    ]
    assert split == []


def test_a_phone_sized_photo_is_read_from_a_small_copy(model, tmp_path):
    """A 12-megapixel JPEG of a number: decoded at a fraction of its size and worked on at a few
    hundred pixels (it took seconds at full size), and still read right."""
    from PIL import Image

    rng = np.random.default_rng(4)
    ink = np.hstack([degradations.pen_ink(d, rng, height=600, margin=0.15) for d in (3, 1, 4, 7)])
    page = np.zeros((3000, 4000), np.float32)
    page[1000 : 1000 + ink.shape[0], 400 : 400 + ink.shape[1]] = ink
    path = tmp_path / "phone.jpg"
    degradations.to_image(degradations.render(page)).save(path, quality=90)
    assert Image.open(path).size == (4000, 3000)
    found = prepare(path, read=model.probabilities)
    assert "".join(map(str, model.probabilities(found.digits).argmax(1))) == "3147"
    assert max(found.gray.shape) <= 600 and all(m.shape == found.gray.shape for m in found.masks)
