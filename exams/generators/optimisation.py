"""Generators of the optimisation items (prefix ``opt-``): QUBO and Ising energies, penalties,
slack bits, cuts, success probability, TTS99, gaps and cloud cost.

Every key is computed from the parameters as the prompt shows them, and every ``check``
proves it another way: a brute force with ``dimod.ExactSolver`` or a plain enumeration,
a ``dimod.SampleSet`` built from the table the candidate reads, or a direct simulation.
"""

from __future__ import annotations

import itertools
import math

from exams.generators import Generator


def _fmt(x: float) -> str:
    """A number as the prompt shows it: an integer without decimals, else as given."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _signed(coefficient: float, term: str, first: bool) -> str:
    """One term of a LaTeX sum, with its sign: ``- 3x_1``, ``+ x_0x_1`` (a coefficient 1 unwritten)."""
    size = "" if abs(coefficient) == 1 else _fmt(abs(coefficient))
    if first:
        return f"{'-' if coefficient < 0 else ''}{size}{term}"
    return f" {'-' if coefficient < 0 else '+'} {size}{term}"


# ---------------------------------------------------------------- QUBO / Ising modelling


class QuboEnergy(Generator):
    """The energy of one assignment of a three-variable QUBO."""

    name = "opt-qubo-energy"

    def draw(self, rng):
        linear = [rng.choice([-5, -4, -3, -2, -1, 1, 2, 3]) for _ in range(3)]
        quadratic = [rng.choice([-3, -2, 2, 3, 4, 5]) for _ in range(3)]
        offset = rng.choice([0, 1, 2, 3, 4])
        bits = [1, 1, rng.choice([0, 1])]
        rng.shuffle(bits)
        terms = [(linear[i], f"x_{i}") for i in range(3)]
        terms += [(q, f"x_{u}x_{v}") for q, (u, v) in zip(quadratic, [(0, 1), (0, 2), (1, 2)], strict=False)]
        text = "".join(_signed(c, t, k == 0) for k, (c, t) in enumerate(terms))
        text += f" + {offset}" if offset else ""
        return {
            "a0": linear[0],
            "a1": linear[1],
            "a2": linear[2],
            "b01": quadratic[0],
            "b02": quadratic[1],
            "b12": quadratic[2],
            "offset": offset,
            "energy_text": text,
            "x0": bits[0],
            "x1": bits[1],
            "x2": bits[2],
        }

    def key(self, p):
        x = [p["x0"], p["x1"], p["x2"]]
        value = (
            p["a0"] * x[0]
            + p["a1"] * x[1]
            + p["a2"] * x[2]
            + p["b01"] * x[0] * x[1]
            + p["b02"] * x[0] * x[2]
            + p["b12"] * x[1] * x[2]
            + p["offset"]
        )
        return {"value": value, "tolerance": 0.01, "unit": ""}

    def check(self, p, key):
        import dimod

        bqm = dimod.BinaryQuadraticModel(
            {0: p["a0"], 1: p["a1"], 2: p["a2"]},
            {(0, 1): p["b01"], (0, 2): p["b02"], (1, 2): p["b12"]},
            p["offset"],
            "BINARY",
        )
        assert abs(bqm.energy({0: p["x0"], 1: p["x1"], 2: p["x2"]}) - key["value"]) < 1e-9


class IsingEnergy(Generator):
    """The energy of one spin assignment of a three-spin Ising model."""

    name = "opt-ising-energy"

    def draw(self, rng):
        h = [rng.choice([-2, -1, -0.5, 0.5, 1, 2]) for _ in range(3)]
        j = [rng.choice([-2, -1, 1, 1.5, 2]) for _ in range(3)]
        s = [rng.choice([-1, 1]) for _ in range(3)]
        if all(v == 1 for v in s):
            s[rng.randrange(3)] = -1
        terms = [(h[i], f"s_{i}") for i in range(3)]
        terms += [(c, f"s_{u}s_{v}") for c, (u, v) in zip(j, [(0, 1), (0, 2), (1, 2)], strict=False)]
        text = "".join(_signed(c, t, k == 0) for k, (c, t) in enumerate(terms))
        return {
            "h0": h[0],
            "h1": h[1],
            "h2": h[2],
            "j01": j[0],
            "j02": j[1],
            "j12": j[2],
            "energy_text": text,
            "s0": s[0],
            "s1": s[1],
            "s2": s[2],
        }

    def key(self, p):
        s = [p["s0"], p["s1"], p["s2"]]
        value = (
            p["h0"] * s[0]
            + p["h1"] * s[1]
            + p["h2"] * s[2]
            + p["j01"] * s[0] * s[1]
            + p["j02"] * s[0] * s[2]
            + p["j12"] * s[1] * s[2]
        )
        return {"value": value, "tolerance": 0.01, "unit": ""}

    def check(self, p, key):
        import dimod

        bqm = dimod.BinaryQuadraticModel.from_ising(
            {0: p["h0"], 1: p["h1"], 2: p["h2"]}, {(0, 1): p["j01"], (0, 2): p["j02"], (1, 2): p["j12"]}
        )
        assert abs(bqm.energy({0: p["s0"], 1: p["s1"], 2: p["s2"]}) - key["value"]) < 1e-9


class QuboToIsingField(Generator):
    """The field h_0 of the Ising model of a two-variable QUBO, with x = (1 + s)/2."""

    name = "opt-qubo-to-ising-field"

    def draw(self, rng):
        a0 = rng.choice([-6, -4, -3, -2, 2, 3, 4, 5])
        a1 = rng.choice([-5, -3, -1, 1, 2, 4])
        b = rng.choice([-4, -3, -2, 2, 3, 4, 6])
        text = _signed(a0, "x_0", True) + _signed(a1, "x_1", False) + _signed(b, "x_0x_1", False)
        return {"a0": a0, "a1": a1, "b": b, "qubo_text": text}

    def key(self, p):
        return {"value": p["a0"] / 2 + p["b"] / 4, "tolerance": 0.01, "unit": ""}

    def check(self, p, key):
        import dimod

        bqm = dimod.BinaryQuadraticModel({0: p["a0"], 1: p["a1"]}, {(0, 1): p["b"]}, 0, "BINARY")
        h, _, _ = bqm.to_ising()
        assert abs(h[0] - key["value"]) < 1e-9
        # the typical slips (h = a/2, or forgetting the coupling's share) are outside the tolerance
        assert abs(p["a0"] / 2 - key["value"]) > 0.01


class OneHotViolationEnergy(Generator):
    """The energy of an assignment that puts one delivery on two trucks, penalty included."""

    name = "opt-onehot-violation-energy"

    def draw(self, rng):
        costs = rng.sample([2, 3, 4, 5, 6, 7, 8, 9], 3)
        penalty = rng.choice([5, 6, 8, 10, 12, 15])
        on = sorted(rng.sample([0, 1, 2], 2))
        return {
            "c0": costs[0],
            "c1": costs[1],
            "c2": costs[2],
            "penalty": penalty,
            "first": on[0],
            "second": on[1],
        }

    def key(self, p):
        costs = [p["c0"], p["c1"], p["c2"]]
        return {"value": costs[p["first"]] + costs[p["second"]] + p["penalty"], "tolerance": 0.01, "unit": ""}

    def check(self, p, key):
        import dimod

        bqm = dimod.BinaryQuadraticModel({0: p["c0"], 1: p["c1"], 2: p["c2"]}, {}, 0, "BINARY")
        bqm.add_linear_equality_constraint(
            [(j, 1) for j in range(3)], lagrange_multiplier=p["penalty"], constant=-1
        )
        sample = {j: int(j in (p["first"], p["second"])) for j in range(3)}
        assert abs(bqm.energy(sample) - key["value"]) < 1e-9


class ExactlyKPenalty(Generator):
    """The smallest penalty that keeps "choose exactly k of n" when maximising value."""

    name = "opt-exactly-k-penalty"

    def draw(self, rng):
        n = 5
        values = rng.sample(range(2, 20), n)
        k = rng.choice([2, 3])
        return {"n": n, "k": k, "values": ", ".join(map(str, values)), "v": values}

    def key(self, p):
        ranked = sorted(p["v"], reverse=True)
        return {"value": ranked[p["k"]], "tolerance": 0.01, "unit": ""}

    def check(self, p, key):
        import dimod

        values, k, star = p["v"], p["k"], key["value"]

        def grounds_feasible(penalty):
            bqm = dimod.BinaryQuadraticModel({i: -v for i, v in enumerate(values)}, {}, 0, "BINARY")
            bqm.add_linear_equality_constraint(
                [(i, 1) for i in range(len(values))], lagrange_multiplier=penalty, constant=-k
            )
            states = dimod.ExactSolver().sample(bqm)
            low = states.first.energy
            return all(sum(s.values()) == k for s, e in states.data(["sample", "energy"]) if e <= low + 1e-9)

        assert grounds_feasible(star + 0.01) and not grounds_feasible(star - 0.01)


class KnapsackPenalty(Generator):
    """The smallest penalty of a knapsack QUBO with slack: P* = max (V(x) - V*)/(W(x) - C)^2."""

    name = "opt-knapsack-penalty"

    def draw(self, rng):
        while True:
            weights = [rng.randint(2, 6) for _ in range(4)]
            values = [rng.randint(3, 12) for _ in range(4)]
            capacity = rng.randint(7, 11)
            if sum(weights) > capacity + 1 and self._star(values, weights, capacity) > 0:
                break
        return {
            "weights": ", ".join(map(str, weights)),
            "values": ", ".join(map(str, values)),
            "w": weights,
            "v": values,
            "capacity": capacity,
        }

    @staticmethod
    def _star(values, weights, capacity):
        loads = list(itertools.product((0, 1), repeat=len(values)))
        worth = {x: sum(v * b for v, b in zip(values, x, strict=False)) for x in loads}
        load = {x: sum(w * b for w, b in zip(weights, x, strict=False)) for x in loads}
        best = max(worth[x] for x in loads if load[x] <= capacity)
        return max(
            [0.0] + [(worth[x] - best) / (load[x] - capacity) ** 2 for x in loads if load[x] > capacity]
        )

    def key(self, p):
        return {"value": round(self._star(p["v"], p["w"], p["capacity"]), 2), "tolerance": 0.02, "unit": ""}

    def check(self, p, key):
        import dimod

        values, weights, capacity = p["v"], p["w"], p["capacity"]
        bits = capacity.bit_length()

        def keeps(penalty):
            bqm = dimod.BinaryQuadraticModel({i: -v for i, v in enumerate(values)}, {}, 0, "BINARY")
            terms = [(i, w) for i, w in enumerate(weights)] + [(("s", b), 2**b) for b in range(bits)]
            bqm.add_linear_equality_constraint(terms, lagrange_multiplier=penalty, constant=-capacity)
            states = dimod.ExactSolver().sample(bqm)
            low = states.first.energy
            return all(
                sum(w * s[i] for i, w in enumerate(weights)) <= capacity
                for s, e in states.data(["sample", "energy"])
                if e <= low + 1e-9
            )

        star = key["value"]
        assert keeps(star + 0.02) and not keeps(star - 0.02)


class SlackBits(Generator):
    """The number of binary slack bits for an inequality with capacity C."""

    name = "opt-slack-bits"

    def draw(self, rng):
        capacity = rng.choice(
            [rng.choice([8, 16, 32, 64, 128]), rng.choice([7, 15, 31, 63]), rng.randint(9, 200)]
        )
        return {"capacity": capacity}

    def key(self, p):
        return {"value": math.ceil(math.log2(p["capacity"] + 1)), "tolerance": 0.4, "unit": ""}

    def check(self, p, key):
        bits = 0
        while 2**bits - 1 < p["capacity"]:
            bits += 1
        assert bits == key["value"]
        # every slack value 0 ... C is reachable with that many bits, and not with one fewer
        reach = {sum(2**b * y for b, y in enumerate(code)) for code in itertools.product((0, 1), repeat=bits)}
        assert set(range(p["capacity"] + 1)) <= reach
        assert 2 ** (bits - 1) - 1 < p["capacity"]


def _graph(rng):
    """A weighted graph on five nodes: a ring with one or two chords, weights 1 ... 5."""
    edges = {(i, (i + 1) % 5) if i < (i + 1) % 5 else ((i + 1) % 5, i): rng.randint(1, 5) for i in range(5)}
    for u, v in rng.sample([(0, 2), (0, 3), (1, 3), (1, 4), (2, 4)], rng.choice([1, 2])):
        edges[(u, v)] = rng.randint(1, 5)
    return dict(sorted(edges.items()))


def _edges_text(edges):
    return ", ".join(f"$({u},{v})$: {w}" for (u, v), w in edges.items())


def _cut(edges, groups):
    return sum(w for (u, v), w in edges.items() if groups[u] != groups[v])


class MaxCutValue(Generator):
    """The cut value of a bit string in Qiskit's order (node 0 rightmost)."""

    name = "opt-maxcut-value"

    def draw(self, rng):
        while True:
            edges = _graph(rng)
            bits = "".join(rng.choice("01") for _ in range(5))
            groups = [int(bits[-1 - k]) for k in range(5)]
            reversed_groups = [int(bits[k]) for k in range(5)]
            if 0 < bits.count("1") < 5 and _cut(edges, groups) != _cut(edges, reversed_groups):
                break
        return {"edges": _edges_text(edges), "bits": bits, "e": [[u, v, w] for (u, v), w in edges.items()]}

    def key(self, p):
        edges = {(u, v): w for u, v, w in p["e"]}
        return {
            "value": _cut(edges, [int(p["bits"][-1 - k]) for k in range(5)]),
            "tolerance": 0.4,
            "unit": "",
        }

    def check(self, p, key):
        import dimod

        # Ising model of max-cut, J = w/2, offset -W/2: its energy is minus the cut
        j = {(u, v): w / 2 for u, v, w in p["e"]}
        bqm = dimod.BinaryQuadraticModel.from_ising({}, j, -sum(w for *_, w in p["e"]) / 2)
        spins = {k: 1 - 2 * int(p["bits"][len(p["bits"]) - 1 - k]) for k in bqm.variables}
        assert abs(-bqm.energy(spins) - key["value"]) < 1e-9


