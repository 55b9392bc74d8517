"""What `pip install` gives: the extras that the README's set-up names."""

from importlib.metadata import metadata, requires

from packaging.requirements import Requirement


def test_the_gpu_extra_brings_tensorflow_with_cuda():
    assert {"gpu", "tensorboard", "test"} <= set(metadata("digitcli").get_all("Provides-Extra"))
    needs = [Requirement(r) for r in requires("digitcli")]
    gpu = [
        r
        for r in needs
        if r.marker
        and r.marker.evaluate({"extra": "gpu", "sys_platform": "linux"})
        and not r.marker.evaluate({"extra": "", "sys_platform": "linux"})
    ]
    assert [(r.name, r.extras) for r in gpu] == [("tensorflow", {"and-cuda"})]
    assert "2.21.0" in gpu[0].specifier and "2.15.0" not in gpu[0].specifier
    # The base install is TensorFlow itself, so the extra adds CUDA to it rather than a second copy.
    base = {r.name for r in needs if not r.marker or r.marker.evaluate({"extra": ""})}
    assert "tensorflow" in base and "tensorflow-cpu" not in {r.name for r in needs}
