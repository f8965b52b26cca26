"""Generators of the Quantum Programming Practitioner (B1) items: Qiskit 2.x gate-model programs.

Each key is computed from the parameters the prompt shows by a closed form, and
each check proves it another way: by simulating the circuit with
``qiskit.quantum_info.Statevector`` or a primitive, by transpiling for real, by
a library circuit, or by plain linear algebra.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from exams.generators import Generator

OPTION_IDS = ("a", "b", "c", "d")


def _label(bits: dict[int, int], n: int) -> str:
    """Return the Qiskit label (qubit n-1 leftmost) of the basis state that has qubit i in bits[i]."""
    return "".join(str(bits.get(q, 0)) for q in reversed(range(n)))


def _place(rng: random.Random, right: str, wrong: list[str]) -> dict[str, Any]:
    """Shuffle the right answer among the wrong ones into opt_a … opt_d."""
    texts = [right, *wrong]
    rng.shuffle(texts)
    return {f"opt_{i}": text for i, text in zip(OPTION_IDS, texts, strict=False)}


def _key_of(params: dict[str, Any], right: str) -> str:
    """Return the option id whose text is *right*."""
    found = [i for i in OPTION_IDS if params.get(f"opt_{i}") == right]
    assert len(found) == 1, f"{right!r} is not exactly one option of {params}"
    return found[0]


def _simulate_probabilities(circuit) -> dict[str, float]:
    from qiskit.quantum_info import Statevector

    return {k: v for k, v in Statevector(circuit).probabilities_dict().items() if v > 1e-9}


# --------------------------------------------------------------------------- gate.circuits


class CountKeyAfterX(Generator):
    """X gates on some qubits and one CX, measure_all: the only count key (bit order)."""

    name = "prog-count-key-x"

    @staticmethod
    def _bits(p: dict[str, Any]) -> dict[int, int]:
        bits = {q: 1 for q in p["x_list"]}
        if bits.get(p["control"]):
            bits[p["target"]] = 1 - bits.get(p["target"], 0)
        return bits

    def draw(self, rng: random.Random) -> dict[str, Any]:
        while True:
            n = rng.choice([3, 4, 5])
            xs = sorted(rng.sample(range(n), rng.randint(1, n - 1)))
            control = rng.choice(xs)
            target = rng.choice([q for q in range(n) if q != control])
            p = {"n": n, "x_list": xs, "x_qubits": str(xs), "control": control, "target": target}
            right = _label(self._bits(p), n)
            no_cx = _label({q: 1 for q in xs}, n)
            wrong = [right[::-1], no_cx, no_cx[::-1]]
            if len({right, *wrong}) == 4:
                p.update(_place(rng, right, wrong))
                return p

    def key(self, p: dict[str, Any]) -> str:
        return _key_of(p, _label(self._bits(p), p["n"]))

    def check(self, p: dict[str, Any], key: str) -> None:
        from qiskit import QuantumCircuit

        qc = QuantumCircuit(p["n"])
        qc.x(p["x_list"])
        qc.cx(p["control"], p["target"])
        probs = _simulate_probabilities(qc)
        assert list(probs) == [p[f"opt_{key}"]], (probs, p, key)


class RyCxProbability(Generator):
    """Ry(θ) on q0, CX(0,1), X(1): the probability of one count key, in percent."""

    name = "prog-ry-cx-probability"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        theta = rng.choice([20, 30, 40, 50, 60, 70, 110, 120, 130, 140, 150, 160])
        return {"theta": theta, "bitstring": rng.choice(["01", "10"])}

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        half = math.radians(p["theta"]) / 2
        # state cos(θ/2)|00> + sin(θ/2)|11>, then X on qubit 1: cos|10> + sin|01> (label q1 q0)
        value = 100 * (math.sin(half) ** 2 if p["bitstring"] == "01" else math.cos(half) ** 2)
        return {"value": round(value, 1), "tolerance": 0.15, "unit": "%"}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit import QuantumCircuit

        qc = QuantumCircuit(2)
        qc.ry(math.radians(p["theta"]), 0)
        qc.cx(0, 1)
        qc.x(1)
        exact = 100 * _simulate_probabilities(qc).get(p["bitstring"], 0.0)
        assert abs(exact - key["value"]) <= 0.05 + 1e-9, (exact, key)
        reversed_key = 100 * _simulate_probabilities(qc).get(p["bitstring"][::-1], 0.0)
        assert abs(reversed_key - key["value"]) > key["tolerance"], "bit-order mistake would pass"


# --------------------------------------------------------------------------- gate.single-qubit-gates


class RyAngleForProbability(Generator):
    """The Ry angle that gives a target probability of measuring 1."""

    name = "prog-ry-angle"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        return {
            "p": rng.choice(
                [0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90]
            )
        }

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "value": round(math.degrees(2 * math.asin(math.sqrt(p["p"]))), 1),
            "tolerance": 0.2,
            "unit": "°",
        }

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit import QuantumCircuit

        qc = QuantumCircuit(1)
        qc.ry(math.radians(key["value"]), 0)
        assert abs(_simulate_probabilities(qc).get("1", 0.0) - p["p"]) < 2e-3
        for mistake in (
            math.degrees(math.asin(math.sqrt(p["p"]))),
            180 * p["p"],
            math.degrees(2 * math.asin(p["p"])),
        ):
            assert abs(mistake - key["value"]) > key["tolerance"], (mistake, key)


class InterferenceProbability(Generator):
    """H, P(φ), H on |0⟩: the probability of 1, in percent (relative phase becomes a probability)."""

    name = "prog-phase-interference"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        return {"phi": rng.choice([30, 45, 60, 120, 135, 150, 210, 225, 240, 300, 315, 330])}

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "value": round(100 * math.sin(math.radians(p["phi"]) / 2) ** 2, 1),
            "tolerance": 0.15,
            "unit": "%",
        }

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit import QuantumCircuit

        qc = QuantumCircuit(1)
        qc.h(0)
        qc.p(math.radians(p["phi"]), 0)
        qc.h(0)
        exact = 100 * _simulate_probabilities(qc).get("1", 0.0)
        assert abs(exact - key["value"]) <= 0.05 + 1e-9
        assert abs(50 - key["value"]) > key["tolerance"], "the 'phase does not matter' answer would pass"


class BlochX(Generator):
    """Ry(θ) then Rz(φ): the expectation value of X."""

    name = "prog-bloch-x"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        return {
            "theta": rng.choice([30, 45, 60, 120, 135, 150]),
            "phi": rng.choice([60, 120, 135, 150, 210, 225, 240, 300]),
        }

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        t, f = math.radians(p["theta"]), math.radians(p["phi"])
        return {"value": round(math.sin(t) * math.cos(f), 3), "tolerance": 0.002, "unit": ""}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import Pauli, Statevector

        qc = QuantumCircuit(1)
        qc.ry(math.radians(p["theta"]), 0)
        qc.rz(math.radians(p["phi"]), 0)
        exact = Statevector(qc).expectation_value(Pauli("X")).real
        assert abs(exact - key["value"]) <= 0.0005 + 1e-9
        assert abs(math.sin(math.radians(p["theta"])) - key["value"]) > key["tolerance"]


# --------------------------------------------------------------------------- gate.primitives

_F = {"I": lambda t: 1.0, "Z": math.cos, "X": math.sin}


class EstimatorProductState(Generator):
    """Estimator on Ry(a) ⊗ Ry(b): the expectation value of a two-qubit Pauli label."""

    name = "prog-estimator-label"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        while True:
            a, b = rng.sample([30, 45, 60, 120, 135, 150], 2)
            label = rng.choice(["ZI", "IZ", "XZ", "ZX", "XI", "IX"])
            p = {"a": a, "b": b, "label": label}
            if abs(self._value(p) - self._value({**p, "label": label[::-1]})) > 0.05:
                return p

    @staticmethod
    def _value(p: dict[str, Any]) -> float:
        # label[0] acts on qubit 1 (angle b), label[1] on qubit 0 (angle a)
        return _F[p["label"][0]](math.radians(p["b"])) * _F[p["label"][1]](math.radians(p["a"]))

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"value": round(self._value(p), 3), "tolerance": 0.002, "unit": ""}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit import QuantumCircuit
        from qiskit.primitives import StatevectorEstimator
        from qiskit.quantum_info import SparsePauliOp

        qc = QuantumCircuit(2)
        qc.ry(math.radians(p["a"]), 0)
        qc.ry(math.radians(p["b"]), 1)
        ev = float(StatevectorEstimator().run([(qc, SparsePauliOp(p["label"]))]).result()[0].data.evs)
        assert abs(ev - key["value"]) <= 0.0005 + 1e-9, (ev, key)


class ExpectationFromCounts(Generator):
    """Counts of a two-qubit measurement: the expectation value of ZI, IZ or ZZ."""

    name = "prog-counts-expectation"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        while True:
            parts = sorted(rng.sample(range(1, 1000), 3))
            n = [parts[0], parts[1] - parts[0], parts[2] - parts[1], 1000 - parts[2]]
            if min(n) < 40:
                continue
            counts = dict(zip(["00", "01", "10", "11"], n, strict=False))
            label = rng.choice(["ZI", "IZ", "ZZ"])
            p = {"n00": n[0], "n01": n[1], "n10": n[2], "n11": n[3], "shots": 1000, "label": label}
            if label != "ZZ" and abs(self._value(p, label) - self._value(p, label[::-1])) < 0.02:
                continue
            if abs(self._value(p, label)) < 0.02:
                continue
            p["counts"] = str(counts)
            return p

    @staticmethod
    def _value(p: dict[str, Any], label: str) -> float:
        total = 0
        for key in ("00", "01", "10", "11"):
            sign = 1
            for pauli, bit in zip(label, key, strict=False):  # both read left = qubit 1
                if pauli == "Z" and bit == "1":
                    sign = -sign
            total += sign * p["n" + key]
        return total / p["shots"]

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"value": round(self._value(p, p["label"]), 3), "tolerance": 0.0015, "unit": ""}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit.quantum_info import SparsePauliOp

        probs = np.array([p["n00"], p["n01"], p["n10"], p["n11"]]) / p["shots"]  # index = int(label, 2)
        diagonal = np.real(np.diag(SparsePauliOp(p["label"]).to_matrix()))
        assert abs(float(probs @ diagonal) - key["value"]) < 1e-9


# --------------------------------------------------------------------------- gate.transpilation


class RoutedCxCount(Generator):
    """One CX between distant qubits of a line, trivial layout, level 0: the CX count after routing."""

    name = "prog-routed-cx-count"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        n = rng.choice([4, 5, 6, 7])
        return {"n": n, "k": rng.randint(2, n - 1)}

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"value": 3 * (p["k"] - 1) + 1, "tolerance": 0, "unit": ""}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit import QuantumCircuit
        from qiskit.transpiler import CouplingMap, generate_preset_pass_manager

        qc = QuantumCircuit(p["n"])
        qc.cx(0, p["k"])
        pm = generate_preset_pass_manager(
            optimization_level=0,
            coupling_map=CouplingMap.from_line(p["n"]),
            basis_gates=["rz", "sx", "x", "cx"],
            initial_layout=list(range(p["n"])),
            seed_transpiler=11,
        )
        assert pm.run(qc).count_ops().get("cx", 0) == key["value"]


class GhzTreeDepth(Generator):
    """The smallest depth of an n-qubit GHZ circuit of H and CX with all-to-all coupling."""

    name = "prog-ghz-min-depth"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        return {"n": rng.choice([5, 6, 7, 8, 9, 10, 12, 16])}

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"value": 1 + math.ceil(math.log2(p["n"])), "tolerance": 0, "unit": ""}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import Statevector

        n = p["n"]
        qc = QuantumCircuit(n)
        qc.h(0)
        have = 1
        while have < n:  # every entangled qubit copies itself onto a fresh one: doubling per layer
            for q in range(min(have, n - have)):
                qc.cx(q, have + q)
            have = min(2 * have, n)
        assert qc.depth() == key["value"]
        probs = Statevector(qc).probabilities_dict()
        assert abs(probs["0" * n] - 0.5) < 1e-9 and abs(probs["1" * n] - 0.5) < 1e-9
        # a lower bound: a layer of CX at most doubles the set of qubits that depend on qubit 0's H
        assert 2 ** (key["value"] - 2) < n <= 2 ** (key["value"] - 1)


class InitialLayoutPhysical(Generator):
    """initial_layout=[...]: the physical qubit that holds a virtual qubit."""

    name = "prog-initial-layout"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        while True:
            layout = rng.sample(range(7), 4)
            v = rng.randrange(4)
            if layout[v] != v:
                break
        return {"layout": str(layout), "layout_list": layout, "v": v}

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"value": p["layout_list"][p["v"]], "tolerance": 0, "unit": ""}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit import QuantumCircuit
        from qiskit.transpiler import CouplingMap, generate_preset_pass_manager

        qc = QuantumCircuit(4)
        qc.h(0)
        qc.cx(0, 1)
        qc.cx(1, 2)
        qc.cx(2, 3)
        pm = generate_preset_pass_manager(
            optimization_level=1,
            coupling_map=CouplingMap.from_full(7),
            basis_gates=["rz", "sx", "x", "cx"],
            initial_layout=p["layout_list"],
            seed_transpiler=5,
        )
        mapped = pm.run(qc)
        virtual = mapped.layout.initial_virtual_layout(filter_ancillas=True)
        assert virtual[qc.qubits[p["v"]]] == key["value"]


# --------------------------------------------------------------------------- algorithms.oracles


class GroverIterations(Generator):
    """The number of Grover iterations that maximises the success probability for N = 2^n and M marked."""

    name = "prog-grover-iterations"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        n = rng.choice([4, 5, 6, 7, 8, 9, 10])
        m = rng.choice([1, 2, 3, 4]) if n >= 6 else rng.choice([1, 2])
        big_n = 2**n
        return {"n": n, "big_n": big_n, "m": m}

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        theta = math.asin(math.sqrt(p["m"] / p["big_n"]))
        return {"value": math.floor(math.pi / (4 * theta)), "tolerance": 0, "unit": ""}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        size, m = p["big_n"], p["m"]
        marked = np.zeros(size, dtype=bool)
        marked[np.random.default_rng(size + m).choice(size, m, replace=False)] = True
        state = np.full(size, 1 / math.sqrt(size))
        success = [float(np.sum(state[marked] ** 2))]
        for _ in range(key["value"] + 4):
            state = np.where(marked, -state, state)  # phase oracle
            state = 2 * state.mean() - state  # diffuser: inversion about the mean
            success.append(float(np.sum(state[marked] ** 2)))
        first_peak = next(k for k in range(len(success) - 1) if success[k + 1] < success[k])
        assert first_peak == key["value"], (success, key)
        assert success[key["value"]] > 0.5


class PhaseOracleXGates(Generator):
    """A phase oracle for one marked bit string: which qubits get X around the multi-controlled Z."""

    name = "prog-phase-oracle-x"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        while True:
            n = rng.choice([3, 4])
            s = "".join(rng.choice("01") for _ in range(n))
            zero_q = [q for q in range(n) if s[n - 1 - q] == "0"]  # Qiskit order
            zero_i = [i for i in range(n) if s[i] == "0"]  # string-index order
            one_q = [q for q in range(n) if s[n - 1 - q] == "1"]
            one_i = [i for i in range(n) if s[i] == "1"]
            sets = [zero_q, zero_i, one_q, one_i]
            if any(not x for x in sets) or len({tuple(x) for x in sets}) < 4:
                continue
            p = {"n": n, "s": s}
            p.update(_place(rng, str(zero_q), [str(zero_i), str(one_q), str(one_i)]))
            return p

    def key(self, p: dict[str, Any]) -> str:
        n, s = p["n"], p["s"]
        return _key_of(p, str([q for q in range(n) if s[n - 1 - q] == "0"]))

    def check(self, p: dict[str, Any], key: str) -> None:
        import ast

        from qiskit import QuantumCircuit
        from qiskit.quantum_info import Operator

        n = p["n"]
        flips = ast.literal_eval(p[f"opt_{key}"])
        qc = QuantumCircuit(n)
        qc.x(flips)
        qc.h(n - 1)
        qc.mcx(list(range(n - 1)), n - 1)
        qc.h(n - 1)
        qc.x(flips)
        expected = np.ones(2**n)
        expected[int(p["s"], 2)] = -1
        assert np.allclose(Operator(qc).data, np.diag(expected)), p


class BernsteinVaziraniReadout(Generator):
    """A Bernstein–Vazirani circuit with its oracle's CX gates shown: the count key it gives."""

    name = "prog-bv-readout"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        while True:
            n = rng.choice([4, 5])
            ones = sorted(q for q in range(n) if rng.random() < 0.5)
            if not ones:
                continue
            s = _label({q: 1 for q in ones}, n)
            comp = "".join("1" if c == "0" else "0" for c in s)
            wrong = [s[::-1], comp, comp[::-1]]
            if len({s, *wrong}) < 4:
                continue
            p = {"n": n, "ones": ones, "oracle": "\n".join(f"qc.cx({q}, {n})" for q in ones)}
            p.update(_place(rng, s, wrong))
            return p

    def key(self, p: dict[str, Any]) -> str:
        return _key_of(p, _label({q: 1 for q in p["ones"]}, p["n"]))

    def check(self, p: dict[str, Any], key: str) -> None:
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import Statevector

        n = p["n"]
        qc = QuantumCircuit(n + 1)
        qc.x(n)
        qc.h(range(n + 1))
        for line in p["oracle"].splitlines():
            control = int(line.split("(")[1].split(",")[0])
            qc.cx(control, n)
        qc.h(range(n))
        probs = Statevector(qc).probabilities_dict(qargs=list(range(n)))
        assert abs(probs[p[f"opt_{key}"]] - 1) < 1e-9, (probs, p)


