"""Tests of grader.optimisation."""

from __future__ import annotations

import math

import dimod
import pytest
from dwave.samplers import SimulatedAnnealingSampler, SteepestDescentSolver, TabuSampler

from grader.errors import CheckFailed, InvalidCheckError
from grader.optimisation import (
    assert_bqm_equivalent,
    assert_feasible,
    assert_optimal,
    assert_success_probability,
)


def test_ising_form_of_the_same_model_passes(small_bqm):
    """The spin form of a QUBO is equivalent to it."""
    assert_bqm_equivalent(small_bqm.spin, small_bqm)


def test_qubo_dict_and_ising_tuple_are_read(small_bqm):
    """A QUBO dict and an (h, J, offset) tuple of the same model pass."""
    qubo, _ = small_bqm.to_qubo()
    assert_bqm_equivalent(qubo, small_bqm)
    assert_bqm_equivalent(small_bqm.to_ising(), small_bqm)


def test_offset_only_matters_when_asked(small_bqm, english):
    """A shifted offset passes by default and fails with up_to_offset=False."""
    shifted = small_bqm.copy()
    shifted.offset += 4
    assert_bqm_equivalent(shifted, small_bqm)
    with pytest.raises(CheckFailed, match="constant offset"):
        assert_bqm_equivalent(shifted, small_bqm, up_to_offset=False)


def test_changed_coefficient_is_named_with_a_sample(small_bqm, english):
    """A changed quadratic bias fails, naming the term and a witnessing sample."""
    changed = small_bqm.copy()
    changed.set_quadratic("b", "c", 2.0)
    with pytest.raises(CheckFailed, match=r"Q\[\('[bc]', '[bc]'\)\]") as failure:
        assert_bqm_equivalent(changed, small_bqm)
    assert "On the sample" in str(failure.value)


def test_variable_map_relabels(small_bqm):
    """A model with renamed variables passes under the declared map only."""
    renamed = small_bqm.relabel_variables({"a": 0, "b": 1, "c": 2}, inplace=False)
    with pytest.raises(CheckFailed):
        assert_bqm_equivalent(renamed, small_bqm)
    assert_bqm_equivalent(renamed, small_bqm, variable_map={0: "a", 1: "b", 2: "c"})


ONE_HOT = {"pick one": {"linear": {"a": 1, "b": 1, "c": 1}, "sense": "==", "rhs": 1},
           "budget": {"linear": {"a": 3, "b": 2}, "sense": "<=", "rhs": 2}}


def test_feasible_sample_passes_and_violation_is_named(english):
    """A one-hot sample within budget passes; a sample over budget names 'budget'."""
    assert_feasible({"a": 0, "b": 1, "c": 0}, ONE_HOT)
    with pytest.raises(CheckFailed, match="'budget'"):
        assert_feasible({"a": 1, "b": 0, "c": 0}, ONE_HOT)
    with pytest.raises(CheckFailed, match="'pick one'"):
        assert_feasible({"a": 0, "b": 0, "c": 0}, ONE_HOT)


def test_quadratic_constraint_and_unknown_sense():
    """Quadratic terms count in constraints; an unknown sense is an instructor error."""
    both = {"not both": {"quadratic": [["a", "b", 1]], "sense": "<=", "rhs": 0}}
    assert_feasible({"a": 1, "b": 0}, both)
    with pytest.raises(CheckFailed):
        assert_feasible({"a": 1, "b": 1}, both)
    with pytest.raises(InvalidCheckError):
        assert_feasible({"a": 1}, {"odd": {"linear": {"a": 1}, "sense": "!=", "rhs": 0}})


def test_optimal_sample_passes_and_suboptimal_gets_a_flip_hint(small_bqm, english):
    """The ground state passes; a sample one flip away fails with that flip as a hint."""
    assert_optimal({"a": 0, "b": 1, "c": 1}, small_bqm)
    with pytest.raises(CheckFailed, match="Flipping c"):
        assert_optimal({"a": 0, "b": 1, "c": 0}, small_bqm)


def test_reference_energy_for_large_models(english):
    """A 40-variable chain needs a reference energy and is checked against it."""
    chain = dimod.BinaryQuadraticModel({i: -1.0 for i in range(40)}, {}, 0.0, "BINARY")
    with pytest.raises(InvalidCheckError):
        assert_optimal({i: 1 for i in range(40)}, chain)
    assert_optimal({i: 1 for i in range(40)}, chain, reference_energy=-40)
    with pytest.raises(CheckFailed):
        assert_optimal({i: int(i > 0) for i in range(40)}, chain, reference_energy=-40)


def test_sampleset_uses_its_best_sample(small_bqm):
    """A SampleSet passes when its lowest-energy sample is optimal."""
    sampleset = dimod.ExactSolver().sample(small_bqm)
    assert_optimal(sampleset, small_bqm)


