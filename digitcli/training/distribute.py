"""Training on several devices or machines with TensorFlow's tf.distribute.

- none: TensorFlow's default strategy (one device; a GPU when there is one).
- mirrored: MirroredStrategy over every local GPU, or over N logical CPU devices when `--replicas N`
  asks for them (for testing: splitting a CPU does not make it faster).
- multi-worker: MultiWorkerMirroredStrategy over the cluster that TF_CONFIG describes.

The learning-rate rule: `--batch-size` is the global batch. Each of R replicas gets batch/R images a
step and the gradients are averaged over the whole global batch, so a run with the same global batch
follows the single-process run and keeps its learning rate. If you grow the batch with R, scale the
learning rate by the same factor yourself (the linear scaling rule); digitcli never changes it.
"""

import contextlib
import json
import os
from dataclasses import dataclass

from digitcli.errors import DigitcliError, UsageProblem
from digitcli.settings import STRATEGIES

ENV_TF_CONFIG = "TF_CONFIG"


class DistributionError(DigitcliError):
    """A distributed run that cannot start or cannot go on (a worker died, a bad cluster)."""


@dataclass(frozen=True)
class Role:
    """Where this process stands: `chief` writes the model, checkpoints and history; the others
    train the same steps but write only to a temporary folder."""

    strategy: str = "none"
    task: str = "local"
    workers: int = 1
    chief: bool = True


def role(strategy, environ=None):
    """This process's Role; for multi-worker, read from TF_CONFIG (TensorFlow's own cluster format)."""
    if strategy not in STRATEGIES:
        raise UsageProblem(f"unknown --distribute {strategy!r}; choose one of {', '.join(STRATEGIES)}", "--distribute")
    if strategy != "multi-worker":
        return Role(strategy)
    environ = os.environ if environ is None else environ
    raw = environ.get(ENV_TF_CONFIG)
    hint = "see the multi-worker example in docs/distribute.md"
    if not raw:
        raise UsageProblem(
            f"--distribute multi-worker needs {ENV_TF_CONFIG} to describe the cluster; {hint}", "--distribute"
        )
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        kind, index = str(task["type"]), int(task["index"])
        sizes = {job: len(addresses) for job, addresses in cluster.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageProblem(
            f"{ENV_TF_CONFIG} is not a cluster description ({type(exc).__name__}: {exc}); "
            f'it needs "cluster" and "task" with "type" and "index"; {hint}',
            "--distribute",
        ) from None
    if not 0 <= index < sizes.get(kind, 0):
        raise UsageProblem(f"{ENV_TF_CONFIG}: task {kind}:{index} is not in the cluster ({sizes})", "--distribute")
    # TensorFlow's rule: the "chief" task if the cluster has one, else worker 0.
    chief = kind == "chief" or (kind == "worker" and index == 0 and "chief" not in sizes)
    workers = sizes.get("chief", 0) + sizes.get("worker", 0)
    return Role("multi-worker", f"{kind}:{index}", workers, chief)


def make_strategy(role, replicas=None):
    """The tf.distribute strategy for `role`. It must be made before TensorFlow runs anything else."""
    import tensorflow as tf

    if role.strategy == "none":
        return tf.distribute.get_strategy()
    if role.strategy == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        chosen = gpus[: replicas or len(gpus)]
        if replicas and replicas > len(gpus):
            raise UsageProblem(f"--replicas {replicas}: this machine has {len(gpus)} GPU(s)", "--replicas")
        return tf.distribute.MirroredStrategy([f"/gpu:{i}" for i in range(len(chosen))])
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * (replicas or 1))
    except RuntimeError:
        raise DistributionError(
            "TensorFlow was already running in this process; --distribute mirrored "
            "must be set up before it starts (run digitcli in a fresh process)"
        ) from None
    return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])


def devices():
    """What training runs on, in words: the GPUs TensorFlow sees, else the CPU."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU (no GPU found)"
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    return f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''}: {', '.join(names)}"


def steps_per_execution(role, strategy, wanted):
    """Keras 3.15 runs several steps per call through a loop that fails under tf.distribute with more
    than one replica ("You must feed a value for placeholder"), so such runs take one step per call."""
    return wanted if strategy.num_replicas_in_sync == 1 and role.workers == 1 else 1


@contextlib.contextmanager
def patched_keras(model, strategy, role):
    """Work around Keras 3.15's broken MultiWorkerMirroredStrategy support (keras-team/keras#20585):
    fit() reduces the first batch eagerly with strategy.reduce (which MWMS cannot do) only to learn its
    shapes, and averages scalar metrics with axis=0. Only multi-worker runs are patched, and only
    while the block runs: Keras' own function is put back afterwards."""
    if role.workers == 1:
        yield
        return
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    def one_replica(value):
        return (
            strategy.experimental_local_results(value)[0]
            if isinstance(value, tf.distribute.DistributedValues)
            else value
        )

    def maybe_symbolic_build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, it in iterator:
                data_batch = tree.map_structure(one_replica, next(it))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy_, reduction="auto"):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy_):
            return tree.map_structure(
                lambda v: strategy_.reduce("MEAN", v, axis=None) if trainer._is_per_replica_instance(v) else v, values
            )
        return original(values, strategy_, reduction)

    model._maybe_symbolic_build = maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        trainer.reduce_per_replica = original
        del model._maybe_symbolic_build


# How TensorFlow's errors read when a peer is gone: the coordination service's heartbeat verdict,
# or the collective's failed connection to a process that has exited.
PEER_GONE = ("unhealthy", "heartbeat", "failed to connect", "Connection refused", "Socket closed", "Connection reset")


def failure(exc, role, staging):
    """A one-line DistributionError for a TensorFlow error that stopped a multi-worker run."""
    text = str(exc)
    if any(sign in text for sign in PEER_GONE):
        what = "another worker stopped responding"
    else:
        what = (text.strip().splitlines() or [type(exc).__name__])[0][:300]
    where = (
        f"the last completed epoch is saved in {staging}" if role.chief else "the chief keeps the last completed epoch"
    )
    return DistributionError(
        f"multi-worker training stopped on {role.task}: {what}; {where}; "
        "restart every worker with the same command and --resume"
    )
