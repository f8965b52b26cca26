"""Generators of the Quantum Literacy (A2) items: Born-rule probabilities, expected counts,
Qiskit bit order, device-sheet arithmetic, Mosca's margin, Ramsey fringes and small QUBOs.

Every key is computed from the parameters as the prompt shows them, and every check
proves it another way: a qiskit Statevector simulation, Qiskit's own marginalisation
of counts, a dimod model's energy, or a plain loop instead of the closed form.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

from exams.generators import Generator

#: Pythagorean triples (p, q, r): p/r and q/r are amplitudes of a normalised qubit state.
TRIPLES = [(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (20, 21, 29), (9, 40, 41)]


def _amplitudes(rng: random.Random) -> tuple[str, str, Fraction, Fraction]:
    """Draw a normalised pair of real amplitudes, shown as fractions such as 3/5 and -4/5."""
    p, q, r = rng.choice(TRIPLES)
    if rng.random() < 0.5:
        p, q = q, p
    sign = rng.choice([1, -1])
    a, b = Fraction(p, r), Fraction(sign * q, r)
    return _show(a), _show(b), a, b


def _show(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}" if x.denominator != 1 else str(x.numerator)


def _fraction(text: str) -> Fraction:
    return Fraction(text)


def _statevector(amplitudes):
    from qiskit.quantum_info import Statevector

    return Statevector([complex(float(a)) for a in amplitudes])


class BornProbability(Generator):
    """concepts.qubits: probability of an outcome from two amplitudes, in per cent."""

    name = "lit-born-probability"

    def draw(self, rng):
        a, b, _, _ = _amplitudes(rng)
        return {"a": a, "b": b, "outcome": rng.choice([0, 1])}

    def key(self, p):
        amp = _fraction(p["a"]) if p["outcome"] == 0 else _fraction(p["b"])
        return {"value": round(float(amp * amp) * 100, 6), "tolerance": 0.5}

    def check(self, p, key):
        state = _statevector([_fraction(p["a"]), _fraction(p["b"])])
        assert abs(state.probabilities()[p["outcome"]] * 100 - key["value"]) < 1e-6


class ExpectedCounts(Generator):
    """concepts.qubits: expected number of 1s in N shots of a one-qubit state."""

    name = "lit-expected-counts"

    def draw(self, rng):
        a, b, _, _ = _amplitudes(rng)
        return {"a": a, "b": b, "shots": rng.choice([500, 1000, 2000, 4000, 5000, 8000])}

    def key(self, p):
        b = _fraction(p["b"])
        return {"value": round(float(b * b) * p["shots"], 6), "tolerance": 1}

    def check(self, p, key):
        state = _statevector([_fraction(p["a"]), _fraction(p["b"])])
        expected = state.probabilities_dict().get("1", 0.0) * p["shots"]
        assert abs(expected - key["value"]) < 1e-6


def _two_qubit_counts(rng: random.Random, shots: int, *, min_gap: int) -> dict[str, int]:
    """Counts of the keys 00, 01, 10, 11 summing to *shots*, with |n01 - n10| >= min_gap."""
    while True:
        cuts = sorted(rng.sample(range(1, shots // 10), 3))
        parts = [cuts[0], cuts[1] - cuts[0], cuts[2] - cuts[1], shots // 10 - cuts[2]]
        counts = {
            k: 10 * v + rng.randint(0, 9) for k, v in zip(["00", "01", "10", "11"], parts, strict=False)
        }
        counts["00"] += shots - sum(counts.values())
        if counts["00"] > 0 and abs(counts["01"] - counts["10"]) >= min_gap:
            return counts


class QubitZeroFraction(Generator):
    """concepts.qubits: per cent of shots in which qubit 0 (the rightmost bit) read 1."""

    name = "lit-qubit0-fraction"

    def draw(self, rng):
        shots = rng.choice([1000, 2000])
        c = _two_qubit_counts(rng, shots, min_gap=shots // 20)
        return {"n00": c["00"], "n01": c["01"], "n10": c["10"], "n11": c["11"], "shots": shots}

    def key(self, p):
        return {"value": round(100 * (p["n01"] + p["n11"]) / p["shots"], 6), "tolerance": 0.1}

    def check(self, p, key):
        from qiskit.result import marginal_counts

        counts = {"00": p["n00"], "01": p["n01"], "10": p["n10"], "11": p["n11"]}
        assert sum(counts.values()) == p["shots"]
        qubit0 = marginal_counts(counts, indices=[0])
        assert abs(100 * qubit0.get("1", 0) / p["shots"] - key["value"]) < 1e-6
        wrong = 100 * (p["n10"] + p["n11"]) / p["shots"]  # the leftmost bit read as qubit 0
        assert abs(wrong - key["value"]) > key["tolerance"]


class AmplitudeFromProbability(Generator):
    """concepts.qubits: |beta| from P(0) for a real state alpha|0> + beta|1>."""

    name = "lit-amplitude-from-probability"

    def draw(self, rng):
        a = rng.choice([2, 3, 4, 6, 8, 9])
        return {"p0": f"{a * a / 100:.2f}"}

    def key(self, p):
        return {"value": round(math.sqrt(1 - float(p["p0"])), 6), "tolerance": 0.006}

    def check(self, p, key):
        p0 = float(p["p0"])
        state = _statevector([math.sqrt(p0), key["value"]])
        assert abs(state.probabilities()[0] - p0) < 1e-5 and abs(sum(state.probabilities()) - 1) < 1e-5
        for wrong in (math.sqrt(p0), 1 - p0):  # the amplitude of |0>, or P(1) unrooted
            assert abs(wrong - key["value"]) > key["tolerance"]


class ProductProbability(Generator):
    """concepts.superposition-entanglement: P(both 1) for two unentangled qubits, in per cent."""

    name = "lit-product-probability"

    def draw(self, rng):
        a0, b0, _, _ = _amplitudes(rng)
        a1, b1, _, _ = _amplitudes(rng)
        return {"a0": a0, "b0": b0, "a1": a1, "b1": b1}

    def key(self, p):
        v = (_fraction(p["b0"]) ** 2) * (_fraction(p["b1"]) ** 2)
        return {"value": round(float(v) * 100, 6), "tolerance": 0.3}

    def check(self, p, key):
        q0 = _statevector([_fraction(p["a0"]), _fraction(p["b0"])])
        q1 = _statevector([_fraction(p["a1"]), _fraction(p["b1"])])
        both = q0.expand(q1)  # qubit 0 is q0, qubit 1 is q1
        assert abs(both.probabilities_dict().get("11", 0.0) * 100 - key["value"]) < 1e-6


class EntangledCounts(Generator):
    """concepts.superposition-entanglement: in a|00> + b|11>, how often qubit 1 reads 1."""

    name = "lit-entangled-counts"

    def draw(self, rng):
        a, b, _, _ = _amplitudes(rng)
        return {"a": a, "b": b, "shots": rng.choice([1000, 2000, 4000, 5000])}

    def key(self, p):
        b = _fraction(p["b"])
        return {"value": round(float(b * b) * p["shots"], 6), "tolerance": 1}

    def check(self, p, key):
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import Statevector

        a, b = float(_fraction(p["a"])), float(_fraction(p["b"]))
        qc = QuantumCircuit(2)
        qc.initialize([a, b], 0)
        qc.cx(0, 1)
        probs = Statevector(qc).probabilities([1])  # marginal of qubit 1
        assert abs(probs[1] * p["shots"] - key["value"]) < 1e-6


class TeleportBits(Generator):
    """concepts.quantum-protocols: classical bits sent to teleport k qubits."""

    name = "lit-teleport-bits"

    def draw(self, rng):
        return {"k": rng.randint(3, 20)}

    def key(self, p):
        return {"value": 2 * p["k"], "tolerance": 0.1}

    def check(self, p, key):
        from qiskit import QuantumCircuit

        # one teleportation per qubit: Alice measures her two qubits, each into a bit sent to Bob
        qc = QuantumCircuit(3 * p["k"], 2 * p["k"])
        sent = set()
        for i in range(p["k"]):
            msg, alice, bob = 3 * i, 3 * i + 1, 3 * i + 2
            qc.h(alice)
            qc.cx(alice, bob)
            qc.cx(msg, alice)
            qc.h(msg)
            qc.measure(msg, 2 * i)
            qc.measure(alice, 2 * i + 1)
            sent |= {2 * i, 2 * i + 1}
        assert qc.count_ops()["measure"] == key["value"] == len(sent)


class FlipExpected(Generator):
    """gate.circuits: expected 1s after adding an X gate before the measurement."""

    name = "lit-flip-expected"

    def draw(self, rng):
        a, b, _, _ = _amplitudes(rng)
        return {"a": a, "b": b, "shots": rng.choice([1000, 2000, 4000, 5000])}

    def key(self, p):
        a = _fraction(p["a"])
        return {"value": round(float(a * a) * p["shots"], 6), "tolerance": 1}

    def check(self, p, key):
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import Statevector

        qc = QuantumCircuit(1)
        qc.initialize([float(_fraction(p["a"])), float(_fraction(p["b"]))], 0)
        qc.x(0)
        assert abs(Statevector(qc).probabilities()[1] * p["shots"] - key["value"]) < 1e-6
        wrong = float(_fraction(p["b"]) ** 2) * p["shots"]  # the X gate ignored
        assert abs(wrong - key["value"]) > key["tolerance"]


class HadamardBars(Generator):
    """gate.circuits: expected count of one bar when H acts on some of n qubits."""

    name = "lit-hadamard-bars"

    def draw(self, rng):
        n = rng.choice([3, 4])
        h = rng.randint(1, n)
        qubits = sorted(rng.sample(range(n), h))
        return {
            "n": n,
            "qubits": ", ".join(str(q) for q in qubits),
            "h": h,
            "shots": rng.choice([1024, 2048, 4096, 8192]),
        }

    def key(self, p):
        return {"value": p["shots"] / 2 ** p["h"], "tolerance": 1}

    def check(self, p, key):
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import Statevector

        qubits = [int(q) for q in p["qubits"].split(", ")]
        assert len(qubits) == p["h"]
        qc = QuantumCircuit(p["n"])
        for q in qubits:
            qc.h(q)
        probs = Statevector(qc).probabilities_dict()
        nonzero = [v for v in probs.values() if v > 1e-12]
        assert len(nonzero) == 2 ** p["h"]
        assert abs(probs["0" * p["n"]] * p["shots"] - key["value"]) < 1e-6


class ReadoutCount(Generator):
    """hardware.noise: 1s recorded for a qubit left in |0>, from the readout error."""

    name = "lit-readout-count"

    def draw(self, rng):
        return {
            "p": rng.choice([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0]),
            "shots": rng.choice([1000, 2000, 4000, 10000]),
        }

    def key(self, p):
        return {"value": round(p["shots"] * p["p"] / 100, 6), "tolerance": 1}

    def check(self, p, key):
        import numpy as np

        e = p["p"] / 100
        confusion = np.array([[1 - e, e], [e, 1 - e]])  # row: prepared, column: recorded
        ideal = _statevector([1, 0]).probabilities()
        recorded = ideal @ confusion
        assert abs(recorded[1] * p["shots"] - key["value"]) < 1e-6


class BellErrorFraction(Generator):
    """hardware.noise: per cent of shots of a noisy Bell circuit whose two bits disagree."""

    name = "lit-bell-error-fraction"

    def draw(self, rng):
        shots = rng.choice([1000, 2000])
        n01 = rng.randint(5, shots // 25)
        n10 = rng.randint(5, shots // 25)
        n00 = rng.randint(int(0.45 * (shots - n01 - n10)), int(0.55 * (shots - n01 - n10)))
        n11 = shots - n01 - n10 - n00
        return {"n00": n00, "n01": n01, "n10": n10, "n11": n11, "shots": shots}

    def key(self, p):
        return {"value": round(100 * (p["n01"] + p["n10"]) / p["shots"], 6), "tolerance": 0.1}

    def check(self, p, key):
        counts = {"00": p["n00"], "01": p["n01"], "10": p["n10"], "11": p["n11"]}
        assert sum(counts.values()) == p["shots"]
        disagree = sum(c for k, c in counts.items() if k[0] != k[1])
        assert abs(100 * disagree / p["shots"] - key["value"]) < 1e-6


class GatesInCoherence(Generator):
    """hardware.enabling-technologies: how many gate durations fit into T2 (device sheet)."""

    name = "lit-gates-in-coherence"

    def draw(self, rng):
        return {
            "t2_us": rng.choice([50, 80, 100, 120, 150, 200, 250, 300]),
            "gate_ns": rng.choice([40, 50, 60, 80, 100, 200, 250, 400, 500]),
        }

    def key(self, p):
        return {"value": round(p["t2_us"] * 1000 / p["gate_ns"], 6), "tolerance": 0.02, "relative": True}

    def check(self, p, key):
        t2, gate = p["t2_us"] * 1e-6, p["gate_ns"] * 1e-9
        fits, elapsed = 0, 0.0
        while elapsed + gate <= t2 * (1 + 1e-9):
            elapsed += gate
            fits += 1
        assert abs(fits - key["value"]) <= 1
        assert abs(key["value"] * 1000 - key["value"]) > key["tolerance"] * key["value"]


class FaultyGates(Generator):
    """hardware.enabling-technologies: expected faulty two-qubit gates from a gate fidelity."""

    name = "lit-faulty-gates"

    def draw(self, rng):
        return {
            "fidelity": rng.choice([99.0, 99.2, 99.4, 99.5, 99.6, 99.7, 99.8, 99.9]),
            "gates": rng.choice([500, 1000, 1500, 2000, 2500, 3000, 5000]),
        }

    def key(self, p):
        return {"value": round(p["gates"] * (100 - p["fidelity"]) / 100, 6), "tolerance": 0.06}

    def check(self, p, key):
        error = Fraction(str(p["fidelity"]))
        expected = sum((1 - error / 100) for _ in range(p["gates"]))
        assert abs(float(expected) - key["value"]) < 1e-6


class SuccessAfterGates(Generator):
    """hardware.enabling-technologies: chance that k gates of fidelity F all succeed, in per cent."""

    name = "lit-success-after-gates"

    def draw(self, rng):
        while True:
            f = rng.choice([99.0, 99.5, 99.8, 99.9])
            k = rng.choice([20, 40, 50, 80, 100, 150, 200, 300, 500])
            if 0.2 <= k * (100 - f) / 100 <= 1.0:
                return {"fidelity": f, "k": k}

    def key(self, p):
        return {"value": round(100 * (p["fidelity"] / 100) ** p["k"], 6), "tolerance": 0.6}

    def check(self, p, key):
        ok = 1.0
        for _ in range(p["k"]):
            ok *= p["fidelity"] / 100
        assert abs(100 * ok - key["value"]) < 1e-6
        linear = 100 - p["k"] * (100 - p["fidelity"])  # errors added instead of multiplied
        assert abs(linear - key["value"]) > key["tolerance"]


class MoscaMargin(Generator):
    """security.post-quantum: Mosca's margin z - (x + y) in years."""

    name = "lit-mosca-margin"

    def draw(self, rng):
        while True:
            x, y, z = rng.randint(2, 25), rng.randint(2, 10), rng.randint(8, 20)
            if z != x + y:
                return {"x": x, "y": y, "z": z}

    def key(self, p):
        return {"value": p["z"] - (p["x"] + p["y"]), "tolerance": 0.1}

    def check(self, p, key):
        # walk through the years: the last record encrypted the old way is made at the end of
        # the migration (year y) and must stay secret until year y + x; the CRQC comes at year z
        last_secret_year = max(year + p["x"] for year in range(0, p["y"] + 1))
        assert last_secret_year - p["z"] == -key["value"]
        assert (key["value"] < 0) == (p["x"] + p["y"] > p["z"])


