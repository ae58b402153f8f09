#!/usr/bin/env python3
"""PyTorch peer: the one-layer softmax network of the report on the CPU in
float32, the method of ../shared/bench/numpy_reference.py line for line
(mini-batch gradient descent with the analytic gradients, no autograd), one run
per setting.

Used only to measure the project side by side (accuracy and wall time).
Usage: torch_reference.py DATA_DIR [--settings 0,1,2,3] [--epochs 40] [--threads N]
DATA_DIR holds the CIFAR-10 binary batches (data_batch_1.bin ...).
Prints one JSON line per setting: test accuracy, final losses, seconds.
Needs torch (pip install torch) and numpy.
"""
import argparse, json, os, sys, time
import numpy as np
import torch

SETTINGS = [  # (lambda, n_epochs, n_batch, eta) exactly as in the seed report
    (0.0, 40, 100, 0.001),
    (0.0, 40, 100, 0.1),
    (0.1, 40, 100, 0.001),
    (1.0, 40, 100, 0.001),
]


def load(path):
    rec = np.fromfile(path, np.uint8).reshape(10000, 3073)
    y = torch.from_numpy(rec[:, 0].astype(np.int64))
    X = torch.from_numpy(rec[:, 1:].T.astype(np.float32) / 255.0)  # d x n, as in the report
    Y = torch.zeros((10, X.shape[1]), dtype=torch.float32)
    Y[y, torch.arange(y.numel())] = 1
    return X, Y, y


def probs(X, W, b):
    S = W @ X + b
    S -= S.max(dim=0, keepdim=True).values
    E = torch.exp(S)
    return E / E.sum(dim=0, keepdim=True)


def loss_cost_acc(X, Y, y, W, b, lam):
    P = probs(X, W, b)
    loss = float(-torch.log(torch.sum(Y * P, dim=0)).mean())
    return loss, loss + lam * float(torch.sum(W * W)), float((P.argmax(0) == y).float().mean())


@torch.no_grad()
def run(data, setting, epochs=None, seed=42):
    lam, n_epochs, n_batch, eta = setting
    n_epochs = epochs or n_epochs
    Xtr, Ytr, ytr = load(os.path.join(data, 'data_batch_1.bin'))
    Xva, Yva, yva = load(os.path.join(data, 'data_batch_2.bin'))
    Xte, Yte, yte = load(os.path.join(data, 'test_batch.bin'))
    t0 = time.perf_counter()
    mean = Xtr.mean(dim=1, keepdim=True); std = Xtr.std(dim=1, keepdim=True, correction=0)
    Xtr, Xva, Xte = (Xtr - mean) / std, (Xva - mean) / std, (Xte - mean) / std
    rng = np.random.default_rng(seed)
    W = torch.from_numpy((0.01 * rng.standard_normal((10, 3072))).astype(np.float32))
    b = torch.zeros((10, 1), dtype=torch.float32)
    n = Xtr.shape[1]
    hist = []
    for _ in range(n_epochs):
        for j in range(n // n_batch):
            Xb = Xtr[:, j * n_batch:(j + 1) * n_batch]; Yb = Ytr[:, j * n_batch:(j + 1) * n_batch]
            G = -(Yb - probs(Xb, W, b))
            gW = G @ Xb.T / n_batch + 2 * lam * W
            gb = G.sum(dim=1, keepdim=True) / n_batch
            W -= eta * gW; b -= eta * gb
        hist.append((loss_cost_acc(Xtr, Ytr, ytr, W, b, lam), loss_cost_acc(Xva, Yva, yva, W, b, lam)))
    test = loss_cost_acc(Xte, Yte, yte, W, b, lam)
    secs = time.perf_counter() - t0
    return dict(setting=dict(lam=lam, n_epochs=n_epochs, n_batch=n_batch, eta=eta), dtype='float32',
                torch=torch.__version__, threads=torch.get_num_threads(),
                test_acc=test[2], train_loss=hist[-1][0][0], val_loss=hist[-1][1][0],
                train_acc=hist[-1][0][2], val_acc=hist[-1][1][2], seconds=secs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('data')
    ap.add_argument('--settings', default='0,1,2,3'); ap.add_argument('--epochs', type=int)
    ap.add_argument('--threads', type=int, help='torch threads (default: torch\'s own choice)')
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    for i in map(int, a.settings.split(',')):
        print(json.dumps(run(a.data, SETTINGS[i], a.epochs)), flush=True)


if __name__ == '__main__':
    sys.exit(main())