# --------------------------------------------------------------------------- algorithms.fourier


def _qpe_probabilities(t: int, phase: float) -> np.ndarray:
    """Simulate phase estimation of P(2π·phase) on |1⟩ with t counting qubits; return P(readout)."""
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import QFTGate
    from qiskit.quantum_info import Statevector

    qc = QuantumCircuit(t + 1)
    qc.x(t)
    qc.h(range(t))
    for k in range(t):
        qc.cp(2 * math.pi * phase * 2**k, k, t)
    qc.append(QFTGate(t).inverse(), range(t))
    probs = Statevector(qc).probabilities(qargs=list(range(t)))
    return probs


_QPE_GATES = [  # (gate as the prompt writes it, phase as a fraction of a turn)
    ("T", 1 / 8),
    ("S", 1 / 4),
    ("Z", 1 / 2),
    ("Tdg", 7 / 8),
    ("Sdg", 3 / 4),
    ("P(π/8)", 1 / 16),
    ("P(3π/4)", 3 / 8),
    ("P(5π/4)", 5 / 8),
]


class QpeReadout(Generator):
    """Phase estimation of a phase gate with t counting qubits: the integer the counts give."""

    name = "prog-qpe-readout"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        t = rng.choice([3, 4, 5])
        gates = [g for g in _QPE_GATES if (g[1] * 2**t) == int(g[1] * 2**t)]
        gate, _ = rng.choice(gates)
        return {"t": t, "gate": gate}

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        phase = dict(_QPE_GATES)[p["gate"]]
        return {"value": round(phase * 2 ** p["t"]), "tolerance": 0, "unit": ""}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit.circuit.library import PhaseGate, SdgGate, SGate, TdgGate, TGate, ZGate

        gates = {
            "T": TGate(),
            "S": SGate(),
            "Z": ZGate(),
            "Tdg": TdgGate(),
            "Sdg": SdgGate(),
            "P(π/8)": PhaseGate(math.pi / 8),
            "P(3π/4)": PhaseGate(3 * math.pi / 4),
            "P(5π/4)": PhaseGate(5 * math.pi / 4),
        }
        eigenvalue = gates[p["gate"]].to_matrix()[1, 1]
        phase = (np.angle(eigenvalue) / (2 * math.pi)) % 1
        probs = _qpe_probabilities(p["t"], phase)
        assert abs(probs[key["value"]] - 1) < 1e-9, (probs, key)