class RamseyProbability(Generator):
    """sensing.principles: P(1) after a Ramsey sequence with phase phi, in per cent."""

    name = "lit-ramsey-probability"

    def draw(self, rng):
        return {"phi": rng.choice([30, 45, 60, 120, 135, 150, 180, 210, 240, 300])}

    def key(self, p):
        return {"value": round(100 * (1 - math.cos(math.radians(p["phi"]))) / 2, 6), "tolerance": 0.5}

    def check(self, p, key):
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import Statevector

        qc = QuantumCircuit(1)
        qc.h(0)  # first pulse: equal superposition
        qc.p(math.radians(p["phi"]), 0)  # free evolution: the phase picked up
        qc.h(0)  # second pulse: phase turned into probability
        assert abs(100 * Statevector(qc).probabilities()[1] - key["value"]) < 1e-6
        wrong = 100 * (1 + math.cos(math.radians(p["phi"]))) / 2  # P(0) given instead
        assert abs(wrong - key["value"]) > key["tolerance"]


def _polynomial(terms: list[tuple[int, str]]) -> str:
    """Write coefficient-variable pairs as LaTeX, such as ``3\\,x_1 - 4\\,x_1 x_2``."""
    text = ""
    for i, (c, var) in enumerate(terms):
        sign = "-" if c < 0 else ("" if i == 0 else "+")
        text += f"{' ' if i else ''}{sign}{' ' if i else ''}{abs(c)}\\,{var}"
    return text


