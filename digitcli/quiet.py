"""Import TensorFlow without its start-up chatter on stderr.

TensorFlow's C++ side prints "WARNING: All log messages before absl::InitializeLog() is called...",
a oneDNN notice and, without a GPU, "Could not find cuda drivers", each twice, while it is imported,
whatever TF_CPP_MIN_LOG_LEVEL says. They come
from C++, past Python's sys.stderr, so the import runs with file descriptor 2 pointed at a temporary
file; afterwards every captured line that is not one of those notices is written back to stderr.
"""

import os
import re
import sys
import tempfile

NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)|"
    r"I0000 .*(oneDNN custom operations|cpu_feature_guard|Could not find cuda drivers)|"
    r"E0000 .*Unable to register cu(DNN|FFT|BLAS) factory|"
    r"To enable the following instructions:|"
    r"E0000 .*use_unbounded_threadpool)"
)


def import_tensorflow():
    """Import tensorflow and keras (once per process), passing on anything but the known notices."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().decode(errors="replace").splitlines()
                if line.strip() and not NOISE.match(line)
            ]
            if kept:
                print("\n".join(kept), file=sys.stderr)
