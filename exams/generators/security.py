"""Generators of the security items (QKD, post-quantum migration, quantum cryptanalysis, protocols).

Each key is computed from the rounded parameters the prompt shows; each check
proves it another way: a simulation on qiskit's Statevector, an exhaustive
count over the BB84 cases, a brute-force search, a numerical root, or the key
sizes of real ML-KEM keys made by the ``cryptography`` package.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

from exams.generators import Generator


def _h(q: float) -> float:
    """Binary entropy in bits."""
    if q <= 0 or q >= 1:
        return 0.0
    return -q * math.log2(q) - (1 - q) * math.log2(1 - q)


def _h_nats(q: float) -> float:
    """Binary entropy from natural logarithms, converted to bits (the checks' other route)."""
    if q <= 0 or q >= 1:
        return 0.0
    return -(q * math.log(q) + (1 - q) * math.log(1 - q)) / math.log(2)


def _intercept_resend_error(fraction: float) -> float:
    """QBER of the sifted key when Eve intercepts *fraction* of the photons, by enumerating every case."""
    error = 0.0
    # Alice's bit, Alice's basis = Bob's basis (sifted), Eve's basis; 1/2 each
    for _bit, basis, eve in itertools.product((0, 1), (0, 1), (0, 1)):
        weight = 1 / 8
        if eve == basis:
            wrong = 0.0  # Eve reads and resends the right state
        else:
            wrong = 0.5  # Eve's state is in the other basis: Bob is right half the time
        error += weight * (fraction * wrong)
    return error


# --------------------------------------------------------------------------- QKD


class QberFromSample(Generator):
    """QBER in % from a public sample of the sifted key."""

    name = "sec-qber-sample"

    def draw(self, rng):
        sample = rng.choice([200, 250, 400, 500, 800, 1000])
        errors = rng.randint(3, int(0.09 * sample))
        sifted = sample * rng.choice([10, 20, 40])
        return {"sifted": sifted, "sample": sample, "errors": errors}

    def key(self, p):
        return {"value": round(100 * p["errors"] / p["sample"], 2), "tolerance": 0.05}

    def check(self, p, key):
        alice = [0] * p["sample"]
        bob = [1] * p["errors"] + [0] * (p["sample"] - p["errors"])
        differ = sum(a != b for a, b in zip(alice, bob, strict=False))
        assert abs(100 * differ / p["sample"] - key["value"]) < 0.006
        wrong = 100 * p["errors"] / p["sifted"]  # dividing by the whole sifted key
        assert abs(wrong - key["value"]) > key["tolerance"]


class InterceptFraction(Generator):
    """The fraction of photons an intercept-resend Eve must have measured to explain a QBER."""

    name = "sec-intercept-fraction"

    def draw(self, rng):
        sample = rng.choice([400, 500, 800, 1000])
        errors = rng.randint(int(0.01 * sample), int(0.12 * sample))
        return {"sample": sample, "errors": errors}

    def key(self, p):
        return {"value": round(400 * p["errors"] / p["sample"], 1), "tolerance": 0.6}

    def check(self, p, key):
        qber = p["errors"] / p["sample"]
        lo, hi = 0.0, 1.0  # bisection on the exact enumeration
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if _intercept_resend_error(mid) < qber else (lo, mid)
        assert abs(100 * min(1.0, lo) - key["value"]) < 0.06 or qber > 0.25
        assert abs(100 * 2 * qber - key["value"]) > key["tolerance"]  # the "1/2" mistake


class InterceptQber(Generator):
    """QBER in % when Eve intercepts and resends a fraction f of the photons."""

    name = "sec-intercept-qber"

    def draw(self, rng):
        return {"percent": rng.choice([12, 20, 24, 30, 36, 40, 50, 60, 64, 80])}

    def key(self, p):
        return {"value": p["percent"] / 4, "tolerance": 0.05}

    def check(self, p, key):
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import Statevector

        def bob_wrong(bit, basis, eve):
            # probability that Bob (same basis as Alice) reads the wrong bit, with Eve measuring in `eve`
            qc = QuantumCircuit(1)
            if bit:
                qc.x(0)
            if basis:
                qc.h(0)
            if eve is None:
                states = [(1.0, Statevector(qc))]
            else:
                if eve:
                    qc.h(0)
                probs = Statevector(qc).probabilities()
                states = []
                for outcome in (0, 1):
                    resend = QuantumCircuit(1)
                    if outcome:
                        resend.x(0)
                    if eve:
                        resend.h(0)
                    states.append((probs[outcome], Statevector(resend)))
            total = 0.0
            for weight, state in states:
                if basis:
                    measure = QuantumCircuit(1)
                    measure.h(0)
                    state = state.evolve(measure)
                total += weight * state.probabilities()[1 - bit]
            return total

        f = p["percent"] / 100
        q = 0.0
        for bit, basis in itertools.product((0, 1), (0, 1)):
            attacked = sum(bob_wrong(bit, basis, eve) for eve in (0, 1)) / 2
            q += (f * attacked + (1 - f) * bob_wrong(bit, basis, None)) / 4
        assert abs(100 * q - key["value"]) < 1e-6


class SecretKeyBits(Generator):
    """Secret bits left from N sifted bits at QBER Q by the asymptotic BB84 rate 1 - 2h(Q)."""

    name = "sec-secret-bits"

    def draw(self, rng):
        sifted = rng.choice([100_000, 200_000, 500_000, 1_000_000])
        return {
            "sifted": sifted,
            "sifted_txt": f"{sifted:,}",
            "qber": rng.choice([1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0]),
        }

    def key(self, p):
        rate = 1 - 2 * _h(p["qber"] / 100)
        return {"value": round(p["sifted"] * rate), "tolerance": 0.005 * p["sifted"]}

    def check(self, p, key):
        rate = 1 - 2 * _h_nats(p["qber"] / 100)
        assert abs(p["sifted"] * rate - key["value"]) <= 1
        one_h = p["sifted"] * (1 - _h_nats(p["qber"] / 100))  # forgetting privacy amplification
        assert abs(one_h - key["value"]) > key["tolerance"]


class KeyBudget(Generator):
    """From photons detected to secret bits: sifting, sampling, then the rate 1 - 2h(Q)."""

    name = "sec-key-budget"

    def draw(self, rng):
        detected = rng.choice([200_000, 400_000, 600_000, 1_000_000])
        return {
            "detected": detected,
            "detected_txt": f"{detected:,}",
            "sample_pct": rng.choice([10, 20, 25]),
            "qber": rng.choice([2.0, 3.0, 4.0, 5.0]),
        }

    def key(self, p):
        sifted = p["detected"] / 2
        kept = sifted * (1 - p["sample_pct"] / 100)
        bits = kept * (1 - 2 * _h(p["qber"] / 100))
        return {"value": round(bits), "tolerance": round(0.01 * bits)}

    def check(self, p, key):
        # sum over the four basis pairs, each with probability 1/4: two of them are sifted
        sifted = sum(p["detected"] / 4 for a, b in itertools.product((0, 1), (0, 1)) if a == b)
        bits = (sifted - sifted * p["sample_pct"] / 100) * (1 - 2 * _h_nats(p["qber"] / 100))
        assert abs(bits - key["value"]) <= 1
        no_sift = p["detected"] * (1 - p["sample_pct"] / 100) * (1 - 2 * _h_nats(p["qber"] / 100))
        assert abs(no_sift - key["value"]) > key["tolerance"]


# --------------------------------------------------------------------------- post-quantum


class MoscaLatestStart(Generator):
    """The latest calendar year a migration may start so that x + y does not exceed z."""

    name = "sec-mosca-start"

    def draw(self, rng):
        return {
            "now": 2026,
            "crqc": rng.choice([2033, 2035, 2037, 2040]),
            "shelf": rng.choice([3, 5, 7, 10]),
            "migration": rng.choice([2, 3, 4, 5]),
        }

    def key(self, p):
        return {"value": p["crqc"] - p["shelf"] - p["migration"], "tolerance": 0}

    def check(self, p, key):
        ok = [
            start
            for start in range(1990, 2060)
            # the last data under old crypto is made when migration ends, and must stay secret shelf years
            if start + p["migration"] + p["shelf"] <= p["crqc"]
        ]
        assert max(ok) == key["value"]


class MoscaMargin(Generator):
    """Mosca margin z - (x + y) in years; negative means late."""

    name = "sec-mosca-margin"

    def draw(self, rng):
        return {
            "x": rng.choice([1, 5, 7, 10, 12, 15, 20, 25]),
            "y": rng.choice([2, 3, 4, 5, 6]),
            "z": rng.choice([10, 12, 15]),
        }

    def key(self, p):
        return {"value": p["z"] - (p["x"] + p["y"]), "tolerance": 0}

    def check(self, p, key):
        # step year by year until the data's secrecy ends, compare with the CRQC year
        year, needed = 0, p["y"] + p["x"]
        while year < needed:
            year += 1
        assert p["z"] - year == key["value"]


MLKEM = {"ML-KEM-512": (2, 10, 4), "ML-KEM-768": (3, 10, 4), "ML-KEM-1024": (4, 11, 5)}
#: FIPS 203 Table 3 (encapsulation key, decapsulation key, ciphertext, shared secret) in bytes.
MLKEM_TABLE = {
    "ML-KEM-512": (800, 1632, 768, 32),
    "ML-KEM-768": (1184, 2400, 1088, 32),
    "ML-KEM-1024": (1568, 3168, 1568, 32),
}


def _real_mlkem(name: str) -> tuple[int, int] | None:
    """Sizes (public key, ciphertext) of a real key from the cryptography package, if it has the set."""
    try:
        from cryptography.hazmat.primitives.asymmetric import mlkem
    except ImportError:
        return None
    cls = getattr(mlkem, name.replace("-", "").upper() + "PrivateKey", None)
    if cls is None:
        return None
    key = cls.generate()
    return len(key.public_key().public_bytes_raw()), len(key.public_key().encapsulate()[1])


class MlkemRoundTrip(Generator):
    """Bytes an ML-KEM key exchange puts on the wire: public key one way, ciphertext the other."""

    name = "sec-mlkem-wire"

    def draw(self, rng):
        name = rng.choice(sorted(MLKEM))
        k, du, dv = MLKEM[name]
        return {"set": name, "k": k, "du": du, "dv": dv}

    def key(self, p):
        public = 384 * p["k"] + 32
        ciphertext = 32 * (p["du"] * p["k"] + p["dv"])
        return {"value": public + ciphertext, "tolerance": 0}

    def check(self, p, key):
        pk, _, ct, _ = MLKEM_TABLE[p["set"]]
        real = _real_mlkem(p["set"])
        if real is not None:
            assert real == (pk, ct)
        assert pk + ct == key["value"]


class MlkemCiphertext(Generator):
    """ML-KEM ciphertext size from (k, d_u, d_v), including parameter sets outside the standard."""

    name = "sec-mlkem-ciphertext"

    def draw(self, rng):
        k = rng.choice([2, 3, 4, 5])
        du = rng.choice([10, 11])
        dv = rng.choice([4, 5])
        return {"k": k, "du": du, "dv": dv}

    def key(self, p):
        return {"value": 32 * (p["du"] * p["k"] + p["dv"]), "tolerance": 0}

    def check(self, p, key):
        bits = p["k"] * 256 * p["du"] + 256 * p["dv"]  # coefficient by coefficient
        assert bits % 8 == 0 and bits // 8 == key["value"]
        for name, params in MLKEM.items():  # the formula on the standard sets
            if params == (p["k"], p["du"], p["dv"]):
                assert MLKEM_TABLE[name][2] == key["value"]
                real = _real_mlkem(name)
                if real is not None:
                    assert real[1] == key["value"]


HYBRID = {
    "X25519MLKEM768": ("ML-KEM-768", 32),
    "SecP256r1MLKEM768": ("ML-KEM-768", 65),
    "SecP384r1MLKEM1024": ("ML-KEM-1024", 97),
}


class HybridShare(Generator):
    """Size of the client's or server's key_share in a hybrid TLS 1.3 group."""

    name = "sec-hybrid-share"

    def draw(self, rng):
        group = rng.choice(sorted(HYBRID))
        kem, ec = HYBRID[group]
        side = rng.choice(["client", "server"])
        pk, _, ct, _ = MLKEM_TABLE[kem]
        return {
            "group": group,
            "kem": kem,
            "ec": ec,
            "pk": pk,
            "ct": ct,
            "side": side,
            "side_ja": {"client": "クライアント", "server": "サーバ"}[side],
        }

    def key(self, p):
        return {"value": (p["pk"] if p["side"] == "client" else p["ct"]) + p["ec"], "tolerance": 0}

    def check(self, p, key):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, x25519

        if p["group"].startswith("X25519"):
            ec_bytes = len(x25519.X25519PrivateKey.generate().public_key().public_bytes_raw())
        else:
            curve = ec.SECP256R1() if "256" in p["group"] else ec.SECP384R1()
            ec_bytes = len(
                ec.generate_private_key(curve)
                .public_key()
                .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
            )
        real = _real_mlkem(p["kem"])
        pk, ct = real if real is not None else (p["pk"], p["ct"])
        assert (pk if p["side"] == "client" else ct) + ec_bytes == key["value"]


# --------------------------------------------------------------------------- cryptanalysis


def _order_by_lambda(a: int, n: int) -> int:
    """The order of a mod n as the smallest divisor d of the Carmichael function with a^d = 1."""
    factors: dict[int, int] = {}
    m, p = n, 2
    while p * p <= m:
        while m % p == 0:
            factors[p] = factors.get(p, 0) + 1
            m //= p
        p += 1
    if m > 1:
        factors[m] = factors.get(m, 0) + 1
    lam = 1
    for prime, e in factors.items():
        part = (prime - 1) * prime ** (e - 1)
        if prime == 2 and e >= 3:
            part //= 2
        lam = lam * part // math.gcd(lam, part)
    return min(d for d in range(1, lam + 1) if lam % d == 0 and pow(a, d, n) == 1)


ORDER_CASES = [
    (a, n)
    for n in (15, 21, 33, 35, 39, 51, 55, 57, 65, 77, 85, 91)
    for a in range(2, n)
    if math.gcd(a, n) == 1 and a not in (n - 1,)
]


class OrderModN(Generator):
    """The multiplicative order of a modulo N."""

    name = "sec-order"

    def draw(self, rng):
        a, n = rng.choice(ORDER_CASES)
        return {"a": a, "n": n}

    def key(self, p):
        value, r = p["a"] % p["n"], 1
        while value != 1:
            value = value * p["a"] % p["n"]
            r += 1
        return {"value": r, "tolerance": 0}

    def check(self, p, key):
        assert _order_by_lambda(p["a"], p["n"]) == key["value"]


SHOR_CASES = []
for _n in (15, 21, 33, 35, 39, 51, 55, 57, 65, 77, 85, 91):
    for _a in range(2, _n):
        if math.gcd(_a, _n) != 1:
            continue
        _r = _order_by_lambda(_a, _n)
        if _r % 2 == 0 and pow(_a, _r // 2, _n) != _n - 1 and _r <= 12:
            SHOR_CASES.append((_a, _n, _r))


class ShorFactor(Generator):
    """The factor gcd(a^(r/2) - 1, N) given a and its even order r."""

    name = "sec-shor-factor"

    def draw(self, rng):
        a, n, r = rng.choice(SHOR_CASES)
        return {"a": a, "n": n, "r": r}

    def key(self, p):
        return {"value": math.gcd(pow(p["a"], p["r"] // 2, p["n"]) - 1, p["n"]), "tolerance": 0}

    def check(self, p, key):
        half = p["a"] ** (p["r"] // 2)  # without reducing mod N
        g = math.gcd(half - 1, p["n"])
        assert g == key["value"] and 1 < g < p["n"] and p["n"] % g == 0


class ContinuedFraction(Generator):
    """The order candidate (denominator) read from a phase-estimation outcome k / 2^m."""

    name = "sec-continued-fraction"

    def draw(self, rng):
        while True:
            a, n = rng.choice(ORDER_CASES)
            r = _order_by_lambda(a, n)
            if r < 3:
                continue
            m = 2 * n.bit_length() + 1
            s = rng.choice([s for s in range(1, r) if math.gcd(s, r) == 1])
            k = round(s * 2**m / r)
            return {"k": k, "m": m, "two_m": 2**m, "n": n}

    def key(self, p):
        return {
            "value": Fraction(p["k"], p["two_m"]).limit_denominator(p["n"] - 1).denominator,
            "tolerance": 0,
        }

    def check(self, p, key):
        x = Fraction(p["k"], p["two_m"])
        best = min(
            (
                (abs(x - Fraction(num, den)), den)
                for den in range(1, p["n"])
                for num in (math.floor(x * den), math.ceil(x * den))
            ),
            key=lambda t: (t[0], t[1]),
        )
        assert best[1] == key["value"]


class GroverParallel(Generator):
    """log2 of the Grover iterations each of M machines needs to search a k-bit key."""

    name = "sec-grover-parallel"

    def draw(self, rng):
        return {"k": rng.choice([128, 192, 256]), "log_m": rng.choice([10, 16, 20, 30, 40])}

    def key(self, p):
        iterations = math.pi / 4 * math.sqrt(2 ** (p["k"] - p["log_m"]))
        return {"value": round(math.log2(iterations), 1), "tolerance": 0.2}

    def check(self, p, key):
        value = math.log2(math.pi / 4) + (p["k"] - p["log_m"]) / 2
        assert abs(value - key["value"]) < 0.06
        naive = p["k"] / 2 - p["log_m"]  # as if M machines divided the work by M
        assert abs(naive - key["value"]) > key["tolerance"]


class GidneyEkeraQubits(Generator):
    """Logical qubits 3n + 0.002 n lg n of Gidney and Ekera (2019) for n-bit RSA."""

    name = "sec-ge-qubits"

    def draw(self, rng):
        return {"n": rng.choice([1024, 2048, 3072, 4096])}

    def key(self, p):
        n = p["n"]
        return {"value": round(3 * n + 0.002 * n * math.log2(n)), "tolerance": 2}

    def check(self, p, key):
        n = p["n"]
        value = 3 * n + 0.002 * n * math.log(n) / math.log(2)
        assert abs(value - key["value"]) <= 1
        assert abs(2 * n - key["value"]) > key["tolerance"]


class QubitGapYears(Generator):
    """Years for a qubit count to grow from today's to a target at a given doubling time (a scenario)."""

    name = "sec-qubit-gap-years"

    def draw(self, rng):
        today = rng.choice([1000, 2000, 5000])
        target = rng.choice([1_000_000, 20_000_000])
        return {
            "today": today,
            "target": target,
            "today_txt": f"{today:,}",
            "target_txt": f"{target:,}",
            "doubling": rng.choice([1.0, 1.5, 2.0]),
        }

    def key(self, p):
        years = p["doubling"] * math.log2(p["target"] / p["today"])
        return {"value": round(years, 1), "tolerance": 0.3}

    def check(self, p, key):
        lo, hi = 0.0, 200.0  # bisection on the growth curve
        for _ in range(80):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if p["today"] * 2 ** (mid / p["doubling"]) < p["target"] else (lo, mid)
        assert abs(lo - key["value"]) < 0.06


# --------------------------------------------------------------------------- protocols


class TeleportCorrection(Generator):
    """Which correction Bob applies for Alice's two measured bits in teleportation."""

    name = "sec-teleport-correction"

    def draw(self, rng):
        return {"m0": rng.randint(0, 1), "m1": rng.randint(0, 1)}

    def key(self, p):
        return {(0, 0): "a", (0, 1): "b", (1, 0): "c", (1, 1): "d"}[(p["m0"], p["m1"])]

    def check(self, p, key):
        import numpy as np
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import Statevector

        corrections = {"a": [], "b": ["x"], "c": ["z"], "d": ["x", "z"]}
        psi = QuantumCircuit(1)
        psi.ry(1.1, 0)
        psi.rz(0.7, 0)
        qc = QuantumCircuit(3)
        qc.compose(psi, [0], inplace=True)
        qc.h(1)
        qc.cx(1, 2)
        qc.cx(0, 1)
        qc.h(0)
        state = Statevector(qc).data.reshape(2, 2, 2)  # indices q2, q1, q0
        bob = state[:, p["m1"], p["m0"]]
        bob = bob / np.linalg.norm(bob)
        target = Statevector(psi).data
        works = []
        for option, gates in corrections.items():
            out = Statevector(bob)
            for gate in gates:
                c = QuantumCircuit(1)
                getattr(c, gate)(0)
                out = out.evolve(c)
            if abs(np.vdot(target, out.data)) > 1 - 1e-9:
                works.append(option)
        assert works == [key]


class SuperdenseEncoding(Generator):
    """Which gates Alice applies to her half of |Phi+> to send two bits by superdense coding."""

    name = "sec-superdense-encoding"

    def draw(self, rng):
        return {"b1": rng.randint(0, 1), "b0": rng.randint(0, 1)}

    def key(self, p):
        return {(0, 0): "a", (1, 0): "b", (0, 1): "c", (1, 1): "d"}[(p["b1"], p["b0"])]

    def check(self, p, key):
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import Statevector

        gates = {"a": [], "b": ["x"], "c": ["z"], "d": ["x", "z"]}
        found = []
        for option, ops in gates.items():
            qc = QuantumCircuit(2)
            qc.h(0)
            qc.cx(0, 1)
            for g in ops:
                getattr(qc, g)(0)
            qc.cx(0, 1)
            qc.h(0)
            probs = Statevector(qc).probabilities_dict()
            # Bob's decoding: qubit 1 carries b1, qubit 0 carries b0; key string is q1 q0
            if probs.get(f"{p['b1']}{p['b0']}", 0) > 1 - 1e-9:
                found.append(option)
        assert found == [key]


class ChshValue(Generator):
    """|S| of the CHSH combination for the singlet with measurement angles in the X-Z plane."""

    name = "sec-chsh-value"

    def draw(self, rng):
        b = rng.choice([15, 30, 45, 60, 75])
        return {"a0": 0, "a1": 90, "b0": b, "b1": b + 90}

    def key(self, p):
        def e(x, y):
            return -math.cos(math.radians(x - y))

        s = e(p["a0"], p["b0"]) - e(p["a0"], p["b1"]) + e(p["a1"], p["b0"]) + e(p["a1"], p["b1"])
        return {"value": round(abs(s), 2), "tolerance": 0.01}

    def check(self, p, key):
        import numpy as np
        from qiskit.quantum_info import SparsePauliOp, Statevector

        singlet = Statevector(np.array([0, 1, -1, 0]) / math.sqrt(2))

        def observable(deg):
            t = math.radians(deg)
            return SparsePauliOp(["Z", "X"], [math.cos(t), math.sin(t)])

        def e(x, y):  # Alice on qubit 0 (right), Bob on qubit 1 (left)
            return float(np.real(singlet.expectation_value(observable(y) ^ observable(x))))

        s = e(p["a0"], p["b0"]) - e(p["a0"], p["b1"]) + e(p["a1"], p["b0"]) + e(p["a1"], p["b1"])
        assert abs(abs(s) - key["value"]) < 0.006