class QuboEnergy(Generator):
    """optimisation.qubo-modelling: the energy of one assignment of a small QUBO."""

    name = "lit-qubo-energy"

    def draw(self, rng):
        def coef():
            return rng.choice([-6, -5, -4, -3, -2, 2, 3, 4, 5, 6])

        while True:
            x = [rng.randint(0, 1) for _ in range(3)]
            if x[1] == 1 and (x[0] or x[2]):
                break
        p = {
            "a1": coef(),
            "a2": coef(),
            "a3": coef(),
            "b12": coef(),
            "b23": coef(),
            "x1": x[0],
            "x2": x[1],
            "x3": x[2],
        }
        p["energy"] = _polynomial(
            [
                (p["a1"], "x_1"),
                (p["a2"], "x_2"),
                (p["a3"], "x_3"),
                (p["b12"], "x_1 x_2"),
                (p["b23"], "x_2 x_3"),
            ]
        )
        return p

    def key(self, p):
        x1, x2, x3 = p["x1"], p["x2"], p["x3"]
        e = p["a1"] * x1 + p["a2"] * x2 + p["a3"] * x3 + p["b12"] * x1 * x2 + p["b23"] * x2 * x3
        return {"value": e, "tolerance": 0.1}

    def check(self, p, key):
        import dimod

        bqm = dimod.BinaryQuadraticModel(
            {"x1": p["a1"], "x2": p["a2"], "x3": p["a3"]},
            {("x1", "x2"): p["b12"], ("x2", "x3"): p["b23"]},
            0.0,
            dimod.BINARY,
        )
        assert abs(bqm.energy({"x1": p["x1"], "x2": p["x2"], "x3": p["x3"]}) - key["value"]) < 1e-9
        shown = p["energy"].replace("\\,", " ").replace("- ", "-").replace("+ ", "+").split()
        coefficients = [int(t) for t in shown if t.lstrip("+-").isdigit()]
        assert coefficients == [p["a1"], p["a2"], p["a3"], p["b12"], p["b23"]]  # the prompt shows the model


