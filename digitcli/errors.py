"""Errors a user can fix. Each message names the file or value and says what to do.

The CLI turns these into click exceptions: `UsageProblem` exits 2 like a bad option,
everything else exits 1. Nothing here imports TensorFlow.
"""


class DigitcliError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 1


class DataError(DigitcliError):
    """A data set (IDX, npz, pkl.gz) that is missing, truncated or malformed."""


class ModelFileError(DigitcliError):
    """A model file that is missing, not a model, or not one digitcli can use."""


class InputFileError(DigitcliError):
    """A digit file (CSV, image) that cannot be read as digits."""


class OutputError(DigitcliError):
    """An output that cannot be written, or would overwrite something without consent."""


class UsageProblem(DigitcliError):
    """An option value that makes no sense; reported like Click's own bad-parameter errors."""

    exit_code = 2

    def __init__(self, message, param_hint=None):
        super().__init__(message)
        self.param_hint = param_hint


def to_stderr(message):
    """The default `note` of library functions: remarks for a person go to stderr, never stdout."""
    import sys

    print(message, file=sys.stderr)