class MaxCutMaximum(Generator):
    """The maximum cut of a five-node weighted graph."""

    name = "opt-maxcut-max"

    def draw(self, rng):
        edges = _graph(rng)
        return {"edges": _edges_text(edges), "e": [[u, v, w] for (u, v), w in edges.items()]}

    def key(self, p):
        edges = {(u, v): w for u, v, w in p["e"]}
        best = max(_cut(edges, groups) for groups in itertools.product((0, 1), repeat=5))
        return {"value": best, "tolerance": 0.4, "unit": ""}

    def check(self, p, key):
        import dimod

        # QUBO of max-cut: -d_i on x_i, 2 w_ij on x_i x_j, energy = -cut
        bqm = dimod.BinaryQuadraticModel("BINARY")
        for u, v, w in p["e"]:
            bqm.add_linear(u, -w)
            bqm.add_linear(v, -w)
            bqm.add_quadratic(u, v, 2 * w)
        assert abs(-dimod.ExactSolver().sample(bqm).first.energy - key["value"]) < 1e-9


# ---------------------------------------------------------------- sampling


def _table(rng, ground, rows):
    """Rows of (energy, occurrences) with at least one row at the ground energy."""
    energies = [ground] + sorted(rng.sample([ground + d for d in (1, 2, 3, 4, 5, 6, 8)], rows - 1))
    counts = [rng.randint(2, 30) for _ in energies]
    return energies, counts


