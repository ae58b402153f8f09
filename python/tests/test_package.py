"""The installed package against the files and the installed `onelayer` command.

Needs the real CIFAR-10 binary version in $CIFAR10_DIR; skipped without it,
unless ONELAYER_REQUIRE_DATA=1 (then the tests fail).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import onelayer

DATA = Path(os.environ.get("CIFAR10_DIR", "data"))
D = 3072

if not (DATA / "data_batch_1.bin").is_file():
    if os.environ.get("ONELAYER_REQUIRE_DATA") == "1":
        raise RuntimeError(f"ONELAYER_REQUIRE_DATA=1 but no CIFAR-10 binary batches in {DATA}")
    pytest.skip(f"no CIFAR-10 binary batches in {DATA}", allow_module_level=True)


def command():
    """The `onelayer` command the package installed."""
    path = shutil.which("onelayer")
    assert path is not None, "the package's `onelayer` command is not on PATH"
    return path


def run(*args, cwd=None):
    """Runs the installed command; returns the completed process."""
    return subprocess.run([command(), *args], capture_output=True, text=True, cwd=cwd)


def read_bin(name):
    """A binary batch read with numpy alone: (pixels n×3072, labels n)."""
    records = np.fromfile(DATA / name, dtype=np.uint8).reshape(-1, 1 + D)
    return records[:, 1:], records[:, 0]


@pytest.fixture(scope="module")
def cifar():
    return onelayer.load_cifar10(DATA)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """`onelayer train` of the report's best setting (λ .1, η .001, seed 42)."""
    out = tmp_path_factory.mktemp("cli") / "out"
    p = run("train", "--data", str(DATA), "--lambda", "0.1", "--eta", "0.001",
            "--n-epochs", "40", "--n-batch", "100", "--seed", "42", "--out", str(out))
    assert p.returncode == 0, p.stderr
    results = json.loads((out / "results.json").read_text())
    return results["runs"][0], out / results["runs"][0]["name"] / "model.onelayer"


@pytest.fixture(scope="module")
def py_model(cifar):
    X, y, _, _ = cifar
    return onelayer.train(X[:10000], y[:10000], X[10000:20000], y[10000:20000],
                          lam=0.1, eta=0.001, n_epochs=40, n_batch=100, seed=42)


def test_load_cifar10_equals_the_binary_files(cifar):
    X, y, X_test, y_test = cifar
    assert X.dtype == np.uint8 and y.dtype == np.uint8
    assert X.shape == (50000, D) and y.shape == (50000,)
    assert X_test.shape == (10000, D) and y_test.shape == (10000,)
    for i in range(5):
        pixels, labels = read_bin(f"data_batch_{i + 1}.bin")
        rows = slice(10000 * i, 10000 * (i + 1))
        np.testing.assert_array_equal(X[rows], pixels)
        np.testing.assert_array_equal(y[rows], labels)
    pixels, labels = read_bin("test_batch.bin")
    np.testing.assert_array_equal(X_test, pixels)
    np.testing.assert_array_equal(y_test, labels)


def test_train_gives_the_cli_results(cifar, cli_run, py_model):
    _, _, X_test, y_test = cifar
    run_record, model_file = cli_run
    assert py_model.score(X_test, y_test) == run_record["test_accuracy"]
    history = py_model.history
    for key in ["train_loss", "train_cost", "train_accuracy", "val_loss", "val_cost", "val_accuracy"]:
        assert history[key] == run_record["history"][key], key
    assert history["epoch"] == list(range(1, 41))
    cli_model = onelayer.load(model_file)
    np.testing.assert_array_equal(py_model.W, cli_model.W)
    np.testing.assert_array_equal(py_model.b, cli_model.b)
    np.testing.assert_array_equal(py_model.mean, cli_model.mean)
    np.testing.assert_array_equal(py_model.std, cli_model.std)
    # The training set is batch 1, whose records' md5 is the file's.
    assert (py_model.meta["data"]["train_records_md5"]
            == cli_model.meta["data"]["train_records_md5"])


def test_predictions_follow_the_model_file_formula(cifar, py_model):
    _, _, X_test, y_test = cifar
    x = X_test[:500]
    z = (x / 255.0 - py_model.mean) / py_model.std
    s = z @ py_model.W.T.astype(np.float64) + py_model.b
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(py_model.predict_proba(x), p, atol=1e-5)
    assert py_model.predict_proba(x).shape == (500, 10)
    agree = (py_model.predict(x) == p.argmax(axis=1)).mean()
    assert agree >= 0.99
    accuracy = (py_model.predict(X_test) == y_test).mean()
    assert abs(accuracy - py_model.score(X_test, y_test)) < 0.002