class QpePhaseEstimate(Generator):
    """Phase estimation of P(2πφ) with φ not a t-bit fraction: the phase the most likely readout gives."""

    name = "prog-qpe-estimate"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        while True:
            t = rng.choice([3, 4, 5])
            phi = rng.randint(5, 95) / 100
            scaled = phi * 2**t
            frac = scaled - math.floor(scaled)
            m = round(scaled)
            if m < 2**t and 0.15 < frac < 0.85 and abs(frac - 0.5) > 0.1 and abs(phi - m / 2**t) > 0.004:
                return {"t": t, "phi": phi}

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        m = round(p["phi"] * 2 ** p["t"]) % 2 ** p["t"]
        return {"value": round(m / 2 ** p["t"], 5), "tolerance": 0.0006, "unit": ""}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        probs = _qpe_probabilities(p["t"], p["phi"])
        best = int(np.argmax(probs))
        assert abs(best / 2 ** p["t"] - key["value"]) < 1e-9, (best, key)
        assert abs(p["phi"] - key["value"]) > key["tolerance"]


class QftOutputPhase(Generator):
    """The QFT of |x⟩: the phase of the amplitude of |k⟩, in degrees."""

    name = "prog-qft-phase"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        while True:
            n = rng.choice([2, 3, 4])
            size = 2**n
            x, k = rng.randrange(1, size), rng.randrange(1, size)
            if (x * k) % size not in (0, size // 2) and (x * k) % size * 2 != size:
                return {"n": n, "x": x, "k": k, "big_n": size}

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "value": round(360 * ((p["x"] * p["k"]) % p["big_n"]) / p["big_n"], 2),
            "tolerance": 0.5,
            "unit": "°",
        }

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit import QuantumCircuit
        from qiskit.circuit.library import QFTGate
        from qiskit.quantum_info import Statevector

        n = p["n"]
        qc = QuantumCircuit(n)
        for q in range(n):
            if p["x"] >> q & 1:
                qc.x(q)
        qc.append(QFTGate(n), range(n))
        amplitude = Statevector(qc).data[p["k"]]
        assert abs(abs(amplitude) - 1 / math.sqrt(2**n)) < 1e-9
        assert abs(math.degrees(np.angle(amplitude)) % 360 - key["value"]) < 0.01


