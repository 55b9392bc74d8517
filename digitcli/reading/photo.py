"""The photo format: an image of one digit or a row of them, prepared by MNIST's recipe (photos/)."""

from digitcli.reading.formats import Input


def read_input(name, data=None, stream=None, count=None, read=None):
    """`read` (a predictor's probabilities) lets the model choose how the ink is split into digits."""
    from digitcli.photos.prepare import prepare

    page = prepare(name, count, data=data, read=read)
    return Input(name, page.digits, [len(page.digits)], page=page)
