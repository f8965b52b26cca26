"""Tests of grader.distributions, including the empirical false-fail rate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit

from grader.distributions import assert_distribution, shots_for, threshold
from grader.errors import CheckFailed


def test_shots_follow_the_stated_formula():
    """shots_for is ceil(2 (k ln 2 + ln 1/δ) / ε²) and grows as ε shrinks."""
    assert shots_for(0.1, outcomes=3, false_fail=1e-6) == math.ceil(
        2 * (3 * math.log(2) + math.log(1e6)) / 0.01)
    assert shots_for(0.05, outcomes=3) > shots_for(0.1, outcomes=3)


def test_threshold_at_the_chosen_shots_is_half_the_distance():
    """With shots_for(ε) shots the rejection threshold is at most ε/2."""
    shots = shots_for(0.2, outcomes=5, false_fail=1e-3)
    assert threshold(shots, outcomes=5, false_fail=1e-3) <= 0.1


def test_correct_circuit_passes_on_aer(bell):
    """The Bell circuit sampled on Aer passes against its own probabilities."""
    assert_distribution(bell, {"00": 0.5, "11": 0.5})


def test_wrong_circuit_fails_naming_an_outcome(bell, english):
    """A uniform circuit fails against the Bell distribution, naming the worst outcome."""
    uniform = QuantumCircuit(2)
    uniform.h([0, 1])
    with pytest.raises(CheckFailed, match="differs most"):
        assert_distribution(uniform, bell)


def test_counts_with_too_few_shots_fail_with_the_needed_number(english):
    """Ten shots cannot decide; the message says how many are needed."""
    needed = shots_for(outcomes=3)
    with pytest.raises(CheckFailed, match=f"shots={needed}"):
        assert_distribution({"00": 5, "11": 5}, {"00": 0.5, "11": 0.5})


def test_counts_keys_with_register_spaces_are_accepted():
    """Counts keyed like '0 1' (two registers) compare as '01'."""
    shots = shots_for(outcomes=2)
    assert_distribution({"0 1": shots}, {"01": 1.0})


def _trial_fails(rng, truth, expected, min_distance, false_fail):
    outcomes = len(expected) + 1
    shots = shots_for(min_distance, outcomes=outcomes, false_fail=false_fail)
    keys = list(truth)
    draws = rng.multinomial(shots, [truth[k] for k in keys])
    try:
        assert_distribution(dict(zip(keys, draws, strict=True)), expected,
                            min_distance=min_distance, false_fail=false_fail)
    except CheckFailed:
        return True
    return False


def test_empirical_false_fail_rate_is_within_the_bound():
    """Over 2000 seeds a correct distribution fails at most at the stated rate δ=0.05."""
    expected = {"000": 0.4, "011": 0.3, "101": 0.2, "110": 0.1}
    fails = sum(_trial_fails(np.random.default_rng(seed), expected, expected, 0.1, 0.05)
                for seed in range(2000))
    # Binomial(2000, 0.05) exceeds 130 with probability below 1e-6.
    assert fails <= 130


def test_empirical_detection_rate_at_the_stated_distance():
    """Over 500 seeds a distribution at TV distance ε is caught in at least 1−δ of trials."""
    expected = {"00": 0.5, "11": 0.5}
    truth = {"00": 0.4, "11": 0.5, "01": 0.1}  # TV distance 0.1 from expected
    caught = sum(_trial_fails(np.random.default_rng(seed), truth, expected, 0.1, 0.05)
                 for seed in range(500))
    assert caught >= 500 - 50


def test_empirical_false_fail_rate_over_aer_seeds():
    """Over 200 Aer seeds a correct circuit fails at most at the stated rate δ=0.05."""
    circuit = QuantumCircuit(2)
    circuit.ry(1.0, 0)
    circuit.cx(0, 1)
    circuit.h(1)
    expected = circuit.copy()
    fails = 0
    for seed in range(200):
        try:
            assert_distribution(circuit, expected, false_fail=0.05, seed=seed)
        except CheckFailed:
            fails += 1
    # Binomial(200, 0.05) exceeds 30 with probability below 1e-6.
    assert fails <= 30


def test_integer_keys_of_get_int_counts_are_read():
    """Counts keyed by integers (BitArray.get_int_counts) compare as bit strings."""
    shots = shots_for(outcomes=3)
    assert_distribution({0: shots // 2, 3: shots - shots // 2}, {"00": 0.5, "11": 0.5})


def test_outcomes_of_the_wrong_width_are_named(english):
    """Counts of one measured bit against two-bit outcomes fail naming both widths."""
    shots = shots_for(outcomes=3)
    with pytest.raises(CheckFailed, match="have 1 bits; the expected outcomes have 2"):
        assert_distribution({"0": shots // 2, "1": shots // 2}, {"00": 0.5, "11": 0.5})


def test_probabilities_given_as_counts_get_a_hint(english):
    """Probabilities summing to 1 fail with a hint that counts are needed."""
    with pytest.raises(CheckFailed, match="look like probabilities"):
        assert_distribution({"00": 0.5, "11": 0.5}, {"00": 0.5, "11": 0.5})


@pytest.mark.parametrize(("counts", "named"), [({"00": -3}, "not a non-negative number"),
                                               ({"0a": 3}, "not a measurement outcome"),
                                               ({"00": "many"}, "not a non-negative number")])
def test_malformed_counts_are_named(counts, named, english):
    """Negative or non-numeric counts and non-bit-string keys fail saying which."""
    with pytest.raises(CheckFailed, match=named):
        assert_distribution(counts, {"00": 1.0})


def test_a_circuit_is_sampled_under_the_given_noise_model():
    """Under 20% two-qubit depolarising noise a Bell circuit matches the noisy distribution only."""
    from qiskit_aer.noise import NoiseModel, depolarizing_error

    noise = NoiseModel()
    noise.add_all_qubit_quantum_error(depolarizing_error(0.2, 2), ["cx"])
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    assert_distribution(bell, {"00": 0.45, "11": 0.45, "01": 0.05, "10": 0.05}, noise_model=noise)
    with pytest.raises(CheckFailed):
        assert_distribution(bell, {"00": 0.5, "11": 0.5}, noise_model=noise)
