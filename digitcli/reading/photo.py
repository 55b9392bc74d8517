"""The photo format: an image of one digit, a row of them or several rows, prepared by MNIST's
recipe (photos/). Each line of digits is a record, top to bottom."""

from digitcli.reading.formats import Input


def read_input(name, data=None, stream=None, count=None, read=None):
    """`read` (a predictor's probabilities) lets the model choose how the ink is split into digits."""
    from digitcli.photos.prepare import prepare

    page = prepare(name, count, data=data, read=read)
    return Input(name, page.digits, list(page.lines), page=page)
