"""onelayer from Python, notebook style: `python examples/quickstart.py [DATA] [OUT]`.

Loads CIFAR-10 (DATA, else $CIFAR10_DIR, else ./data), trains the report's best
setting (λ = 0.1, η = 0.001, 40 epochs of mini-batches of 100 on batch 1,
validated on batch 2), prints its test accuracy, and, when matplotlib is
installed, saves its learning curves and class templates as PNGs in OUT
(default: quickstart/). Install the package first: `pip install .` (and
`pip install matplotlib` for the figures).
"""

import sys
from pathlib import Path

import numpy as np

import onelayer

# %% The data: uint8 rows of 3072 bytes (red, green, blue planes of 32×32).
data = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else None
out = Path(sys.argv[2] if len(sys.argv) > 2 else "quickstart")
X, y, X_test, y_test = onelayer.load_cifar10(data)
print(f"train {X.shape} {X.dtype}, test {X_test.shape}")

# %% The report's best setting: batch 1 trains, batch 2 validates.
model = onelayer.train(
    X[:10000], y[:10000], X[10000:20000], y[10000:20000],
    lam=0.1, eta=0.001, n_epochs=40, n_batch=100, seed=42,
)
print(model)
print(f"test accuracy {100 * model.score(X_test, y_test):.2f}%")
h = model.history
print(f"epoch {h['epoch'][-1]}: train loss {h['train_loss'][-1]:.4f}, "
      f"validation loss {h['val_loss'][-1]:.4f}")

# %% Curves and templates, when matplotlib is there.
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no figures (pip install matplotlib)")
    sys.exit(0)

out.mkdir(parents=True, exist_ok=True)
fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
for ax, metric in zip(axes, ["loss", "cost", "accuracy"]):
    ax.plot(h["epoch"], h[f"train_{metric}"], label="training")
    ax.plot(h["epoch"], h[f"val_{metric}"], label="validation")
    ax.set_xlabel("epoch")
    ax.set_title(metric)
    ax.legend()
fig.suptitle("λ = 0.1, η = 0.001")
fig.tight_layout()
fig.savefig(out / "curves.png", dpi=100)

# Each row of W as a 32×32 colour image, min–max scaled on its own.
W = model.W.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
fig, axes = plt.subplots(1, len(W), figsize=(2 * len(W), 2.4))
for ax, w, name in zip(axes, W, model.class_names):
    ax.imshow((w - w.min()) / (w.max() - w.min()))
    ax.set_title(name)
    ax.axis("off")
fig.tight_layout()
fig.savefig(out / "templates.png", dpi=100)
print(f"figures written to {out / 'curves.png'} and {out / 'templates.png'}")
