"""The 2PL model recovers known item parameters and orders candidates by ability."""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr

from exams import irt


def _simulate(rng, candidates=2000, items=25, asked=15):
    a = rng.uniform(0.7, 2.0, items)
    b = rng.normal(0, 1, items)
    theta = rng.normal(0, 1, candidates)
    scores = (rng.random((candidates, items)) < irt.probability(theta, a, b)).astype(float)
    seen = np.zeros_like(scores)
    for row in range(candidates):  # each candidate is asked a random subset, as forms do
        seen[row, rng.choice(items, asked, replace=False)] = 1
    return a, b, theta, scores, seen


def test_calibration_recovers_difficulty_and_discrimination_from_incomplete_forms():
    a, b, theta, scores, seen = _simulate(np.random.default_rng(1))
    fitted = irt.calibrate(scores, seen)
    assert fitted.converged
    assert np.abs(fitted.b - b).mean() < 0.2
    assert pearsonr(fitted.a, a).statistic > 0.7
    estimate, se = irt.abilities(scores, seen, fitted.a, fitted.b)
    assert pearsonr(estimate, theta).statistic > 0.85
    assert 0.6 < irt.marginal_reliability(estimate, se) < 1


def test_unseen_answers_do_not_count():
    """What a candidate was not asked changes nothing, whatever the matrix holds there."""
    a, b, _, scores, seen = _simulate(np.random.default_rng(2), candidates=300)
    noise = np.where(seen == 1, scores, np.random.default_rng(3).integers(0, 2, scores.shape))
    first, _ = irt.abilities(scores, seen, a, b)
    second, _ = irt.abilities(noise, seen, a, b)
    assert np.allclose(first, second)


def test_the_cut_ability_inverts_the_expected_share():
    a, b = np.array([1.0, 1.5, 0.8]), np.array([-0.5, 0.2, 1.0])
    for share in (0.3, 0.6, 0.9):
        theta = irt.theta_for_fraction(share, a, b)
        assert abs(irt.expected_fraction(theta, a, b) - share) < 1e-6
