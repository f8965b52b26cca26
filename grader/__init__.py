"""grader: quantum-aware checks and a fast, sandboxed autograder.

This package works without a deployment and imports nothing else of qcampus.
Importing it is cheap: Qiskit, NumPy and dimod load only when a check that
needs them is first used.

Checks (each raises :class:`CheckFailed`, an ``AssertionError`` whose message
says what was expected, what was found and a hint, in English or Japanese):

Circuits (:mod:`grader.circuits`)
    ``assert_circuit_equivalent(actual, expected, *, up_to_global_phase=True,
    qubit_map=None, output_permutation=None, ancillas=(), atol=1e-8,
    parameter_seed=1234, seed=None)``: parametrised circuits are compared at
    values drawn from ``parameter_seed``; random input states from ``seed``, fresh
    per call by default and named in a failure so that ``seed=`` replays it
States and observables (:mod:`grader.states`)
    ``assert_state_close(actual, expected, *, min_fidelity=1-1e-6,
    norm_atol=1e-6)``: states whose norm is off by more than ``norm_atol`` fail,
    ``assert_bloch_vector(state, expected, *, qubit=None, atol=1e-6)``,
    ``assert_observable_equivalent(actual, expected, *, up_to_constant=False,
    atol=1e-9)``, ``fidelity``, ``bloch_vector``
Distributions (:mod:`grader.distributions`)
    ``assert_distribution(counts_or_circuit, expected, *, min_distance=0.1,
    false_fail=1e-6, seed=1234, noise_model=None)``, ``shots_for``
Resources (:mod:`grader.resources`)
    ``assert_resources(circuit, *, max_depth=None, max_two_qubit_gates=None,
    max_t_count=None, basis_gates=None, coupling_map=None)``, ``score_resources(circuit,
    bands, *, basis_gates=None, coupling_map=None)``, ``assert_gate_set``,
    ``count_resources``; T and CX counts are taken after decomposition
Optimisation (:mod:`grader.optimisation`)
    ``assert_bqm_equivalent(actual, expected, *, variable_map=None,
    up_to_offset=True, atol=1e-9)``, ``assert_feasible(sample, constraints, *,
    atol=1e-9)``, ``assert_optimal(sample, model, *, reference_energy=None,
    atol=1e-6)``, ``assert_success_probability(sampleset_or_parameters, model, *,
    min_probability, reference_energy=None, num_reads=200, seed=1234,
    false_fail=1e-6, atol=1e-6)``: sample energies are recomputed on ``model``
Numbers and structured answers (:mod:`grader.answers`)
    ``assert_number(actual, expected, *, unit="", rel_tol=1e-6, abs_tol=None)``:
    ``abs_tol=None`` means 1e-12 for a dimensionless unit and 0 otherwise; units
    convert within a dimension (Hz, s, bytes/bits, Wh/J, hartree/eV, ...), and
    ``(number, unit)``, text such as ``"5 GHz"`` and an Estimator result for one
    observable are read as numbers.
    ``assert_answer(actual, expected, *, rel_tol=1e-6, abs_tol=1e-12,
    exact_text=False)``: text is compared after width, case and spacing
    normalisation (full-width and half-width input alike) unless
    ``exact_text=True``; NumPy arrays compare with lists

Partial credit (:mod:`grader.credit`)
    ``Rubric(points)`` with ``rubric.part(weight)`` blocks and a final
    ``rubric.score()``: feedback and nbgrader's partial score in one cell.
Tamper-resistant mode (:mod:`grader.export`, :mod:`grader.verdict`)
    Test cells call ``export_answer(name, value)`` only; a trusted process runs
    ``python -m grader.verdict KEY.json ANSWERS.json`` on the exported JSON.
Feedback language (:mod:`grader.feedback`)
    ``language()`` reads ``QCAMPUS_LANG``, JupyterLab's display language, then
    the locale; ``ja`` gives Japanese.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from grader.errors import CheckFailed, GraderError

_EXPORTS = {
    "assert_circuit_equivalent": "grader.circuits",
    "assert_state_close": "grader.states",
    "assert_bloch_vector": "grader.states",
    "assert_observable_equivalent": "grader.states",
    "fidelity": "grader.states",
    "bloch_vector": "grader.states",
    "assert_distribution": "grader.distributions",
    "shots_for": "grader.distributions",
    "assert_resources": "grader.resources",
    "score_resources": "grader.resources",
    "assert_gate_set": "grader.resources",
    "count_resources": "grader.resources",
    "assert_bqm_equivalent": "grader.optimisation",
    "assert_feasible": "grader.optimisation",
    "assert_optimal": "grader.optimisation",
    "assert_success_probability": "grader.optimisation",
    "assert_number": "grader.answers",
    "assert_answer": "grader.answers",
    "Rubric": "grader.credit",
    "export_answer": "grader.export",
    "language": "grader.feedback",
}

__all__ = ["CheckFailed", "GraderError", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
