"""Learning-rate schedules as Keras LearningRateSchedule objects: they are functions of the
optimizer's step count, so a resumed run (whose optimizer state is restored with the weights)
continues the schedule exactly where it stopped. Registered, so a saved optimizer names them and
loads in safe mode."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="digitcli")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """PyTorch's OneCycleLR (Smith & Topin 2017) without momentum cycling: the rate climbs from
    peak/25 to `peak` along a half cosine over the first `warmup` of the steps, then falls along a
    half cosine to peak/25e4 at `total_steps`."""

    def __init__(self, peak, total_steps, warmup=0.3, start_div=25.0, final_div=1e4):
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup = float(warmup)
        self.start_div = float(start_div)
        self.final_div = float(final_div)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        initial = self.peak / self.start_div
        final = initial / self.final_div
        warm = max(1.0, self.warmup * self.total_steps)
        rest = max(1.0, self.total_steps - warm)
        up = ops.minimum(step / warm, 1.0)
        down = ops.clip((step - warm) / rest, 0.0, 1.0)
        rising = self.peak + (initial - self.peak) * (1.0 + ops.cos(math.pi * up)) / 2.0
        falling = final + (self.peak - final) * (1.0 + ops.cos(math.pi * down)) / 2.0
        return ops.where(step < warm, rising, falling)

    def get_config(self):
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup": self.warmup,
            "start_div": self.start_div,
            "final_div": self.final_div,
        }