def _table_text(energies, counts):
    """The rows of a Markdown table of energies and occurrences, as the prompt shows them."""
    return "\n".join(f"| {e} | {c} |" for e, c in zip(energies, counts, strict=False))


class SuccessProbability(Generator):
    """The success probability of one read from an aggregated sample table."""

    name = "opt-success-probability"

    def draw(self, rng):
        ground = rng.choice([-12, -9, -8, -7, -6])
        while True:
            energies, counts = _table(rng, ground, 4)
            if abs(counts[0] / sum(counts) - 0.25) > 0.05:
                break
        return {
            "ground": ground,
            "table": _table_text(energies, counts),
            "energies": energies,
            "counts": counts,
        }

    def key(self, p):
        return {"value": round(p["counts"][0] / sum(p["counts"]), 3), "tolerance": 0.006, "unit": ""}

    def check(self, p, key):
        import dimod

        # rebuild the aggregated sample set the table stands for and count reads
        samples = [[1 if r & (1 << b) else -1 for b in range(3)] for r in range(len(p["counts"]))]
        sampleset = dimod.SampleSet.from_samples(
            samples, "SPIN", energy=p["energies"], num_occurrences=p["counts"]
        )
        hits = sum(n for e, n in sampleset.data(["energy", "num_occurrences"]) if abs(e - p["ground"]) < 1e-9)
        assert abs(hits / sum(sampleset.record.num_occurrences) - key["value"]) < 0.0006
        # counting rows instead of reads (1 of 4 = 0.25) is outside the tolerance
        assert abs(0.25 - key["value"]) > key["tolerance"]


