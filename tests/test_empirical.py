"""The empirical service time (device.read/write with dist: empirical): a measured
distribution, as quantiles or as fio json+ bins, sampled by its inverse CDF."""

from __future__ import annotations

import numpy as np
import pytest

from nvmesim.api import load, run_replication
from nvmesim.config import ConfigError
from nvmesim.sim.fio import Streams
from nvmesim.sim.model import job_seeds


def _draws(read: dict, n: int = 40_000) -> np.ndarray:
    cfg = load({"device": {"read": read}})
    streams = Streams(cfg, job_seeds(cfg, 0, 0))
    return np.array([streams.service_ns(True) for _ in range(n)]) / 1000.0


def test_quantiles_are_interpolated_linearly():
    """Between the points the CDF is linear: the draws' quantiles are the given ones, and
    their mean is the piecewise-linear distribution's (0.5 x 7 + 0.5 x 14.5 = 10.75)."""
    d = _draws({"dist": "empirical", "quantiles_us": [5, 9, 20]})
    assert d.min() >= 5 and d.max() <= 20
    assert np.quantile(d, 0.5) == pytest.approx(9, rel=0.02)
    assert np.quantile(d, 0.25) == pytest.approx(7, rel=0.02)
    assert d.mean() == pytest.approx(10.75, rel=0.01)
    assert load({"device": {"read": {"dist": "empirical", "quantiles_us": [5, 9, 20]}}}).device.read.mean_us == 10.75


def test_explicit_probabilities():
    d = _draws({"dist": "empirical", "quantiles_us": [8, 10, 100], "probs": [0, 0.99, 1]})
    assert np.mean(d > 10) == pytest.approx(0.01, abs=0.003)


def test_bins_are_sampled_as_their_values_in_proportion_to_their_counts():
    d = _draws({"dist": "empirical", "bins": [[12.0, 1], [9.0, 3], [50.0, 0]]})
    assert set(np.unique(d)) == {9.0, 12.0}
    assert np.mean(d == 9.0) == pytest.approx(0.75, abs=0.01)


def test_a_single_value_is_the_constant_distribution_bit_for_bit():
    """An empirical distribution of one value draws exactly it: the run equals the
    constant one (the service stream is the job's own, so nothing else moves)."""
    base = {"workload": {"bs": "4k", "iodepth": 8, "runtime": "5ms", "ramp_time": "1ms"}}
    a = run_replication(load({**base, "device": {"read": {"dist": "constant", "mean_us": 40.0}}}), "legacy", 0)
    b = run_replication(load({**base, "device": {"read": {"dist": "empirical", "quantiles_us": [40.0, 40.0]}}}),
                        "legacy", 0)
    assert a.profile_ns == b.profile_ns
    assert a.jobs[0].read.clat.counts == b.jobs[0].read.clat.counts


def test_the_effective_config_loads_again():
    cfg = load({"device": {"read": {"dist": "empirical", "quantiles_us": [5, 9, 20]}}})
    again = load(cfg.effective())
    assert again.device.read == cfg.device.read


@pytest.mark.parametrize("read,text", [
    ({"dist": "empirical"}, "exactly one of quantiles_us or bins"),
    ({"dist": "empirical", "quantiles_us": [9, 5]}, "non-decreasing"),
    ({"dist": "empirical", "quantiles_us": [5, 9], "probs": [0, 0.4, 1]}, "probabilities increasing"),
    ({"dist": "empirical", "bins": [[9.0, 0]]}, "positive total"),
    ({"dist": "empirical", "quantiles_us": [5, 9], "mean_us": 3.0}, "leave it out"),
    ({"dist": "lognormal", "mean_us": 9.0, "p99_us": 12.0, "quantiles_us": [5, 9]}, "for dist: empirical"),
])
def test_bad_empirical_input_is_a_located_error(read, text):
    with pytest.raises(ConfigError, match=f"device.read.*{text}"):
        load({"device": {"read": read}})
