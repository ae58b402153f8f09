"""Type stubs of the compiled module; see the docstrings for shapes and examples."""

from os import PathLike
from typing import Literal, Optional, Sequence, Union, overload

import numpy as np
import numpy.typing as npt

__version__: str
DEFAULT_SEED: int

class OnelayerError(ValueError):
    """An input onelayer cannot use; the message names the file or setting."""

class Model:
    """A trained one-layer network: ``p = softmax(W (x/255 - mean)/std + b)`` on uint8
    images ``x`` (3072 bytes), or ``p = softmax(W (x - mean)/std + b)`` on float32
    features ``x`` (``d`` values) for a model trained on features."""

    @property
    def W(self) -> npt.NDArray[np.float32]:
        """Weights, ``K×d`` (``K×3072`` for images)."""
    @property
    def b(self) -> npt.NDArray[np.float32]:
        """Bias, ``K``."""
    @property
    def mean(self) -> npt.NDArray[np.float32]:
        """Training mean, ``d`` (images: on the ``x/255`` scale)."""
    @property
    def std(self) -> npt.NDArray[np.float32]:
        """Training standard deviation, ``d`` (images: on the ``x/255`` scale)."""
    @property
    def input_kind(self) -> Literal["images", "features"]:
        """``"images"`` (uint8 ``n×3072``) or ``"features"`` (float32 ``n×d``)."""
    @property
    def class_names(self) -> list[str]:
        """Class names in label order, ``K``."""
    @property
    def meta(self) -> dict:
        """The model file's ``meta.json``."""
    @property
    def history(self) -> Optional[dict[str, list[float]]]:
        """Per-epoch metrics (``epoch``, ``train_*``, ``val_*``); ``None`` when loaded."""
    @property
    def diverged_at_epoch(self) -> Optional[int]:
        """The epoch in which the cost became non-finite, if it did."""
    def predict_proba(
        self, X: Union[npt.NDArray[np.uint8], npt.NDArray[np.float32]]
    ) -> npt.NDArray[np.float32]:
        """Probabilities ``n×K`` of uint8 images ``X: n×3072`` (features: float32 ``n×d``)."""
    def predict(
        self, X: Union[npt.NDArray[np.uint8], npt.NDArray[np.float32]]
    ) -> npt.NDArray[np.int64]:
        """Most probable class ``n`` of uint8 images ``X: n×3072`` (features: float32 ``n×d``)."""
    def score(
        self, X: Union[npt.NDArray[np.uint8], npt.NDArray[np.float32]], y: npt.ArrayLike
    ) -> float:
        """Accuracy on ``X`` (``n×3072`` images or ``n×d`` features) with labels ``y: n``."""
    def save(self, path: Union[str, PathLike[str]]) -> None:
        """Writes the model file that ``onelayer evaluate`` reads."""

def load(path: Union[str, PathLike[str]]) -> Model:
    """Reads a model file written by ``onelayer`` or ``Model.save``."""

def load_cifar10(
    path: Union[str, PathLike[str], None] = None, *, allow_modified: bool = False
) -> tuple[
    npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8]
]:
    """``(X_train 50000×3072, y_train 50000, X_test 10000×3072, y_test 10000)``, uint8."""

@overload
def train(
    X: Union[npt.NDArray[np.uint8], npt.NDArray[np.float32]],
    y: npt.ArrayLike,
    X_val: Optional[Union[npt.NDArray[np.uint8], npt.NDArray[np.float32]]] = None,
    y_val: Optional[npt.ArrayLike] = None,
    *,
    lam: float = 0.0,
    eta: float = 0.001,
    n_epochs: int = 40,
    n_batch: int = 100,
    seed: int = 42,
    shuffle: bool = False,
    class_names: Optional[Sequence[str]] = None,
    threads: Optional[int] = None,
) -> Model:
    """Trains on uint8 images ``X: n×3072`` or float32 features ``X: n×d`` with labels ``y: n``."""
@overload
def train(
    X: Union[npt.NDArray[np.uint8], npt.NDArray[np.float32]],
    y: npt.ArrayLike,
    X_val: Optional[Union[npt.NDArray[np.uint8], npt.NDArray[np.float32]]] = None,
    y_val: Optional[npt.ArrayLike] = None,
    *,
    lam: Union[float, Sequence[float]] = 0.0,
    eta: Union[float, Sequence[float]] = 0.001,
    n_epochs: int = 40,
    n_batch: int = 100,
    seed: int = 42,
    shuffle: bool = False,
    class_names: Optional[Sequence[str]] = None,
    threads: Optional[int] = None,
) -> Union[Model, list[Model]]: ...
def reproduce(
    path: Union[str, PathLike[str], None] = None,
    out: Union[str, PathLike[str]] = "results",
    *,
    threads: Optional[int] = None,
    allow_modified: bool = False,
    download: bool = False,
    url: Optional[str] = None,
) -> list[Model]:
    """The report's experiment into ``out``; returns its four models. With
    ``download=True``, data that is not found is downloaded first (from ``url``, a
    mirror, if given)."""
def main(argv: list[str]) -> int:
    """Runs the ``onelayer`` command line ``argv`` (program name first)."""
