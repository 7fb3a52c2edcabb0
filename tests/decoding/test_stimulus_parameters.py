"""The Poisson maximum-likelihood parameter decoder."""

import numpy as np
import pytest
def test_poisson_decoder_is_the_maximum_likelihood_rule():
    from scipy import stats

    from cortexkit.decoding import PoissonDecoder, decode_parameter

    rng = np.random.default_rng(0)
    directions = np.arange(0, 360, 45)
    # Five cells with von Mises tuning; Poisson counts on 400 trials.
    prefs = rng.uniform(0, 360, 5)
    rates = 2 + 18 * np.exp(2 * (np.cos(np.deg2rad(directions[:, None] - prefs[None])) - 1))
    y = rng.choice(directions, 400)
    x = rng.poisson(rates[np.searchsorted(directions, y)])
    model = PoissonDecoder().fit(x, y)
    # The rule by hand: the class of highest summed Poisson log-pmf under the fitted mean counts.
    loglik = np.stack([stats.poisson.logpmf(x, model.rates_[k]).sum(1) for k in range(len(directions))], axis=1)
    np.testing.assert_array_equal(model.predict(x), directions[np.argmax(loglik, axis=1)])
    poisson = decode_parameter(x, y, method="poisson", n_permutations=0)
    assert poisson.score > 3 * poisson.chance
    with pytest.raises(Exception, match="needs spike counts"):
        decode_parameter(x + 0.5, y, method="poisson", n_permutations=0)
    with pytest.raises(Exception, match="method must be one of"):
        decode_parameter(x, y, method="lda", n_permutations=0)
