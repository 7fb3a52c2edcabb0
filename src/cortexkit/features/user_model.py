"""Your own model as a feature space, without editing cortexkit: ``--features path/to/model.py:MyNet``
(or ``package.module:MyNet``).

The contract, for the object the reference names:

- **a torch module class** (built with the keyword arguments ``args``) or **a function returning a
  module**: it receives image batches ``(batch, 3, y, x)`` float in [0, 1] (grayscale images repeated on
  the three channels; resized to ``image_size`` when given; normalise inside the module if it
  expects that). Its layers are the module paths named in ``layers`` (as in ``named_modules()``;
  default: the class attribute ``LAYERS`` if it has one, else the module's output, named
  ``output``); each layer's map is average-pooled to ``pool`` x ``pool`` and flattened.
- **any other callable**: called with the stimuli (a float32 array ``(n, y, x[, channel])``, or
  ``(n, frame, y, x[, channel])`` for videos) and returns an array ``(n, features)`` (the layer
  ``output``) or a dict ``{layer: (n, features)}`` whose names the callable lists in its ``LAYERS``
  attribute (cortexkit names the models before computing anything).

The file is imported as its own module (nothing is installed). Errors name the file and the missing
attribute, layer or shape.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval
from torch import nn

from cortexkit.errors import ConfigError, DataError, listed
from cortexkit.features.base import FeatureExtractor
from cortexkit.features.registry import EXTRACTORS
from cortexkit.features.torch_layers import TorchExtractor
from cortexkit.registry import load_user_object

OUTPUT = "output"


def _file(reference: str) -> str:
    """The file (or module) of a ``path/to/file.py:Name`` reference."""
    return str(reference or "").rpartition(":")[0] or str(reference)


def _raised(source: str, what: str, exc: BaseException) -> DataError:
    """One line for an exception the user's own code raised: the file, the object, then the exception."""
    text = " ".join(str(exc).split())[:300]
    return DataError(f"{what} raised {type(exc).__name__}{': ' + text if text else ''}", source=_file(source))


