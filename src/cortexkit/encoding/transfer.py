"""Transfer across recordings: models fitted on other recordings as a feature space of a new one.

The population embedding (``population``, :class:`PopulationEmbedding`) follows the way Cowley et al.
(2023) map their ensemble to a new session's neurons: a model of many neurons, fitted on other
recordings of the same area, describes any image by the responses it predicts for those neurons, and a
new recording's units are then a (ridge) map from that description. Here the source models are ridge
models of each source recording's units on a base feature space (every layer of AlexNet, VGG16, ...),
each fitted on the source's own stimuli with its penalty chosen per unit by cross-validation; the
features of an image are every source unit's predicted response, one column per (source, base feature
space, layer, unit), in units of that prediction's standard deviation over the source's stimuli.

Nothing here sees the new recording's responses: the embedding depends only on the sources and the
image, so it is cached per stimulus like any other feature space, and the new recording's training split
fits only the map. The scored recording must not be one of its own sources, and its held-out stimuli
must have no copies among the sources' stimuli (the benchmarks leave such stimuli out of scoring,
:func:`cortexkit.benchmarks.recordings.transfer_stores`).

Source fits are cached under the feature cache (``population-sources/``), keyed on the source's
content, the base feature space, the ridge settings and this module's code, so that the sources of a
leave-one-recording-out benchmark are each fitted once.
"""

from __future__ import annotations

import glob
import hashlib
import json
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from cortexkit import data
from cortexkit.code_stamps import code_stamp
from cortexkit.encoding.ridge import DEFAULT_ALPHAS, RidgeCV
from cortexkit.encoding.ridge.missing import fit_per_pattern
from cortexkit.errors import ConfigError, CortexkitError, DataError, listed
from cortexkit.evaluation import data_fingerprint, load_arrays, save_arrays
from cortexkit.features.base import FeatureExtractor
from cortexkit.features.cache import FeatureCache, feature_key
from cortexkit.features.registry import EXTRACTORS, get_extractor

SPLITS = ("all", "train")  # which stimuli of a source fit its models
SOURCES_DIR = "population-sources"  # under the feature cache root
SOURCES_TEMPLATE = "{sources}"  # a benchmark model's sources: the other recordings, filled in per scored recording


def source_entries(recordings) -> list[tuple[str, str]]:
    """``[(store path, split)]`` from the ``recordings`` parameter: a path or glob, a ``{path, split}``
    mapping, or a list of those; globs expand in sorted order."""
    if recordings is None:
        return []
    items = recordings if isinstance(recordings, (list, tuple)) else [recordings]
    out = []
    for item in items:
        if isinstance(item, dict):
            unknown = set(item) - {"path", "split"}
            if unknown or "path" not in item:
                raise ConfigError(f"a source recording is a path or {{path, split}}, got {item}")
            path, split = str(item["path"]), str(item.get("split", "all"))
        else:
            path, split = str(item), "all"
        if split not in SPLITS:
            raise ConfigError(f"source {path}: split must be one of {listed(SPLITS)}, got {split!r}")
        matches = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
        if not matches:
            raise ConfigError(f"source recordings {path!r}: no store matches")
        out += [(m, split) for m in matches]
    paths = [p for p, _ in out]
    twice = sorted({p for p in paths if paths.count(p) > 1})
    if twice:
        raise ConfigError(f"source recording(s) named twice: {listed(twice)}")
    return out


def base_specs(features) -> list[tuple[str, dict]]:
    """``[(name, params)]`` of the base feature spaces: names, ``{name, params}`` mappings, or a list."""
    items = features if isinstance(features, (list, tuple)) else [features]
    out = []
    for item in items:
        if isinstance(item, dict):
            if set(item) - {"name", "params"} or "name" not in item:
                raise ConfigError(f"a base feature space is a name or {{name, params}}, got {item}")
            out.append((str(item["name"]), dict(item.get("params") or {})))
        else:
            out.append((str(item), {}))
    if not out:
        raise ConfigError("the population embedding needs at least one base feature space (features=...)")
    for name, _ in out:
        if name == "population":
            raise ConfigError("a population embedding cannot be built on another population embedding")
    return out


_FINGERPRINTS: dict[tuple, str] = {}  # store path, modification time -> data fingerprint (one hash per process)


def _fingerprint(path: str) -> str:
    p = Path(path)
    try:
        stamp = (str(p.resolve()), max((f.stat().st_mtime_ns for f in p.rglob("*")), default=p.stat().st_mtime_ns))
    except OSError:
        raise DataError("missing (a source recording of the population embedding)", source=path) from None
    if stamp not in _FINGERPRINTS:
        _FINGERPRINTS[stamp] = data_fingerprint(_open(path))
    return _FINGERPRINTS[stamp]


def _open(path: str):
    try:
        return data.open(path)
    except CortexkitError:
        raise
    except Exception as exc:
        raise DataError(f"cannot open the source recording ({type(exc).__name__}: {exc})", source=path) from None