class PenaltyValue(Generator):
    """optimisation.qubo-modelling: the value of a one-hot penalty P(x1 + x2 + x3 - 1)^2."""

    name = "lit-penalty-value"

    def draw(self, rng):
        x = [rng.randint(0, 1) for _ in range(3)]
        return {"P": rng.choice([2, 3, 4, 5, 6, 8, 10]), "x1": x[0], "x2": x[1], "x3": x[2]}

    def key(self, p):
        return {"value": p["P"] * (p["x1"] + p["x2"] + p["x3"] - 1) ** 2, "tolerance": 0.1}

    def check(self, p, key):
        import dimod

        # expanded with x^2 = x: P(1 - x1 - x2 - x3 + 2 x1x2 + 2 x1x3 + 2 x2x3)
        P = p["P"]
        bqm = dimod.BinaryQuadraticModel(
            {v: -P for v in ("x1", "x2", "x3")},
            {("x1", "x2"): 2 * P, ("x1", "x3"): 2 * P, ("x2", "x3"): 2 * P},
            P,
            dimod.BINARY,
        )
        assert abs(bqm.energy({v: p[v] for v in ("x1", "x2", "x3")}) - key["value"]) < 1e-9
        ground = dimod.ExactSolver().sample(bqm).lowest()
        assert all(sum(s.values()) == 1 for s in ground.samples())  # the penalty keeps the one-hot


