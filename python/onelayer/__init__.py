"""onelayer: a one-layer network (linear softmax classifier) on CIFAR-10.

The numbers come from the onelayer Rust library (the same readers, training
loop and model file as the ``onelayer`` command); arrays go in and out as numpy
arrays. Images are uint8 rows of 3072 bytes in the CIFAR-10 layout (red plane,
green plane, blue plane, each 32x32 row-major); ``train`` also takes float32
features ``n×d`` (any embedding, probed linearly).

>>> import onelayer
>>> X, y, X_test, y_test = onelayer.load_cifar10("cifar-10-batches-bin")
>>> model = onelayer.train(X[:10000], y[:10000], X[10000:20000], y[10000:20000], lam=0.1)
>>> model.score(X_test, y_test)  # doctest: +SKIP
0.3932
"""

from ._onelayer import (
    DEFAULT_SEED,
    Model,
    OnelayerError,
    __version__,
    load,
    load_cifar10,
    reproduce,
    train,
)

__all__ = [
    "DEFAULT_SEED",
    "Model",
    "OnelayerError",
    "__version__",
    "load",
    "load_cifar10",
    "reproduce",
    "train",
]
