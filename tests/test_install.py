"""What `pip install` gives: the extras that the README's set-up names, and the shipped models
found from any folder by every kind of install."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import metadata, requires
from pathlib import Path

import pytest
from conftest import ROOT
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


# What an install needs from the repository; a copy keeps build/ and *.egg-info out of the checkout.
SOURCES = ("digitcli", "models", "setup.cfg", "pyproject.toml", "README.md")


def venv_with_the_dependencies(folder):
    """A fresh venv whose dependencies come from the environment running the tests, less any digitcli
    installed there (an editable install's finder comes after the path's), so that the copy installed
    into the venv is the one that runs. Returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", folder / "venv"], check=True, timeout=120)
    python = folder / "venv" / "bin" / "python"
    deps = folder / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(("digitcli", "__editable__")):
            (deps / entry.name).symlink_to(entry)
    site_packages = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True
    ).stdout.strip()
    Path(site_packages, "zz_test_dependencies.pth").write_text(f"import site; site.addsitedir({str(deps)!r})\n")
    return python


def pip(*args, env):
    done = subprocess.run(
        [sys.executable, "-m", "pip", *map(str, args)], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow  # three pip installs
@pytest.mark.real_model
@pytest.mark.parametrize("kind", ["normal", "editable", "wheel"])
def test_every_kind_of_install_finds_the_shipped_model_from_any_folder(kind, tmp_path):
    source, elsewhere = tmp_path / "source", tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    python = venv_with_the_dependencies(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DIGITCLI_MODEL")}
    target = {"normal": [source], "editable": ["-e", source]}.get(kind)
    if kind == "wheel":
        pip("wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp_path / "dist", source, env=env)
        target = [next((tmp_path / "dist").glob("digitcli-*.whl"))]
    pip("--python", python, "install", "--no-deps", "--no-build-isolation", "-q", *target, env=env)

    imported = subprocess.run(
        [python, "-c", "import digitcli; print(digitcli.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(imported).is_relative_to(source if kind == "editable" else tmp_path / "venv"), imported
    result = subprocess.run(
        [python.parent / "digitcli", "predict-csv", ROOT / "sample_digits" / "digit3_1.csv", "--format", "json"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["prediction"] == 3


def test_the_default_model_is_the_shipped_one_unless_this_folder_has_its_own(tmp_path, monkeypatch):
    from digitcli.inference.modelfile import locate

    monkeypatch.chdir(tmp_path)
    assert locate() == ROOT / "models" / "robust.keras"  # this checkout's, as for `pip install -e .`
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "robust.keras").write_bytes(b"mine")
    assert locate() == Path("models/robust.keras")
    assert locate("other.keras") == Path("other.keras")