@EXTRACTORS.register("population")
class PopulationEmbedding(FeatureExtractor):
    """Other recordings' fitted models as features: every source unit's predicted response.

    Parameters
    ----------
    recordings : str, dict or list
        The source recordings: stores (paths or globs), or ``{path, split}`` with ``split`` ``all``
        (every stimulus fits the source's models; default) or ``train`` (its training split only).
    features : str, dict or list
        Base feature space(s) of the source models (``alexnet``, ``{name: vgg16, params: {image_size:
        112}}``, ...); default AlexNet.
    layers : {"all", "best"}
        Every layer's predictions of every source unit, or per source and base space only the layer
        with the best median cross-validated score on that source.
    alphas, cv
        Ridge penalties and folds of the source fits (penalty per source unit by CV).
    device, seed
        Where the base networks and ridge run; the folds' seed.
    """

    name = "population"
    learns_from_stimuli = False  # depends on the sources, never on the recording it describes
    _parameter_constraints: dict = {
        "recordings": [str, list, tuple, dict, None],
        "features": [str, list, tuple, dict],
        "layers": [StrOptions({"all", "best"})],
        "alphas": [list, tuple, np.ndarray, None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "device": [str],
        "seed": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, recordings=None, features="alexnet", layers="all", alphas=None, cv=5, device="cpu", seed=0):
        self.recordings = recordings
        self.features = features
        self.layers = layers
        self.alphas = alphas
        self.cv = cv
        self.device = device
        self.seed = seed

    # -- what the features depend on -------------------------------------------------------------
    def _sources(self) -> list[tuple[str, str]]:
        if self.recordings == SOURCES_TEMPLATE:
            raise ConfigError("recordings '{sources}' is filled in by a benchmark (the recordings other than the one "
                              "scored); outside one, name the source stores")
        sources = source_entries(self.recordings)
        if not sources:
            raise ConfigError("the population embedding needs source recordings (-p recordings=STORE,... or a glob)")
        return sources

    def _bases(self):
        out = []
        for name, params in base_specs(self.features):
            extractor = get_extractor(name, params)
            if getattr(extractor, "learns_from_stimuli", True):
                raise ConfigError(f"base feature space {name!r} learns from the stimuli it is fitted on (a PCA basis), so "
                                  "the sources' models and a new recording would see different features; use a network "
                                  "or a fixed filter bank (alexnet, vgg16, gabor, expansion, ...)")
            if "device" in extractor.get_params(deep=False) and "device" not in params:
                params = {**params, "device": self.device}
                extractor = get_extractor(name, params)
            out.append((name, params, extractor))
        return out

    def _ridge(self) -> dict:
        alphas = DEFAULT_ALPHAS if self.alphas is None else tuple(float(a) for a in self.alphas)
        return {"alphas": [float(a) for a in alphas], "cv": int(self.cv), "seed": int(self.seed)}

    def code_stamp(self) -> str:
        """This module's code, the base extractors' code and every source's content (so that cached
        embeddings follow a changed source, base network or fit). Sources still to be named (the
        benchmarks' ``{sources}``, filled in per recording) add nothing: the stores they become are in
        the cell's fingerprint."""
        h = hashlib.sha1(code_stamp(self).encode())
        for name, params, extractor in self._bases():
            stamp = extractor.code_stamp() if hasattr(extractor, "code_stamp") else code_stamp(extractor)
            h.update(json.dumps([name, params, stamp], sort_keys=True, default=str).encode())
        if self.recordings != SOURCES_TEMPLATE:
            for path, split in self._sources():
                h.update(f"{_fingerprint(path)}:{split}".encode())
        return h.hexdigest()

    def layer_list(self) -> list[str]:
        """One layer, named ``population`` (its blocks are the sources, see :meth:`blocks`)."""
        return [self.name]

    def blocks(self) -> list[tuple[str, int]]:
        """``(source, columns)`` of each source recording's block of the embedding, in column order (the
        blocks :class:`~cortexkit.encoding.ridge.ForwardBlocksRidgeCV` chooses among); fits the sources
        (from their cache when fitted before)."""
        if not hasattr(self, "source_models_"):
            self._fit(None)
        n_bases = len(self._bases())
        out = []
        for j, (path, _) in enumerate(self._sources()):
            fits = [f for fits in self.source_models_[j * n_bases:(j + 1) * n_bases] for f in fits]
            out.append((Path(path).name.removesuffix(".zarr"), int(sum(f["coef"].shape[0] for f in fits))))
        return out

    # -- fitting the sources -----------------------------------------------------------------------
    def _fit(self, stimuli) -> None:
        self.source_models_ = [self._source_fit(path, split, base) for path, split in self._sources()
                               for base in self._bases()]

    def _source_fit(self, path: str, split: str, base) -> list[dict]:
        """Ridge of one source's units on every layer of one base space (cached); each layer's
        ``coef`` (unit, feature) / ``intercept`` / ``feature_scale`` / prediction ``mean`` and ``std``
        over the source's stimuli / median ``cv`` score."""
        name, params, extractor = base
        ridge = self._ridge()
        ds = _open(path)
        fit_key = hashlib.sha1(json.dumps({"source": _fingerprint(path), "split": split, "ridge": ridge,
                                           "base": feature_key(extractor, np.zeros((1,) + _shape(ds), np.float32)),
                                           "code": code_stamp(self)}, sort_keys=True).encode()).hexdigest()
        cache = FeatureCache()
        where = cache.root / SOURCES_DIR / f"{fit_key}.npz"
        if where.is_file():
            try:
                saved = load_arrays(where)
                layers = [str(x) for x in saved["layers"]]
                fits = [{k: saved[f"{i}/{k}"] for k in ("coef", "intercept", "feature_scale", "mean", "std", "cv")}
                        | {"layer": layer} for i, layer in enumerate(layers)]
                return self._chosen(fits)
            except Exception:  # a damaged entry is fitted again
                pass
        if split == "train":
            ds = data.select(ds, "train")
        if "time" in ds["responses"].dims:
            raise DataError("has time-resolved responses; the population embedding's source models predict one "
                            "response per stimulus", source=path, variable="responses")
        y = np.asarray(data.repeat_average(ds).transpose("stimulus", "unit").values, dtype=np.float64)
        stimuli = np.asarray(ds["stimuli"].values)
        feats = cache.features(extractor, stimuli, stimuli)
        fits = []
        for layer, x in feats.items():
            fits.append({"layer": layer, **self._ridge_layer(x, y, ridge, path)})
        arrays = {"layers": np.array([f["layer"] for f in fits])}
        for i, f in enumerate(fits):
            arrays.update({f"{i}/{k}": np.asarray(f[k]) for k in ("coef", "intercept", "feature_scale", "mean", "std",
                                                                   "cv")})
        save_arrays(arrays, where)
        return self._chosen(fits)

    def _ridge_layer(self, x: np.ndarray, y: np.ndarray, ridge: dict, path: str) -> dict:
        scale = float(np.sqrt(np.mean(x.var(axis=0)))) or 1.0
        n_units = y.shape[1]

        def fit(rows, units):
            model = RidgeCV(alphas=ridge["alphas"], cv=ridge["cv"], random_state=ridge["seed"], device=self.device)
            model.fit(x[rows] / scale, y[rows][:, units])
            pred = model.predict(x[rows] / scale)
            return {"coef": model.coef_, "intercept": model.intercept_, "cv": model.best_score_,
                    "mean": pred.mean(0), "std": pred.std(0)}

        coef = np.zeros((n_units, x.shape[1]), np.float32)
        out = {"intercept": np.zeros(n_units), "cv": np.full(n_units, np.nan), "mean": np.zeros(n_units),
               "std": np.ones(n_units)}
        fitted, _ = fit_per_pattern(fit, y, ridge["cv"])  # units not recorded on every stimulus: per group
        if not fitted:
            raise DataError("has no unit recorded on enough stimuli to fit a source model", source=path,
                            variable="responses")
        keep = np.zeros(n_units, bool)
        for _, units, res in fitted:
            coef[units] = res["coef"]
            for k in ("intercept", "cv", "mean", "std"):
                out[k][units] = res[k]
            keep[units] = True
        keep &= out["std"] > 0  # a unit predicted constant carries nothing
        out["std"][~keep] = 1.0
        return {"coef": coef[keep], "intercept": out["intercept"][keep], "mean": out["mean"][keep],
                "std": out["std"][keep], "cv": out["cv"][keep], "feature_scale": np.float64(scale)}

    def _chosen(self, fits: list[dict]) -> list[dict]:
        if self.layers == "all" or len(fits) == 1:
            return fits
        return [max(fits, key=lambda f: float(np.nanmedian(f["cv"])) if np.isfinite(f["cv"]).any() else -np.inf)]

    # -- the embedding -----------------------------------------------------------------------------
    def _transform(self, stimuli: np.ndarray) -> np.ndarray:
        if not hasattr(self, "source_models_"):
            self._fit(stimuli)
        cache = FeatureCache()
        bases = self._bases()
        n_bases = len(bases)
        columns = []
        for i, fits in enumerate(self.source_models_):
            _, _, extractor = bases[i % n_bases]
            feats = cache.features(extractor, stimuli, stimuli)
            for f in fits:
                x = feats[str(f["layer"])]
                if x.shape[1] != f["coef"].shape[1]:
                    raise DataError(f"base features of layer {f['layer']} have {x.shape[1]} columns; the source model "
                                    f"was fitted on {f['coef'].shape[1]} (stimuli of another shape?)", variable="stimuli")
                pred = (x / float(f["feature_scale"])) @ f["coef"].T + f["intercept"]
                columns.append(((pred - f["mean"]) / f["std"]).astype(np.float32))
        return np.concatenate(columns, axis=1)


def _shape(ds) -> tuple[int, ...]:
    return tuple(int(s) for s in ds["stimuli"].shape[1:])