def test_success_probability_of_annealing_parameters(small_bqm, english):
    """Enough sweeps reach the ground state; a hot anneal with one sweep does not."""
    assert_success_probability({"num_sweeps": 200}, small_bqm, min_probability=0.9)
    with pytest.raises(CheckFailed, match="reach the lowest energy"):
        assert_success_probability({"num_sweeps": 1, "beta_range": [0.01, 0.02]}, small_bqm,
                                   min_probability=0.9)


def test_success_probability_of_a_learner_sampleset(small_bqm, english):
    """A sample set of random samples fails the success-probability check."""
    sampleset = dimod.RandomSampler().sample(small_bqm, num_reads=200, seed=5)
    with pytest.raises(CheckFailed):
        assert_success_probability(sampleset, small_bqm, min_probability=0.9)


def test_sampleset_of_the_model_plus_a_constant_passes(small_bqm):
    """A perfect anneal of the model plus 10 passes: energies are recomputed on the model."""
    shifted = small_bqm.copy()
    shifted.offset += 10
    sampleset = SimulatedAnnealingSampler().sample(shifted, num_reads=100, seed=3)
    assert_success_probability(sampleset, small_bqm, min_probability=0.9)


def test_sampleset_of_a_lowered_model_does_not_pass(small_bqm, english):
    """Random samples of the model minus 10 fail: their written energies are never read."""
    lowered = small_bqm.copy()
    lowered.offset -= 10
    sampleset = dimod.RandomSampler().sample(lowered, num_reads=200, seed=5)
    with pytest.raises(CheckFailed, match="reach the lowest energy -3.5"):
        assert_success_probability(sampleset, small_bqm, min_probability=0.9)


def test_forged_energies_are_ignored(small_bqm):
    """A SampleSet claiming the ground energy for every random sample fails."""
    sampleset = dimod.RandomSampler().sample(small_bqm, num_reads=200, seed=5)
    forged = dimod.SampleSet.from_samples((sampleset.record.sample, list(sampleset.variables)),
                                          "BINARY", energy=[-3.5] * 200)
    with pytest.raises(CheckFailed):
        assert_success_probability(forged, small_bqm, min_probability=0.9)


@pytest.mark.parametrize("sample", [
    lambda bqm: dimod.ExactSolver().sample(bqm).truncate(1),
    lambda bqm: TabuSampler().sample(bqm, num_reads=10, seed=1),
    lambda bqm: SteepestDescentSolver().sample(bqm, num_reads=10, seed=1),
    lambda bqm: SimulatedAnnealingSampler().sample(bqm.spin, num_reads=50, seed=1),
    lambda bqm: dimod.SampleSet.from_samples([{"a": 0, "b": 1, "c": 1, "slack": 1}], "BINARY", 0),
], ids=["exact", "tabu", "steepest-descent", "spin-form", "extra-variable"])
def test_sampleset_from_any_sampler_is_read(small_bqm, sample):
    """Sample sets of exact, tabu, descent and annealing samplers, in either vartype, pass."""
    assert_success_probability(sample(small_bqm), small_bqm, min_probability=0.9)


def test_success_probability_is_consistent_with_bqm_equivalence(small_bqm):
    """Whatever passes assert_bqm_equivalent as the model, sampled well, passes the sampler check."""
    shifted = small_bqm.spin
    shifted.offset -= 7
    assert_bqm_equivalent(shifted, small_bqm)
    sampleset = SimulatedAnnealingSampler().sample(shifted, num_reads=100, seed=4)
    assert_success_probability(sampleset, small_bqm, min_probability=0.9)


def test_a_learners_unreadable_model_is_their_failure(small_bqm, english):
    """None, a list or a QUBO dict with bad keys fail the learner's check, not the instructor's."""
    for answer in (None, [1, 2], {"a": 1}):
        with pytest.raises(CheckFailed, match="Expected a model"):
            assert_bqm_equivalent(answer, small_bqm)
    with pytest.raises(InvalidCheckError, match="model"):
        assert_bqm_equivalent(small_bqm, None)


def test_binary_values_for_a_spin_model_get_the_conversion(small_bqm, english):
    """A 0/1 sample of a spin model fails with the s = 2x − 1 hint, not a wrong energy."""
    with pytest.raises(CheckFailed, match="2x − 1"):
        assert_optimal({"a": 0, "b": 1, "c": 1}, small_bqm.spin)
    assert_optimal({"a": -1, "b": 1, "c": 1}, small_bqm.spin)


def test_sampleset_best_sample_is_chosen_on_the_model(small_bqm):
    """assert_optimal picks a SampleSet's best sample by its energy on the model, not its own."""
    ground = {"a": 0, "b": 1, "c": 1}
    forged = dimod.SampleSet.from_samples([{"a": 1, "b": 1, "c": 1}, ground], "BINARY",
                                          energy=[-100, 50])
    assert_optimal(forged, small_bqm)


