"""How far two models agree on a unit's most exciting input: a measure of how much an MEI can be
trusted before it is shown to the animal.

Two models of the same unit that both predict held-out responses well can still extrapolate to
different optima. For each unit, each model's MEI is shown to the other model:

- ``cross_drive_ab``: model B's response to A's MEI, as a fraction of B's response to its own MEI,
  both measured above B's response to mean grey (1: A's MEI is as good as B's own for B; 0: no
  better than a blank screen), and ``cross_drive_ba`` the other way round;
- ``b_on_a_vs_best_image``: B's response to A's MEI over B's response to the best natural image of
  the pool (above 1: A's MEI beats every recorded image in B's eyes too);
- ``pixel_r``: the correlation of the two MEIs' deviations from grey.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cortexkit.errors import ConfigError


def mei_agreement(model_a, model_b, mei_a, mei_b, pool: np.ndarray | None = None, mean: float = 0.5) -> pd.DataFrame:
    """Per unit, the agreement of two models' MEIs (see the module).

    Parameters
    ----------
    model_a, model_b : :class:`ResponseModel` of the same units (matched by name).
    mei_a, mei_b : :class:`~cortexkit.insilico.mei.MEIResult` of the same units from each model.
    pool : natural stimuli; when given, each model's best pool response is the reference of the
        ``vs_best_image`` columns.
    """
    if list(mei_a.units) != list(mei_b.units):
        raise ConfigError("the two MEI sets are of different units")
    if model_a.image_shape != model_b.image_shape:
        raise ConfigError(f"the models take different stimuli ({model_a.image_shape} vs {model_b.image_shape})")
    ia, ib = model_a.unit_index(list(mei_a.units)), model_b.unit_index(list(mei_a.units))
    rows = np.arange(len(ia))
    grey = np.full((1,) + tuple(model_a.image_shape), mean, np.float32)
    a_grey, b_grey = model_a.predict(grey)[0, ia], model_b.predict(grey)[0, ib]
    a_on_a, b_on_b = model_a.predict(mei_a.images)[rows, ia], model_b.predict(mei_b.images)[rows, ib]
    a_on_b, b_on_a = model_a.predict(mei_b.images)[rows, ia], model_b.predict(mei_a.images)[rows, ib]
    da = (mei_a.images - mean).reshape(len(ia), -1)
    db = (mei_b.images - mean).reshape(len(ib), -1)
    da = da - da.mean(1, keepdims=True)
    db = db - db.mean(1, keepdims=True)
    pixel_r = (da * db).sum(1) / (np.linalg.norm(da, axis=1) * np.linalg.norm(db, axis=1) + 1e-12)
    table = pd.DataFrame({
        "unit": mei_a.units,
        "cross_drive_ab": (b_on_a - b_grey) / (b_on_b - b_grey),
        "cross_drive_ba": (a_on_b - a_grey) / (a_on_a - a_grey),
        "pixel_r": pixel_r,
        "a_on_a": a_on_a, "b_on_b": b_on_b, "b_on_a": b_on_a, "a_on_b": a_on_b,
    })
    if pool is not None:
        best_a, best_b = model_a.predict(pool)[:, ia].max(0), model_b.predict(pool)[:, ib].max(0)
        table["b_on_a_vs_best_image"] = b_on_a / best_b
        table["a_on_b_vs_best_image"] = a_on_b / best_a
    return table
