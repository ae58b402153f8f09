#!/usr/bin/env python3
"""Golden values for tests/model.rs, computed with the numpy reference peer in
../shared/bench/numpy_reference.py (its `probs` and `loss_cost_acc`, and its
gradient formula), on a small fixed input defined by closed-form expressions.

Run from the repository root: python3 tests/golden/gen_golden.py
"""
import importlib.util, json, os
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
ref_path = os.path.join(here, "..", "..", "..", "shared", "bench", "numpy_reference.py")
spec = importlib.util.spec_from_file_location("numpy_reference", ref_path)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

K, d, n = 3, 5, 4
X = np.array([[np.sin(1.0 + i + 7 * j) for j in range(n)] for i in range(d)])          # d x n
W = np.array([[0.1 * np.cos(2.0 + 3 * k + i) for i in range(d)] for k in range(K)])    # K x d
b = np.array([[0.05 * (k - 1)] for k in range(K)])                                    # K x 1
y = np.array([2, 0, 1, 2])
Y = np.zeros((K, n)); Y[y, np.arange(n)] = 1
out = {}
for lam in (0.0, 0.5):
    loss, cost, acc = ref.loss_cost_acc(X, Y, y, W, b, lam)
    G = -(Y - ref.probs(X, W, b))
    gW = G @ X.T / n + 2 * lam * W
    gb = G.sum(axis=1, keepdims=True) / n
    out[str(lam)] = dict(loss=float(loss), cost=float(cost), acc=acc,
                         grad_w=gW.ravel().tolist(), grad_b=gb.ravel().tolist())
out["probs"] = ref.probs(X, W, b).ravel().tolist()
with open(os.path.join(here, "golden.json"), "w") as f:
    json.dump(out, f, indent=1)
print(json.dumps(out)[:200])