class MoscaLatestStart(Generator):
    """security.post-quantum: the latest year a migration can start so that x + y <= the CRQC year."""

    name = "lit-mosca-latest-start"

    def draw(self, rng):
        return {"x": rng.randint(3, 15), "y": rng.randint(2, 8), "crqc": rng.randint(2033, 2045)}

    def key(self, p):
        return {"value": p["crqc"] - p["x"] - p["y"], "tolerance": 0.1}

    def check(self, p, key):
        # try every start year: the migration ends at start + y, and data encrypted the old way until
        # then must stay secret until start + y + x, which must not pass the year the CRQC appears
        safe = [start for start in range(1990, 2100) if start + p["y"] + p["x"] <= p["crqc"]]
        assert max(safe) == key["value"]
        for wrong in (p["crqc"] - p["y"], p["crqc"] - p["x"]):  # shelf life or migration forgotten
            assert abs(wrong - key["value"]) > key["tolerance"]


class BellPartnerCount(Generator):
    """concepts.superposition-entanglement: in a Bell state, qubit 1 reads 0 exactly when qubit 0 does."""

    name = "lit-bell-partner-count"

    def draw(self, rng):
        shots = rng.choice([1000, 2000, 4000])
        while True:
            n1 = rng.randint(int(0.45 * shots), int(0.55 * shots))
            if 2 * n1 != shots:
                return {"shots": shots, "n1": n1}

    def key(self, p):
        return {"value": p["shots"] - p["n1"], "tolerance": 0.1}

    def check(self, p, key):
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import Statevector

        qc = QuantumCircuit(2)
        qc.h(0)
        qc.cx(0, 1)
        probs = Statevector(qc).probabilities_dict()
        # only 00 and 11 occur, so the shots with qubit 0 = 1 are exactly the shots with qubit 1 = 1
        assert abs(probs.get("01", 0)) < 1e-12 and abs(probs.get("10", 0)) < 1e-12
        counts = {"11": p["n1"], "00": p["shots"] - p["n1"]}
        qubit1_zeros = sum(c for k, c in counts.items() if k[0] == "0")  # qubit 1 is the left bit
        assert qubit1_zeros == key["value"]
        assert abs(p["n1"] - key["value"]) > key["tolerance"]  # the count of qubit 0's ones repeated