class BestFeasible(Generator):
    """The lowest energy among the feasible samples of a one-hot model with a small penalty."""

    name = "opt-best-feasible"

    CODES = ["100", "010", "001", "110", "000", "011", "101"]

    def draw(self, rng):
        costs = rng.sample([1, 2, 3, 4, 5, 6, 7], 3)
        penalty = rng.choice([2, 3])
        shown = rng.sample(self.CODES, 5)
        if not any(c.count("1") == 1 for c in shown):
            shown[0] = rng.choice(self.CODES[:3])
        if not any(c.count("1") != 1 for c in shown):
            shown[1] = rng.choice(self.CODES[3:])
        rows = sorted(shown, key=lambda c: (self._energy(c, costs, penalty), c))
        return {
            "c0": costs[0],
            "c1": costs[1],
            "c2": costs[2],
            "penalty": penalty,
            "table": "\n".join(
                f"| {c[0]} | {c[1]} | {c[2]} | {_fmt(self._energy(c, costs, penalty))} |" for c in rows
            ),
            "codes": rows,
        }

    @staticmethod
    def _energy(code, costs, penalty):
        x = [int(ch) for ch in code]
        return sum(c * b for c, b in zip(costs, x, strict=False)) + penalty * (sum(x) - 1) ** 2

    def key(self, p):
        costs = [p["c0"], p["c1"], p["c2"]]
        best = min(self._energy(c, costs, p["penalty"]) for c in p["codes"] if c.count("1") == 1)
        return {"value": best, "tolerance": 0.01, "unit": ""}

    def check(self, p, key):
        import dimod

        bqm = dimod.BinaryQuadraticModel(
            {j: c for j, c in enumerate([p["c0"], p["c1"], p["c2"]])}, {}, 0, "BINARY"
        )
        bqm.add_linear_equality_constraint(
            [(j, 1) for j in range(3)], lagrange_multiplier=p["penalty"], constant=-1
        )
        samples = [[int(ch) for ch in c] for c in p["codes"]]
        sampleset = dimod.SampleSet.from_samples_bqm((samples, [0, 1, 2]), bqm)
        feasible = sampleset.filter(lambda d: sum(d.sample.values()) == 1)
        assert abs(feasible.first.energy - key["value"]) < 1e-9


