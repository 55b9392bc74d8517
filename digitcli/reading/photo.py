"""The photo format: an image of one digit, a row of them or several rows, prepared by MNIST's
recipe (photos/). Each line of digits is a record, top to bottom."""

from digitcli.reading.formats import Input


def read_input(name, data=None, stream=None, count=None, read=None):
    """`read` (a predictor's probabilities) lets the model choose how the ink is split into digits."""
    from digitcli.photos.prepare import prepare

    if data is None and stream is not None:  # standard input: a photo piped in
        data = _read_stream(name, stream)
    page = prepare(name, count, data=data, read=read)
    return Input(name, page.digits, list(page.lines), page=page)


def _read_stream(name, stream):
    from digitcli.errors import InputFileError
    from digitcli.settings import MAX_STDIN_IMAGE_BYTES

    data = stream.read(MAX_STDIN_IMAGE_BYTES + 1)
    if len(data) > MAX_STDIN_IMAGE_BYTES:
        raise InputFileError(
            f"{name}: more than {MAX_STDIN_IMAGE_BYTES >> 20} MB on standard input, far more than a photo of digits; "
            "scale it down, or give the file's name"
        )
    if not data:
        raise InputFileError(f"{name}: nothing on standard input; pipe a photo in (PNG, JPEG...) or give its name")
    return data