class QftControlledPhaseCount(Generator):
    """The textbook n-qubit QFT: its number of controlled-phase gates."""

    name = "prog-qft-cp-count"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        return {"n": rng.choice([4, 5, 6, 7, 8, 10, 12])}

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"value": p["n"] * (p["n"] - 1) // 2, "tolerance": 0, "unit": ""}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit.synthesis import synth_qft_full

        ops = synth_qft_full(p["n"]).count_ops()
        assert ops.get("cp", 0) == key["value"] and ops.get("h", 0) == p["n"]


# --------------------------------------------------------------------------- algorithms.variational

_PAULI_NAMES = {"X": "X", "Y": "Y", "Z": "Z"}


class PauliLabel(Generator):
    """Two Paulis on named qubits: the SparsePauliOp label (qubit 0 rightmost)."""

    name = "prog-pauli-label"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        while True:
            n = rng.choice([3, 4])
            qa, qb = sorted(rng.sample(range(n), 2))
            pa, pb = rng.sample(["X", "Y", "Z"], 2)
            right = self._label(n, {qa: pa, qb: pb})
            wrong = [right[::-1], self._label(n, {qa: pb, qb: pa}), self._label(n, {qa: pb, qb: pa})[::-1]]
            if len({right, *wrong}) == 4:
                p = {"n": n, "qa": qa, "qb": qb, "pa": pa, "pb": pb}
                p.update(_place(rng, right, wrong))
                return p

    @staticmethod
    def _label(n: int, paulis: dict[int, str]) -> str:
        return "".join(paulis.get(q, "I") for q in reversed(range(n)))

    def key(self, p: dict[str, Any]) -> str:
        return _key_of(p, self._label(p["n"], {p["qa"]: p["pa"], p["qb"]: p["pb"]}))

    def check(self, p: dict[str, Any], key: str) -> None:
        from qiskit.quantum_info import SparsePauliOp

        expected = SparsePauliOp.from_sparse_list([(p["pa"] + p["pb"], [p["qa"], p["qb"]], 1.0)], p["n"])
        assert SparsePauliOp(p[f"opt_{key}"]).equiv(expected)