# ---------------------------------------------------------------- benchmarking


def _tts(t, p):
    return t * math.log(0.01) / math.log(1 - p)


class Tts99(Generator):
    """TTS99 in microseconds from the success probability of one read and its anneal time."""

    name = "opt-tts99"

    def draw(self, rng):
        return {
            "p": rng.choice([0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6]),
            "t": rng.choice([5, 10, 20, 50, 100, 200]),
        }

    def key(self, p):
        return {"value": round(_tts(p["t"], p["p"]), 1), "tolerance": 0.02, "relative": True, "unit": "µs"}

    def check(self, p, key):
        reads = key["value"] / p["t"]
        # after that many reads, the chance that at least one succeeded is 99 %
        assert abs(1 - (1 - p["p"]) ** reads - 0.99) < 0.001
        # t/p (mean time to the first success) is outside the tolerance
        assert abs(p["t"] / p["p"] - key["value"]) > 0.02 * key["value"]


class ReadsNeeded(Generator):
    """The whole number of reads needed to see the optimum at least once with 99 %."""

    name = "opt-reads-needed"

    def draw(self, rng):
        return {"p": rng.choice([0.03, 0.04, 0.06, 0.07, 0.12, 0.15, 0.18, 0.22, 0.35, 0.45])}

    def key(self, p):
        return {"value": math.ceil(math.log(0.01) / math.log(1 - p["p"])), "tolerance": 0.4, "unit": ""}

    def check(self, p, key):
        reads = 1
        while 1 - (1 - p["p"]) ** reads < 0.99:
            reads += 1
        assert reads == key["value"]
        assert abs(1 / p["p"] - key["value"]) > 0.4


