"""--encoding bits: each digit as the 4-bit binary code of its value on 4 sigmoid outputs (Nielsen's
chapter 1 exercise: 2^4 = 16 codes cover the ten digits), instead of 10 one-hot outputs.

Decoding, in NumPy so that both prediction backends share it: the outputs are read as independent
bit probabilities, and each digit's probability is the likelihood of its code, normalised over the
ten valid codes. An output nearer an invalid code (10-15) thus reads as the nearest valid digit, with
a confidence that says how near; --min-confidence turns the unsure ones into '?'."""

import numpy as np

BITS = 4
# CODES[d] is digit d's code, most significant bit first: 5 -> [0, 1, 0, 1].
CODES = ((np.arange(10)[:, None] >> np.arange(BITS - 1, -1, -1)) & 1).astype(np.float64)
EPSILON = 1e-7


def codes(labels):
    """The training targets: one row of 4 bits per digit."""
    return CODES[np.asarray(labels, dtype=np.int64)].astype(np.float32)


def digit_probabilities(bits):
    """(n, 4) bit probabilities -> (n, 10) digit probabilities (each code's likelihood, normalised)."""
    p = np.clip(np.asarray(bits, dtype=np.float64), EPSILON, 1 - EPSILON)
    log_likelihood = np.log(p) @ CODES.T + np.log(1 - p) @ (1 - CODES).T
    log_likelihood -= log_likelihood.max(axis=1, keepdims=True)
    likelihood = np.exp(log_likelihood)
    return (likelihood / likelihood.sum(axis=1, keepdims=True)).astype(np.float32)