class BasisStateEnergy(Generator):
    """A two-qubit Hamiltonian as a SparsePauliOp: its energy in a computational basis state."""

    name = "prog-basis-energy"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        while True:
            c = [
                round(rng.uniform(-1.2, -0.2), 2),
                round(rng.uniform(0.1, 0.6), 2),
                round(rng.uniform(-0.6, -0.1), 2),
                round(rng.uniform(0.05, 0.3), 2),
                round(rng.uniform(0.05, 0.2), 2),
            ]
            label = rng.choice(["01", "10"])
            p = {"c0": c[0], "c1": c[1], "c2": c[2], "c3": c[3], "c4": c[4], "state": label}
            if abs(self._energy(p, label) - self._energy(p, label[::-1])) > 0.05:
                return p

    @staticmethod
    def _energy(p: dict[str, Any], label: str) -> float:
        z1 = 1 - 2 * int(label[0])  # label[0] is qubit 1
        z0 = 1 - 2 * int(label[1])
        return p["c0"] + p["c1"] * z1 + p["c2"] * z0 + p["c3"] * z1 * z0  # <XX> = 0 in a basis state

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"value": round(self._energy(p, p["state"]), 4), "tolerance": 0.0006, "unit": "Ha"}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit.quantum_info import SparsePauliOp, Statevector

        h = SparsePauliOp.from_list(
            [("II", p["c0"]), ("ZI", p["c1"]), ("IZ", p["c2"]), ("ZZ", p["c3"]), ("XX", p["c4"])]
        )
        energy = Statevector.from_label(p["state"]).expectation_value(h).real
        assert abs(energy - key["value"]) < 1e-9