class TtsCompare(Generator):
    """Which of two solvers has the lower TTS99: the one with the higher p is not always it."""

    name = "opt-tts-compare"

    def draw(self, rng):
        while True:
            t_a, p_a = rng.choice([10, 20, 50]), rng.choice([0.05, 0.1, 0.15, 0.2])
            t_b, p_b = rng.choice([200, 500, 1000]), rng.choice([0.6, 0.8, 0.9, 0.95])
            ratio = _tts(t_a, p_a) / _tts(t_b, p_b)
            if abs(math.log(ratio)) > 0.15:
                break
        return {"t_a": t_a, "p_a": p_a, "t_b": t_b, "p_b": p_b}

    def key(self, p):
        return "a" if _tts(p["t_a"], p["p_a"]) < _tts(p["t_b"], p["p_b"]) else "b"

    def check(self, p, key):
        def reads(prob):
            # solve (1 - p)^R = 0.01 for a real R by bisection
            low, high = 0.0, 1e6
            for _ in range(200):
                mid = (low + high) / 2
                low, high = (mid, high) if (1 - prob) ** mid > 0.01 else (low, mid)
            return low

        a, b = p["t_a"] * reads(p["p_a"]), p["t_b"] * reads(p["p_b"])
        assert key == ("a" if a < b else "b")


class ResidualEnergy(Generator):
    """The mean residual energy of the reads of an aggregated table."""

    name = "opt-residual-energy"

    def draw(self, rng):
        ground = rng.choice([-20, -16, -15, -11, -10])
        while True:
            energies, counts = _table(rng, ground, 3)
            weighted = sum((e - ground) * c for e, c in zip(energies, counts, strict=False)) / sum(counts)
            if abs(sum(e - ground for e in energies) / 3 - weighted) > 0.1:
                break
        return {
            "ground": ground,
            "table": _table_text(energies, counts),
            "energies": energies,
            "counts": counts,
        }

    def key(self, p):
        total = sum(p["counts"])
        mean = sum((e - p["ground"]) * c for e, c in zip(p["energies"], p["counts"], strict=False)) / total
        return {"value": round(mean, 2), "tolerance": 0.02, "unit": ""}

    def check(self, p, key):
        reads = [e for e, c in zip(p["energies"], p["counts"], strict=False) for _ in range(c)]
        assert abs(sum(r - p["ground"] for r in reads) / len(reads) - key["value"]) < 0.006
        # the unweighted mean over rows (num_occurrences ignored) is outside the tolerance
        unweighted = sum(e - p["ground"] for e in p["energies"]) / len(p["energies"])
        assert abs(unweighted - key["value"]) > key["tolerance"]


