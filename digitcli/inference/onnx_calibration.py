"""The calibration temperature baked into an ONNX export, so that programs other than digitcli that
read the export get the same calibrated probabilities digitcli prints.

The export's first output keeps its name; what the network computed is renamed
`<name>/uncalibrated` and followed by softmax(log(max(p, 1e-30)) / T). The temperature is also
written into the model's metadata (TEMPERATURE_KEY), which tells digitcli the output is calibrated.
Needs the `onnx` package, not TensorFlow.
"""

import numpy as np

from digitcli.inference.calibration import TINY

TEMPERATURE_KEY = "digitcli.temperature"
PREFIX = "digitcli_calibration/"
RAW_SUFFIX = "/uncalibrated"


def baked_temperature(metadata_map):
    """The temperature an export says it applies, or None."""
    value = metadata_map.get(TEMPERATURE_KEY)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _outputs_ten(proto):
    dims = proto.graph.output[0].type.tensor_type.shape.dim
    return bool(dims) and dims[-1].dim_value == 10


def strip(proto):
    """The export as the network made it: calibration nodes, constants and metadata removed."""
    graph = proto.graph
    keep = [n for n in graph.node if not n.name.startswith(PREFIX)]
    if len(keep) != len(graph.node):
        out = graph.output[0].name
        del graph.node[:]
        graph.node.extend(keep)
        for node in graph.node:
            for i, name in enumerate(node.output):
                if name == out + RAW_SUFFIX:
                    node.output[i] = out
            for i, name in enumerate(node.input):
                if name == out + RAW_SUFFIX:
                    node.input[i] = out
    kept_init = [t for t in graph.initializer if not t.name.startswith(PREFIX)]
    del graph.initializer[:]
    graph.initializer.extend(kept_init)
    props = [p for p in proto.metadata_props if p.key != TEMPERATURE_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(props)
    return proto


def bake(proto, temperature):
    """Append temperature scaling to the export's first output (after removing any earlier one).
    Models whose output is not 10 probabilities (a 4-bit code) are left as they are: digitcli then
    applies the temperature itself after decoding."""
    from onnx import helper, numpy_helper

    strip(proto)
    if temperature is None or not _outputs_ten(proto):
        return proto
    graph = proto.graph
    out = graph.output[0].name
    raw = out + RAW_SUFFIX
    for node in graph.node:
        node.output[:] = [raw if name == out else name for name in node.output]
        node.input[:] = [raw if name == out else name for name in node.input]
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(TINY, dtype=np.float32), PREFIX + "tiny"),
            numpy_helper.from_array(np.array(temperature, dtype=np.float32), PREFIX + "temperature"),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Max", [raw, PREFIX + "tiny"], [PREFIX + "floored"], name=PREFIX + "floor"),
            helper.make_node("Log", [PREFIX + "floored"], [PREFIX + "log"], name=PREFIX + "log"),
            helper.make_node("Div", [PREFIX + "log", PREFIX + "temperature"], [PREFIX + "scaled"], name=PREFIX + "div"),
            helper.make_node("Softmax", [PREFIX + "scaled"], [out], name=PREFIX + "softmax", axis=-1),
        ]
    )
    entry = proto.metadata_props.add()
    entry.key, entry.value = TEMPERATURE_KEY, repr(float(temperature))
    return proto


def restamp(proto, key, value):
    """Set one metadata entry (the checkpoint hash) to `value`."""
    for entry in proto.metadata_props:
        if entry.key == key:
            entry.value = value
            return proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = key, value
    return proto
