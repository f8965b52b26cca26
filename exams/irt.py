"""The two-parameter logistic model: calibrate items from scored responses, estimate abilities.

Candidates sit different forms, so each sees a subset of the bank; marginal
maximum likelihood with an EM algorithm over a fixed quadrature of abilities
(Bock & Aitkin, 1981) uses exactly the responses each candidate gave, nothing
imputed. P(correct | θ) = 1 / (1 + exp(−a (θ − b))): *a* is how sharply an item
separates candidates (discrimination), *b* the ability at which half answer it
(difficulty). Abilities are expected a posteriori (EAP) with their standard errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Ability grid of the quadrature, and its standard normal prior weights.
NODES = np.linspace(-4.0, 4.0, 41)
PRIOR = np.exp(-NODES**2 / 2) / np.exp(-NODES**2 / 2).sum()
#: Bounds that keep an item with all-right or all-wrong answers finite.
A_RANGE, B_RANGE = (0.05, 4.0), (-5.0, 5.0)


@dataclass
class Calibration:
    """Item parameters (by column of the response matrix) and whether EM converged."""

    a: np.ndarray
    b: np.ndarray
    iterations: int
    converged: bool


def probability(theta: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return P(correct) for every ability (rows) and item (columns)."""
    return 1.0 / (1.0 + np.exp(-a[None, :] * (theta[:, None] - b[None, :])))


def _posterior(scores: np.ndarray, seen: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return each candidate's posterior weights over :data:`NODES` (rows sum to 1)."""
    p = np.clip(probability(NODES, a, b), 1e-9, 1 - 1e-9)          # nodes × items
    right, wrong = scores * seen, (1 - scores) * seen                # candidates × items
    log_like = right @ np.log(p).T + wrong @ np.log(1 - p).T        # candidates × nodes
    log_post = log_like + np.log(PRIOR)[None, :]
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    return post / post.sum(axis=1, keepdims=True)


def calibrate(scores: np.ndarray, seen: np.ndarray, *, iterations: int = 200,
              tolerance: float = 1e-4) -> Calibration:
    """Estimate a and b of every item from 0/1 *scores* where *seen* is 1 (MML-EM).

    Args:
        scores: candidates × items, 1 right, 0 wrong (anything where not seen).
        seen: candidates × items, 1 where the candidate was asked the item.
    """
    scores, seen = np.asarray(scores, float), np.asarray(seen, float)
    facility = (scores * seen).sum(0) / np.maximum(seen.sum(0), 1)
    a = np.ones(scores.shape[1])
    b = np.clip(-np.log(np.clip(facility, 0.02, 0.98) / (1 - np.clip(facility, 0.02, 0.98))),
                *B_RANGE)
    for step in range(1, iterations + 1):
        post = _posterior(scores, seen, a, b)
        expected_n = post.T @ seen                                   # nodes × items
        expected_r = post.T @ (scores * seen)
        new_a, new_b = _maximise(expected_n, expected_r, a, b)
        change = max(np.abs(new_a - a).max(), np.abs(new_b - b).max())
        a, b = new_a, new_b
        if change < tolerance:
            return Calibration(a, b, step, True)
    return Calibration(a, b, iterations, False)


def _maximise(n: np.ndarray, r: np.ndarray, a: np.ndarray, b: np.ndarray,
              steps: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Newton steps on every item's expected log-likelihood at once (the M step)."""
    theta = NODES[:, None]
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-a[None, :] * (theta - b[None, :])))
        residual = r - n * p                                          # nodes × items
        w = n * p * (1 - p)
        d = theta - b[None, :]
        grad_a, grad_b = (residual * d).sum(0), (-a * residual.sum(0))
        h_aa = -(w * d**2).sum(0) - 1e-3
        h_bb = -(a**2) * w.sum(0) - 1e-3
        h_ab = (a * (w * d).sum(0)) - residual.sum(0)
        det = h_aa * h_bb - h_ab**2
        ok = det > 1e-12
        step_a = np.where(ok, (h_bb * grad_a - h_ab * grad_b) / np.where(ok, det, 1), 0.0)
        step_b = np.where(ok, (h_aa * grad_b - h_ab * grad_a) / np.where(ok, det, 1), 0.0)
        a = np.clip(a - np.clip(step_a, -0.5, 0.5), *A_RANGE)
        b = np.clip(b - np.clip(step_b, -0.5, 0.5), *B_RANGE)
    return a, b


def abilities(scores: np.ndarray, seen: np.ndarray, a: np.ndarray,
              b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each candidate's EAP ability and its posterior standard deviation."""
    post = _posterior(np.asarray(scores, float), np.asarray(seen, float), a, b)
    mean = post @ NODES
    sd = np.sqrt(np.maximum(post @ NODES**2 - mean**2, 0.0))
    return mean, sd


def marginal_reliability(theta: np.ndarray, se: np.ndarray) -> float:
    """Return var(θ̂) / (var(θ̂) + mean SE²): the share of score variance that is not error."""
    spread = float(np.var(theta))
    return spread / (spread + float(np.mean(se**2))) if spread > 0 else 0.0


def expected_fraction(theta: float, a: np.ndarray, b: np.ndarray) -> float:
    """Return the expected share of points of items (a, b) at ability *theta*."""
    return float(probability(np.array([theta]), a, b).mean())


def theta_for_fraction(fraction: float, a: np.ndarray, b: np.ndarray) -> float:
    """Return the ability whose expected share of points on items (a, b) is *fraction*."""
    low, high = -6.0, 6.0
    for _ in range(60):
        middle = (low + high) / 2
        if expected_fraction(middle, a, b) < fraction:
            low = middle
        else:
            high = middle
    return (low + high) / 2