class Gap(Generator):
    """The gap of a solution's cost to a proven optimum, in per cent."""

    name = "opt-gap"

    def draw(self, rng):
        while True:
            reference = rng.randint(80, 400) * 100
            found = reference + rng.randint(3, 60) * 100
            if found >= 1.04 * reference:
                break
        return {"reference": reference, "found": found}

    def key(self, p):
        return {
            "value": round(100 * (p["found"] - p["reference"]) / p["reference"], 2),
            "tolerance": 0.06,
            "unit": "%",
        }

    def check(self, p, key):
        assert abs(p["reference"] * (1 + key["value"] / 100) - p["found"]) <= 0.0006 * p["reference"]
        # dividing by the found cost instead of the reference is outside the tolerance
        wrong = 100 * (p["found"] - p["reference"]) / p["found"]
        assert abs(wrong - key["value"]) > key["tolerance"]


class ApproximationRatio(Generator):
    """The approximation ratio of a cut found by a sampler to the maximum cut."""

    name = "opt-approx-ratio"

    def draw(self, rng):
        edges = _graph(rng)
        best = max(_cut(edges, g) for g in itertools.product((0, 1), repeat=5))
        while True:
            groups = [rng.choice((0, 1)) for _ in range(5)]
            found = _cut(edges, groups)
            if 0 < found < best:
                break
        sets = [k for k in range(5) if groups[k] == groups[0]]
        return {
            "edges": _edges_text(edges),
            "e": [[u, v, w] for (u, v), w in edges.items()],
            "group": ", ".join(map(str, sets)),
            "others": ", ".join(str(k) for k in range(5) if k not in sets),
        }

    def key(self, p):
        edges = {(u, v): w for u, v, w in p["e"]}
        first = {int(k) for k in p["group"].split(", ")}
        found = _cut(edges, [int(k in first) for k in range(5)])
        best = max(_cut(edges, g) for g in itertools.product((0, 1), repeat=5))
        return {"value": round(found / best, 3), "tolerance": 0.006, "unit": ""}

    def check(self, p, key):
        import dimod

        j = {(u, v): w / 2 for u, v, w in p["e"]}
        bqm = dimod.BinaryQuadraticModel.from_ising({}, j, -sum(w for *_, w in p["e"]) / 2)
        first = {int(k) for k in p["group"].split(", ")}
        found = -bqm.energy({k: 1 if k in first else -1 for k in range(5)})
        best = -dimod.ExactSolver().sample(bqm).first.energy
        assert abs(found / best - key["value"]) < 0.0006


# ---------------------------------------------------------------- hybrid / cloud


class CloudCost(Generator):
    """The cost of a cloud annealing study: per-job fee plus per-second access time."""

    name = "opt-cloud-cost"

    def draw(self, rng):
        return {
            "jobs": rng.choice([20, 30, 40, 50, 60, 80]),
            "fee": rng.choice([50, 80, 100, 150]),
            "seconds": rng.choice([0.5, 1.2, 2.5, 4, 6]),
            "rate": rng.choice([20, 30, 45, 60]),
        }

    def key(self, p):
        return {
            "value": round(p["jobs"] * (p["fee"] + p["seconds"] * p["rate"]), 1),
            "tolerance": 0.5,
            "unit": "JPY",
        }

    def check(self, p, key):
        total = 0.0
        for _ in range(p["jobs"]):  # job by job, as the invoice lists them
            total += p["fee"]
            total += p["seconds"] * p["rate"]
        assert abs(total - key["value"]) < 0.06
        assert abs(p["jobs"] * p["seconds"] * p["rate"] - key["value"]) > 0.5  # fees forgotten


class BatchTime(Generator):
    """Wall-clock time saved by sending circuits as one batched job instead of one job each."""

    name = "opt-batch-time"

    def draw(self, rng):
        return {
            "circuits": rng.choice([10, 12, 20, 25, 40]),
            "queue": rng.choice([2, 3, 5, 8]),
            "run": rng.choice([4, 6, 10, 15]),
        }

    def key(self, p):
        # one job each: n (queue + run); batched: one queue wait + n runs
        return {"value": (p["circuits"] - 1) * p["queue"] * 60, "tolerance": 0.5, "unit": "s"}

    def check(self, p, key):
        clock, sequential = 0, 0
        for _ in range(p["circuits"]):
            sequential += p["queue"] * 60 + p["run"]
        clock = p["queue"] * 60 + p["circuits"] * p["run"]
        assert sequential - clock == key["value"]