def test_feasibility_reads_lists_and_samplesets():
    """A list of values for variables 0…n-1 and a SampleSet are samples too."""
    constraints = {"pick one": {"linear": {0: 1, 1: 1, 2: 1}, "sense": "==", "rhs": 1}}
    assert_feasible([0, 1, 0], constraints)
    assert_feasible(dimod.SampleSet.from_samples([[0, 0, 1]], "BINARY", 0), constraints)
    with pytest.raises(CheckFailed):
        assert_feasible([1, 1, 0], constraints)


def _coupling_changed(small_bqm):
    """Return the Ising (h, J, offset) of small_bqm with J[b, c] raised by 1."""
    h, J, offset = small_bqm.to_ising()
    key = next(k for k in J if set(k) == {"b", "c"})
    return h, {**J, key: J[key] + 1}, offset


def test_ising_answer_is_described_in_ising_terms(small_bqm, english):
    """A wrong Ising answer to a QUBO reference names its coupling J and Ising biases."""
    with pytest.raises(CheckFailed, match=r"Your Ising model .* coupling J\[\('[bc]', '[bc]'\)\]"
                       ) as failure:
        assert_bqm_equivalent(_coupling_changed(small_bqm), small_bqm)
    text = str(failure.value)
    assert "Expected: -0.25" in text and "Found: 0.75" in text
    assert "イジング" in failure.value.feedback.text("ja") and "結合 J" in failure.value.feedback.text("ja")


def test_qubo_answer_to_an_ising_reference_is_described_in_qubo_terms(small_bqm, english):
    """A wrong QUBO answer to an Ising reference names its Q coefficient, quadratic first."""
    qubo, _ = small_bqm.to_qubo()
    key = next(k for k in qubo if set(k) == {"b", "c"})
    changed = {**qubo, key: 2.0}
    with pytest.raises(CheckFailed, match=r"Your QUBO model .* Q\[\('[bc]', '[bc]'\)\] of x") as failure:
        assert_bqm_equivalent(changed, small_bqm.to_ising())
    assert "Expected: -1" in str(failure.value) and "Found: 2" in str(failure.value)


def test_quadratic_term_is_named_before_linear_ones(small_bqm, english):
    """With a coupling and a field both wrong, the coupling is named."""
    h, J, offset = _coupling_changed(small_bqm)
    h = {**h, "a": h["a"] + 5}
    with pytest.raises(CheckFailed, match="coupling J"):
        assert_bqm_equivalent((h, J, offset), small_bqm)


def test_names_follow_the_learners_labels(small_bqm, english):
    """With a variable map, the message names the learner's own variables."""
    renamed = small_bqm.relabel_variables({"a": "x0", "b": "x1", "c": "x2"}, inplace=False)
    renamed.set_quadratic("x1", "x2", 5.0)
    with pytest.raises(CheckFailed, match=r"Q\[\('x[12]', 'x[12]'\)\]") as failure:
        assert_bqm_equivalent(renamed, small_bqm, variable_map={"x0": "a", "x1": "b", "x2": "c"})
    assert "'x0'" in str(failure.value)


@pytest.mark.parametrize("variables", [10, 50])
def test_right_models_pass_and_a_bias_just_over_atol_fails(variables):
    """Equal models pass in the other vartype, with explicit zero couplings; atol decides."""
    model = dimod.generators.gnp_random_bqm(variables, 0.2, "BINARY", random_state=variables)
    learner = model.spin.copy()
    learner.add_quadratic(*list(learner.variables)[:2], 0.0)  # an explicit zero coupling
    assert_bqm_equivalent(learner, model)
    first = next(iter(learner.variables))
    learner.add_linear(first, 2e-9)
    with pytest.raises(CheckFailed, match="differ"):
        assert_bqm_equivalent(learner, model)
    assert_bqm_equivalent(learner, model, atol=1e-8)


@pytest.mark.parametrize("where", ["linear", "quadratic", "offset"])
def test_nan_or_infinite_learner_model_fails_even_where_it_would_agree(where):
    """A nan or infinite bias or offset in the learner's model fails, also with up_to_offset."""
    reference = dimod.BQM({0: 1.0, 1: -1.0}, {(0, 1): 2.0}, 0.0, "BINARY")
    broken = reference.copy()
    if where == "linear":
        broken.set_linear(0, math.nan)
    elif where == "quadratic":
        broken.set_quadratic(0, 1, math.inf)
    else:
        broken.offset = math.nan
    with pytest.raises(CheckFailed, match="nan or infinite"):
        assert_bqm_equivalent(broken, reference)


def test_nan_reference_is_the_instructors_error_even_when_the_answer_matches_it():
    """A reference with a nan bias is an InvalidCheckError, whatever the learner sent."""
    reference = dimod.BQM({0: math.nan, 1: -1.0}, {(0, 1): 2.0}, 0.0, "BINARY")
    with pytest.raises(InvalidCheckError):
        assert_bqm_equivalent(reference.copy(), reference)
