"""`onelayer.train` on float32 features (any d), without the CIFAR-10 data."""

import numpy as np
import pytest

import onelayer

K = 10


def circle(n, d=2, seed=0):
    """Class k around angle 2πk/K on a circle of radius 10 (far from the origin),
    with noise of 1; further columns are noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % K
    angle = 2 * np.pi * y / K
    X = rng.normal(size=(n, d))
    X[:, 0] += 1000 + 10 * np.cos(angle)
    X[:, 1] += -50 + 10 * np.sin(angle)
    return X.astype(np.float32), y


def test_features_train_a_model_of_their_width():
    X, y = circle(1000, d=5)
    X_val, y_val = circle(300, d=5, seed=1)
    model = onelayer.train(X, y, X_val, y_val, lam=0.001, eta=0.5, n_epochs=20, n_batch=10)
    assert model.input_kind == "features"
    assert model.W.shape == (K, 5) and model.b.shape == (K,)
    assert model.mean.shape == (5,) and model.std.shape == (5,)
    # Standardised by the training statistics, as they are (no /255).
    np.testing.assert_allclose(model.mean, X.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(model.std, X.std(axis=0), rtol=1e-4)
    assert model.history["val_accuracy"][-1] > 0.9
    assert len(model.history["epoch"]) == 20
    p = model.predict_proba(X_val)
    assert p.shape == (300, K) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    pred = model.predict(X_val)
    assert pred.dtype == np.int64
    np.testing.assert_array_equal(pred, p.argmax(axis=1))
    assert (pred == y_val).mean() > 0.9
    assert model.score(X_val, y_val) == pytest.approx((pred == y_val).mean())
    # The probabilities are the model's maths, written in numpy.
    s = ((X_val - model.mean) / model.std) @ model.W.T + model.b
    q = np.exp(s - s.max(axis=1, keepdims=True))
    np.testing.assert_allclose(p, q / q.sum(axis=1, keepdims=True), atol=1e-5)


def test_one_feature_and_stacked_settings():
    X, y = circle(200, d=2)
    one = X[:, :1].copy()
    models = onelayer.train(one, y, lam=[0, 0.1], eta=0.1, n_epochs=2, n_batch=20)
    assert [m.W.shape for m in models] == [(K, 1), (K, 1)]
    # Stacked runs train as each alone.
    alone = onelayer.train(one, y, lam=0.1, eta=0.1, n_epochs=2, n_batch=20)
    np.testing.assert_array_equal(alone.W, models[1].W)
    assert alone.history == models[1].history


def test_a_model_of_features_saves_and_loads(tmp_path):
    X, y = circle(300, d=3)
    model = onelayer.train(X, y, eta=0.1, n_epochs=3, n_batch=30, shuffle=True)
    path = tmp_path / "probe.onelayer"
    model.save(path)
    back = onelayer.load(path)
    assert back.input_kind == "features"
    for name in ["W", "b", "mean", "std"]:
        np.testing.assert_array_equal(getattr(back, name), getattr(model, name))
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    assert back.meta["input_kind"] == "features"
    assert back.meta["run"]["shuffle"] is True
    # numpy reads it as the model file it is.
    with np.load(path) as m:
        assert m["W"].shape == (K, 3)


def test_bad_features_are_refused_naming_the_argument():
    X, y = circle(100, d=4)
    with pytest.raises(onelayer.OnelayerError, match=r"X_val: expected 4 features"):
        onelayer.train(X, y, X[:, :3].copy(), y, n_epochs=1)
    bad = X.copy()
    bad[7, 2] = np.nan
    with pytest.raises(onelayer.OnelayerError, match=r"^X: value at row 7, column 2 is NaN"):
        onelayer.train(bad, y, n_epochs=1)
    with pytest.raises(onelayer.OnelayerError, match=r"^X: expected uint8 images .* or float32 features .*float64"):
        onelayer.train(X.astype(np.float64), y, n_epochs=1)
    with pytest.raises(onelayer.OnelayerError, match=r"^y: label 3 is 12"):
        onelayer.train(X, np.where(np.arange(100) == 3, 12, y), n_epochs=1)
    with pytest.raises(onelayer.OnelayerError, match=r"^y: expected 100 integer labels"):
        onelayer.train(X, y[:99], n_epochs=1)
    with pytest.raises(onelayer.OnelayerError, match=r"d ≥ 1"):
        onelayer.train(np.zeros((100, 0), np.float32), y, n_epochs=1)
    model = onelayer.train(X, y, n_epochs=1)
    with pytest.raises(onelayer.OnelayerError, match=r"^X: expected float32 features of shape \(n, 4\)"):
        model.predict(np.zeros((2, 4), np.uint8))
    with pytest.raises(onelayer.OnelayerError, match=r"^X: expected 4 features per row"):
        model.predict(np.zeros((2, 5), np.float32))
