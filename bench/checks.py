"""Time each grader check against the plain Qiskit/dimod call an instructor would write.

Run from the repository root::

    /opt/qcampus/venv/bin/python bench/checks.py

Prints a Markdown table: the median time of each check and of the plain call on
the same inputs, their ratio, and the cost of ``import qiskit`` in a fresh
interpreter for comparison.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from itertools import chain

import dimod
import numpy as np
from dimod.testing import assert_bqm_almost_equal
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import Operator, Statevector, state_fidelity
from qiskit_aer import AerSimulator

from grader import (
    assert_bqm_equivalent,
    assert_circuit_equivalent,
    assert_distribution,
    assert_optimal,
    assert_resources,
    assert_state_close,
    shots_for,
)

QUBITS = (2, 4, 6, 8, 10, 12)
VARIABLES = (10, 50, 200)
BASIS = ["rz", "sx", "x", "cx"]


def median_ms(run: Callable[[], object], budget: float = 1.0, most: int = 25) -> float:
    """Return the median wall time of ``run`` in milliseconds.

    The first call is a warm-up, unless it alone exceeds ``budget`` seconds:
    then it is the only sample (a 12-qubit unitary takes minutes).
    """
    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    if first > budget:
        return 1e3 * first
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < most and (len(times) < 3 or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def import_qiskit_ms(repeats: int = 5) -> float:
    """Return the median cost of ``import qiskit`` in a fresh interpreter, in ms."""
    code = "import time; t = time.perf_counter(); import qiskit; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(repeats)]
    return 1e3 * statistics.median(runs)


def ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    return circuit


def circuit_rows() -> Iterator[tuple[str, str, float, float]]:
    for n in QUBITS:
        circuit = random_circuit(n, depth=2 * n, max_operands=2, seed=n)
        shifted = circuit.copy()
        shifted.global_phase += 0.3
        yield (("circuit equivalence", f"{n} qubits",
                     median_ms(lambda c=circuit, s=shifted: assert_circuit_equivalent(s, c)),
                     median_ms(lambda c=circuit, s=shifted: Operator(s).equiv(Operator(c)))))
        yield (("state fidelity", f"{n} qubits",
                     median_ms(lambda c=circuit, s=shifted: assert_state_close(s, c)),
                     median_ms(lambda c=circuit, s=shifted: np.isclose(
                         state_fidelity(Statevector(s), Statevector(c)), 1))))
        state = ghz(n)
        expected = {"0" * n: 0.5, "1" * n: 0.5}
        shots = shots_for(0.1, outcomes=3)
        backend = AerSimulator(seed_simulator=1)

        def plain_distribution(state=state, n=n, shots=shots, backend=backend):
            counts = backend.run(transpile(state.measure_all(inplace=False), backend),
                                 shots=shots).result().get_counts()
            return all(np.isclose(counts.get(k, 0) / shots, 0.5, atol=0.05)
                       for k in ("0" * n, "1" * n))

        yield (("distribution (Aer)", f"{n} qubits",
                     median_ms(lambda s=state, e=expected: assert_distribution(s, e)),
                     median_ms(plain_distribution)))
        yield (("resources (transpiled)", f"{n} qubits",
                     median_ms(lambda c=circuit: assert_resources(
                         c, max_two_qubit_gates=10**6, basis_gates=BASIS)),
                     median_ms(lambda c=circuit: transpile(
                         c, basis_gates=BASIS, seed_transpiler=1).count_ops().get("cx", 0))))


def model_rows() -> Iterator[tuple[str, str, float, float]]:
    for n in VARIABLES:
        model = dimod.generators.gnp_random_bqm(n, 0.2, "BINARY", random_state=n)
        spin = model.spin

        def plain_equivalent(model=model, spin=spin):
            converted = spin.binary
            converted.offset = model.offset
            assert_bqm_almost_equal(converted, model, ignore_zero_interactions=True)

        yield (("BQM equivalence", f"{n} variables",
                     median_ms(lambda m=model, s=spin: assert_bqm_equivalent(s, m)),
                     median_ms(plain_equivalent)))
        sample = {v: 0 for v in model.variables}
        energy = model.energy(sample)
        yield (("optimality (reference energy)", f"{n} variables",
                     median_ms(lambda m=model, s=sample, e=energy: assert_optimal(
                         s, m, reference_energy=e)),
                     median_ms(lambda m=model, s=sample, e=energy: np.isclose(m.energy(s), e))))
    small = dimod.generators.gnp_random_bqm(10, 0.3, "BINARY", random_state=3)
    ground = dimod.ExactSolver().sample(small).first
    yield (("optimality (ExactSolver)", "10 variables",
                 median_ms(lambda: assert_optimal(dict(ground.sample), small)),
                 median_ms(lambda: np.isclose(small.energy(ground.sample),
                                              dimod.ExactSolver().sample(small).first.energy))))


def main() -> None:
    print("| check | size | qcampus (ms) | plain call (ms) | ratio |")
    print("|---|---|---:|---:|---:|", flush=True)
    for check, size, ours, plain in chain(circuit_rows(), model_rows()):
        print(f"| {check} | {size} | {ours:.2f} | {plain:.2f} | {ours / plain:.2f} |", flush=True)
    print()
    print(f"`import qiskit` in a fresh interpreter: {import_qiskit_ms():.0f} ms (median of 5).")


if __name__ == "__main__":
    main()