def _build(source: str, args: dict):
    """The module (or callable) a reference names: a class or factory called with ``args``; a callable
    class (one with ``__call__``) is instantiated and its instance is the feature function."""
    obj = load_user_object(source)
    if isinstance(obj, type):
        try:
            made = obj(**args)
        except TypeError as exc:
            raise ConfigError(f"{source}: cannot build it with args {args} ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - the user's constructor failed: say where
            raise _raised(source, f"building {obj.__name__}", exc) from None
        if not isinstance(made, nn.Module) and not callable(made):
            raise ConfigError(f"{source} is a class whose instances are neither torch modules nor callable (define "
                              "forward or __call__)")
        return made
    if isinstance(obj, nn.Module) or not callable(obj):
        if isinstance(obj, nn.Module):
            return obj
        raise ConfigError(f"{source} is a {type(obj).__name__}; name a torch module class, a function returning one, "
                          "or a callable from stimuli to features")
    if args:  # a factory: called with the arguments, it may return a module
        try:
            return obj(**args)
        except TypeError as exc:
            raise ConfigError(f"{source}: cannot call it with args {args} ({exc})") from None
        except Exception as exc:  # noqa: BLE001
            raise _raised(source, f"calling {getattr(obj, '__name__', 'it')} with args {args}", exc) from None
    import inspect

    try:  # a factory without arguments returns a module; anything else is the feature function itself
        required = [p for p in inspect.signature(obj).parameters.values() if p.default is p.empty]
    except (TypeError, ValueError):
        required = [None]
    if not required:
        try:
            made = obj()
        except Exception as exc:  # noqa: BLE001
            raise _raised(source, f"calling {getattr(obj, '__name__', 'it')}()", exc) from None
        if isinstance(made, nn.Module):
            return made
    return obj


@EXTRACTORS.register("user")
class UserModel(TorchExtractor):
    """A model from your own code: path/to/file.py:Name or package.module:Name.

    Parameters
    ----------
    source : str
        ``path/to/model.py:Name`` or ``package.module:Name``.
    args : dict
        Keyword arguments of the class or factory.
    layers : sequence of str, optional
        Module paths to read (torch modules); default ``LAYERS`` of the class, else the output.
    pool, image_size, batch_size, device, seed, projection
        As for any torch network (:class:`~cortexkit.features.TorchExtractor`).
    """

    name = "user"
    accepts_video = True
    _parameter_constraints: dict = {
        "source": [str, None],
        "args": [dict, None],
        "layers": [list, tuple, None],
        "pool": [Interval(Integral, 1, None, closed="left"), str, None],
        "projection": [Interval(Integral, 1, None, closed="left"), None],
        "image_size": [Interval(Integral, 8, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "seed": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, source=None, args=None, layers=None, pool=6, projection=None, image_size=None, batch_size=32,
                 device="cpu", seed=0):
        self.source = source
        self.args = args
        self.layers = layers
        self.pool = pool
        self.projection = projection
        self.image_size = image_size
        self.batch_size = batch_size
        self.device = device
        self.seed = seed
        self.module = None
        self.mean = self.std = None

    def code_stamp(self) -> str:
        """A hash of the source file (or the module's file), so that cached features follow edits."""
        import hashlib
        import importlib.util
        from pathlib import Path

        where = str(self.source or "").rpartition(":")[0]
        path = Path(where).expanduser()
        if not path.is_file():
            try:
                spec = importlib.util.find_spec(where)
                path = Path(spec.origin) if spec and spec.origin else path
            except (ImportError, ValueError):
                pass
        return hashlib.sha1(path.read_bytes()).hexdigest() if path.is_file() else ""

    def _module(self):
        if not self.source:
            raise ConfigError("a user model needs its source: path/to/model.py:Name or package.module:Name")
        if getattr(self, "built_", None) is None:
            self.built_ = _build(self.source, dict(self.args or {}))
        return self.built_

    def _paths(self, net: nn.Module) -> list[str]:
        if self.layers:
            return list(self.layers)
        return list(getattr(type(net), "LAYERS", None) or [""])

    def layer_list(self) -> list[str]:
        """The layers' names (module paths; ``output`` for the module's output)."""
        built = self._module()
        if isinstance(built, nn.Module):
            return [p or OUTPUT for p in self._paths(built)]
        return list(self.layers or getattr(built, "LAYERS", None) or [OUTPUT])

    def _setup(self):
        net = self._module()
        paths = self._paths(net)
        return net, paths, [p or OUTPUT for p in paths], None

    def fit(self, stimuli, y=None):
        """Build the model (a torch module is checked for its layers on these stimuli)."""
        self._validate_params()
        built = self._module()
        arr = np.asarray(stimuli, dtype=np.float32)
        self.input_shape_ = arr.shape[1:]
        if isinstance(built, nn.Module):
            return FeatureExtractor.fit(self, arr)
        return self

    def extract(self, stimuli) -> dict[str, np.ndarray]:
        """``{layer: (n_stimuli, n_features)}``; anything the model raises, and output of the wrong rows or
        with NaN/inf, is one error naming its file."""
        from cortexkit.errors import CortexkitError

        built = self._module()
        name = type(built).__name__ if isinstance(built, nn.Module) or not hasattr(built, "__name__") else built.__name__
        if isinstance(built, nn.Module):
            try:
                out = super().extract(stimuli)
            except CortexkitError:
                raise
            except Exception as exc:  # noqa: BLE001 - the user's forward failed: say where, in one line
                raise _raised(self.source, f"{name}.forward", exc) from None
            return self._checked(out, len(stimuli), name)
        arr = np.asarray(stimuli, dtype=np.float32)
        try:
            out = built(arr)
        except Exception as exc:  # noqa: BLE001
            raise _raised(self.source, name, exc) from None
        layers = out if isinstance(out, dict) else {OUTPUT: out}
        declared = self.layer_list()
        if sorted(map(str, layers)) != sorted(declared):
            raise DataError(f"{self.source} returned layers {listed(sorted(map(str, layers)))}; it declares {declared} "
                            "(a callable returning a dict lists its layer names in a LAYERS attribute)", variable="layers")
        result = {}
        for layer, values in layers.items():
            try:
                values = np.asarray(values, dtype=np.float32)
            except (TypeError, ValueError) as exc:
                raise DataError(f"{name} returned something that is not an array of numbers for layer {layer!r} ({exc})",
                                source=_file(self.source)) from None
            if values.ndim < 1 or values.shape[0] != len(arr):
                raise DataError(f"{name} returned shape {values.shape} for {len(arr)} stimuli (layer {layer!r}); expected "
                                "(n_stimuli, n_features)", source=_file(self.source))
            result[str(layer)] = values.reshape(len(arr), -1)
        return self._checked({layer: result[layer] for layer in declared}, len(arr), name)

    def _checked(self, out: dict, n: int, name: str) -> dict:
        """The model's features, refused naming its file when a layer holds NaN or inf."""
        for layer, values in out.items():
            bad = ~np.isfinite(values)
            if bad.any():
                rows = int(bad.any(axis=1).sum())
                raise DataError(f"{name} returned {int(bad.sum())} NaN/inf value(s) in layer {layer!r} ({rows} of {n} "
                                "stimuli)", source=_file(self.source))
        return out

    def _transform(self, stimuli):
        return np.concatenate(list(self.extract(stimuli).values()), axis=1)