def test_model_file_round_trip(tmp_path, cifar, py_model, cli_run):
    _, _, X_test, y_test = cifar
    saved = tmp_path / "python.onelayer"
    py_model.save(saved)
    # Python's file read by the command ...
    p = run("evaluate", "--model", str(saved), "--data", str(DATA), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    percent = re.search(r"accuracy (\d+\.\d\d)%", p.stdout).group(1)
    expected = 100 * (py_model.predict(X_test) == y_test).mean()
    assert percent == f"{expected:.2f}"
    # ... and by Python again, and the command's file by Python.
    again = onelayer.load(saved)
    np.testing.assert_array_equal(again.W, py_model.W)
    assert again.meta == py_model.meta
    assert again.history is None
    cli_model = onelayer.load(cli_run[1])
    np.testing.assert_array_equal(cli_model.predict(X_test), py_model.predict(X_test))
    assert cli_model.class_names == py_model.class_names


def test_several_settings_train_as_each_alone(cifar):
    X, y, _, _ = cifar
    both = onelayer.train(X[:2000], y[:2000], lam=[0.0, 1.0], eta=0.01, n_epochs=2)
    assert isinstance(both, list) and len(both) == 2
    for lam, model in zip([0.0, 1.0], both):
        alone = onelayer.train(X[:2000], y[:2000], lam=lam, eta=0.01, n_epochs=2)
        np.testing.assert_array_equal(model.W, alone.W)
        assert model.history == alone.history
    assert "val_loss" not in both[0].history


def test_any_number_of_threads_trains_the_same_model(cifar):
    X, y, _, _ = cifar
    # Three runs stacked: 30 rows of weights, whose steps are shared on every
    # instruction set (one run's 10 rows are one tile on AVX-512).
    settings = dict(lam=[0.0, 0.1, 1.0], eta=0.01, n_epochs=2)
    one = onelayer.train(X[:2000], y[:2000], X[2000:2500], y[2000:2500], threads=1, **settings)
    for threads in (2, 3):
        crew = onelayer.train(X[:2000], y[:2000], X[2000:2500], y[2000:2500], threads=threads, **settings)
        for a, b in zip(crew, one):
            np.testing.assert_array_equal(a.W, b.W)
            np.testing.assert_array_equal(a.b, b.b)
            assert a.history == b.history


def test_errors_are_exceptions_with_the_commands_messages(tmp_path):
    # A truncated batch among the real files.
    data = tmp_path / "data"
    data.mkdir()
    for f in DATA.iterdir():
        (data / f.name).symlink_to(f)
    (data / "data_batch_1.bin").unlink()
    (data / "data_batch_1.bin").write_bytes((DATA / "data_batch_1.bin").read_bytes()[:5000])
    with pytest.raises(onelayer.OnelayerError) as e:
        onelayer.load_cifar10(data)
    assert "data_batch_1.bin" in str(e.value) and "found 5000 bytes" in str(e.value)
    p = run("train", "--data", str(data), "--out", str(tmp_path / "out"))
    assert p.returncode == 1
    assert p.stderr.strip().splitlines()[-1] == f"error: {e.value}"
    # Not a model file.
    bad = tmp_path / "bad.onelayer"
    bad.write_text("not a model")
    with pytest.raises(onelayer.OnelayerError) as e:
        onelayer.load(bad)
    assert isinstance(e.value, ValueError)
    p = run("evaluate", "--model", str(bad), "--data", str(DATA), cwd=tmp_path)
    assert p.returncode == 1
    assert p.stderr.strip() == f"error: {e.value}"


def test_bad_arguments_name_the_argument(cifar):
    X, y, _, _ = cifar
    cases = [
        (dict(eta=-1.0), "eta: must be a finite number > 0, got -1"),
        (dict(lam=[0.1, -2.0]), "lam[1]: must be a finite number ≥ 0, got -2"),
        (dict(lam=[0.1, 0.2], eta=[0.1]), "lam and eta: lists of different lengths (2 and 1)"),
        (dict(n_batch=101), "n_batch: is 101 but the training set has only 100 images"),
        (dict(threads=0), "threads: must be at least 1"),
    ]
    for kwargs, message in cases:
        with pytest.raises(onelayer.OnelayerError, match=re.escape(message)):
            onelayer.train(X[:100], y[:100], **kwargs)
    with pytest.raises(onelayer.OnelayerError, match=r"X: expected uint8 images of shape \(n, 3072\) or float32"):
        onelayer.train(X[:100].astype(np.float64), y[:100])
    with pytest.raises(onelayer.OnelayerError, match=r"y: label 3 is 10, expected a class in 0..10"):
        onelayer.train(X[:100], np.where(np.arange(100) == 3, 10, y[:100]))
    with pytest.raises(onelayer.OnelayerError, match="X_val and y_val: give both or neither"):
        onelayer.train(X[:100], y[:100], X[:100])


def test_ctrl_c_stops_training():
    X, y = read_bin("data_batch_1.bin")
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            onelayer.train(X, y, n_epochs=500)
    finally:
        timer.cancel()
    # Without the stop, the 500 epochs take over a minute (and the late signal is
    # raised once they are done).
    assert time.monotonic() - start < 20


def test_the_command_is_installed_and_returns_its_status(tmp_path):
    p = run("--version")
    assert (p.returncode, p.stdout.strip()) == (0, f"onelayer {onelayer.__version__}")
    assert run("no-such-command").returncode == 2
    p = run("evaluate", "--model", str(tmp_path / "missing.onelayer"))
    assert p.returncode == 1 and "missing.onelayer" in p.stderr
