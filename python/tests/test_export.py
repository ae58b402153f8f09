"""The `onelayer export` safetensors file, read by the safetensors package, gives
numpy the same classes as the `onelayer` command on the real test batch."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

K, D = 10, 3072


def onelayer(*args, cwd):
    """Runs the installed `onelayer` command; a failure shows its stderr."""
    exe = shutil.which("onelayer")
    if exe is None:
        pytest.fail("the `onelayer` command is not on PATH: install the package first")
    done = subprocess.run([exe, *map(str, args)], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"onelayer {' '.join(map(str, args))}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def data_dir():
    path = os.environ.get("CIFAR10_DIR")
    if not path:
        if os.environ.get("CI") or os.environ.get("ONELAYER_REQUIRE_DATA") == "1":
            pytest.fail("CIFAR10_DIR is not set")
        pytest.skip("set CIFAR10_DIR to the real CIFAR-10 binary folder")
    return Path(path)


@pytest.fixture(scope="module")
def model(tmp_path_factory, data_dir):
    """A model trained for two epochs on data_batch_1."""
    tmp = tmp_path_factory.mktemp("model")
    path = tmp / "m.onelayer"
    onelayer("train", "--data", data_dir, "--n-epochs", 2, "--eta", 0.01,
             "--out", tmp / "out", "--save", path, cwd=tmp)
    return path


def read_test_batch(data_dir):
    """Images `n×3072` (uint8, CIFAR's channel-first order) and labels of test_batch.bin."""
    records = np.fromfile(data_dir / "test_batch.bin", dtype=np.uint8).reshape(-1, 1 + D)
    return records[:, 1:], records[:, 0].astype(np.int64)


def test_folded_weights_classify_the_test_batch_as_the_cli(tmp_path, data_dir, model):
    out = tmp_path / "m.safetensors"
    onelayer("export", model, "--format", "safetensors", "--out", out, cwd=tmp_path)
    tensors = load_file(str(out))
    assert sorted(tensors) == ["bias", "weight"]
    weight, bias = tensors["weight"], tensors["bias"]
    assert weight.shape == (K, D) and weight.dtype == np.float32
    assert bias.shape == (K,) and bias.dtype == np.float32

    x, labels = read_test_batch(data_dir)
    predicted = np.argmax((x / 255.0).astype(np.float32) @ weight.T + bias, axis=1)

    report = json.loads(onelayer("evaluate", "--model", model, "--data", data_dir, "--json",
                                 "--image", tmp_path / "cm.png", cwd=tmp_path))
    confusion = np.zeros((K, K), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    assert confusion.tolist() == report["confusion"]
    assert np.mean(predicted == labels) == pytest.approx(report["accuracy"], abs=0)

    try:
        import torch
    except ImportError:
        return
    from safetensors.torch import load_file as load_torch

    layer = torch.nn.Linear(D, K)
    layer.load_state_dict(load_torch(str(out)))
    with torch.no_grad():
        scores = layer(torch.from_numpy(x).float().div(255.0))
    assert (scores.argmax(dim=1).numpy() == predicted).all()


def test_header_metadata_names_the_classes_and_the_data(tmp_path, model):
    out = tmp_path / "m.safetensors"
    onelayer("export", model, "--out", out, cwd=tmp_path)
    header_len = int.from_bytes(out.read_bytes()[:8], "little")
    meta = json.loads(out.read_bytes()[8:8 + header_len])["__metadata__"]
    assert meta["format"] == "onelayer-export"
    assert json.loads(meta["class_names"])[0] == "airplane"
    assert json.loads(meta["data"])["train_batches"] == ["data_batch_1"]


def test_npz_export_holds_the_raw_model_too(tmp_path, model):
    out = tmp_path / "m.npz"
    onelayer("export", model, "--format", "npz", "--raw", "--out", out, cwd=tmp_path)
    with np.load(out) as z:
        w, std, mean, b = z["raw.W"], z["raw.std"], z["raw.mean"], z["raw.b"]
        np.testing.assert_allclose(z["weight"], w / std, rtol=1e-6)
        np.testing.assert_allclose(z["bias"], b - (w / std) @ mean, rtol=1e-4, atol=1e-4)