class RescaleCounts(Generator):
    """gate.circuits: the count expected with more shots, estimated from a histogram."""

    name = "lit-rescale-counts"

    def draw(self, rng):
        return {
            "n": rng.randint(60, 940),
            "shots": 1000,
            "new_shots": rng.choice([2000, 4000, 5000, 8000, 10000]),
        }

    def key(self, p):
        return {"value": p["n"] * p["new_shots"] / p["shots"], "tolerance": 1}

    def check(self, p, key):
        estimate = Fraction(p["n"], p["shots"])  # the fraction read from the histogram
        assert abs(float(sum(estimate for _ in range(p["new_shots"]))) - key["value"]) < 1e-6
        assert abs(p["n"] - key["value"]) > key["tolerance"]  # the old count kept


class RamseyPhase(Generator):
    """sensing.principles: the phase a Ramsey sensor picks up, 360 degrees x detuning x time."""

    name = "lit-ramsey-phase"

    def draw(self, rng):
        while True:
            df, t = rng.choice([5, 10, 20, 25, 40, 50]), rng.choice([1, 2, 4, 5, 8, 10])
            if df * t <= 250:
                return {"df": df, "t_ms": t}

    def key(self, p):
        return {"value": 360 * p["df"] * p["t_ms"] / 1000, "tolerance": 0.5}

    def check(self, p, key):
        # follow the relative phase in small time steps: it turns by 360 degrees per period of the detuning
        steps = 10_000
        dt = p["t_ms"] / 1000 / steps
        phase = 0.0
        for _ in range(steps):
            phase += 360 * p["df"] * dt
        assert abs(phase - key["value"]) < 1e-6
        assert abs(360 * p["df"] * p["t_ms"] - key["value"]) > key["tolerance"]  # ms not converted