class AnsatzParameters(Generator):
    """real_amplitudes / efficient_su2: the number of parameters."""

    name = "prog-ansatz-parameters"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        return {
            "function": rng.choice(["real_amplitudes", "efficient_su2"]),
            "n": rng.choice([3, 4, 5, 6]),
            "reps": rng.choice([1, 2, 3, 4]),
        }

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        per_layer = p["n"] * (1 if p["function"] == "real_amplitudes" else 2)
        return {"value": per_layer * (p["reps"] + 1), "tolerance": 0, "unit": ""}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit.circuit import library

        circuit = getattr(library, p["function"])(p["n"], reps=p["reps"])
        assert circuit.num_parameters == key["value"]


# --------------------------------------------------------------------------- hardware.noise


class ReadoutMitigation(Generator):
    """One qubit, calibration P(0|0), P(1|1) and a measured frequency of 1: the mitigated probability."""

    name = "prog-readout-mitigation"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        while True:
            a = rng.choice([0.97, 0.96, 0.95, 0.94, 0.93])
            b = rng.choice([0.92, 0.90, 0.89, 0.88, 0.86])
            n1 = rng.randint(150, 850)
            p = {"a": a, "b": b, "n1": n1, "shots": 1000, "n0": 1000 - n1}
            value = self._mitigated(p)
            if 0.02 < value < 0.98 and abs(value - n1 / 1000) > 0.01:
                return p

    @staticmethod
    def _mitigated(p: dict[str, Any]) -> float:
        return (p["n1"] / p["shots"] - (1 - p["a"])) / (p["a"] + p["b"] - 1)

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"value": round(self._mitigated(p), 3), "tolerance": 0.002, "unit": ""}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        calibration = np.array([[p["a"], 1 - p["b"]], [1 - p["a"], p["b"]]])  # column j: prepared j
        measured = np.array([p["n0"], p["n1"]]) / p["shots"]
        true = np.linalg.solve(calibration, measured)
        assert abs(true.sum() - 1) < 1e-9
        assert abs(true[1] - key["value"]) <= 0.0005 + 1e-9
        assert abs(measured[1] - key["value"]) > key["tolerance"]


class DepolarisedBellFidelity(Generator):
    """A Bell state through a two-qubit depolarising channel of parameter λ: its fidelity."""

    name = "prog-depolarised-bell"

    def draw(self, rng: random.Random) -> dict[str, Any]:
        return {"lam": rng.choice([0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.10, 0.12, 0.15, 0.20])}

    def key(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"value": round(1 - 3 * p["lam"] / 4, 4), "tolerance": 0.0005, "unit": ""}

    def check(self, p: dict[str, Any], key: dict[str, Any]) -> None:
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import DensityMatrix, Statevector, state_fidelity
        from qiskit_aer.noise import depolarizing_error

        bell = QuantumCircuit(2)
        bell.h(0)
        bell.cx(0, 1)
        ideal = Statevector(bell)
        noisy = DensityMatrix(ideal).evolve(depolarizing_error(p["lam"], 2).to_quantumchannel())
        fidelity = state_fidelity(noisy, ideal)
        assert abs(fidelity - key["value"]) < 1e-9
        assert abs((1 - p["lam"]) - key["value"]) > key["tolerance"]
