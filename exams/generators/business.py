"""Generators of the business items (bus-*): scoring matrices, NPV, payback, cost and energy
per solved instance, skill gaps and teams, with seeded business figures.

Every amount a prompt shows is drawn already rounded (million JPY with one or two decimals,
whole months, whole seconds) and every key is computed from those shown values. Each
``check`` recomputes the key another way: a year-by-year loop against an annuity formula,
exact fractions against floating point, a fine time grid against interpolation, a series
against a closed form, an assignment solver against brute force. Draws reject figures for
which a typical mistake (not reversing a lower-is-better column, discounting year 0,
forgetting the success probability, Wh against kWh) would land inside the tolerance.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Any

from exams.generators import Generator

LEVELS = ["A1", "A2", "B1", "B2", "C1", "C2"]
RANK = {level: i + 1 for i, level in enumerate(LEVELS)}


def _annuity(rate: float, years: int) -> float:
    """Present value of 1 a year for *years* years at *rate* (closed form)."""
    return (1 - (1 + rate) ** -years) / rate


def _npv_loop(flows: list[float], rate: float) -> float:
    """Net present value, year 0 undiscounted, one year at a time."""
    total = 0.0
    factor = 1.0
    for flow in flows:
        total += flow * factor
        factor /= 1 + rate
    return total


def _far(value: float, wrong: float, tolerance: float) -> bool:
    """True when a typical wrong answer falls well outside the tolerance."""
    return abs(value - wrong) > 3 * tolerance


# ---------------------------------------------------------------------------------------
# business.use-cases B1: scoring matrices and the weight at which a ranking flips
# ---------------------------------------------------------------------------------------


def _minmax(column: list[float], higher_is_better: bool) -> list[float]:
    low, high = min(column), max(column)
    return [((x - low) if higher_is_better else (high - x)) / (high - low) for x in column]


class WeightedTotal(Generator):
    """Weighted total of candidate A after min-max normalisation (value up, time and risk down)."""

    name = "bus-weighted-total"
    TOL = 0.002

    def draw(self, rng):
        while True:
            value = [rng.randrange(40, 401, 10) for _ in range(3)]
            time = [rng.choice([6, 9, 12, 18, 24, 36, 48]) for _ in range(3)]
            risk = [rng.randint(1, 5) for _ in range(3)]
            weights = [rng.randint(1, 5) for _ in range(3)]
            if min(len(set(value)), len(set(time)), len(set(risk))) < 2:
                continue
            p = {
                "va": value[0],
                "vb": value[1],
                "vc": value[2],
                "ta": time[0],
                "tb": time[1],
                "tc": time[2],
                "ra": risk[0],
                "rb": risk[1],
                "rc": risk[2],
                "wv": weights[0],
                "wt": weights[1],
                "wr": weights[2],
            }
            key = self.key(p)["value"]
            if not 0.05 < key < 0.95:
                continue
            if all(_far(key, wrong, self.TOL) for wrong in self._mistakes(p)):
                return p

    @staticmethod
    def _columns(p):
        return ([p["va"], p["vb"], p["vc"]], [p["ta"], p["tb"], p["tc"]], [p["ra"], p["rb"], p["rc"]])

    def _mistakes(self, p):
        value, time, risk = self._columns(p)
        w = [p["wv"], p["wt"], p["wr"]]
        plain = [_minmax(value, True)[0], _minmax(time, True)[0], _minmax(risk, True)[0]]
        right = [_minmax(value, True)[0], _minmax(time, False)[0], _minmax(risk, False)[0]]
        return [
            sum(wi * ni for wi, ni in zip(w, plain, strict=False)) / sum(w),  # lower-is-better not reversed
            sum(wi * ni for wi, ni in zip(w, right, strict=False)),  # weights not divided by their sum
            sum(right) / 3,  # weights ignored
        ]

    def key(self, p):
        value, time, risk = self._columns(p)
        n = [_minmax(value, True)[0], _minmax(time, False)[0], _minmax(risk, False)[0]]
        w = [p["wv"], p["wt"], p["wr"]]
        return {
            "value": sum(wi * ni for wi, ni in zip(w, n, strict=False)) / sum(w),
            "tolerance": self.TOL,
            "unit": "",
        }

    def check(self, p, key):
        value, time, risk = self._columns(p)

        def share(col, x, up):
            lo, hi = min(col), max(col)
            return Fraction(x - lo, hi - lo) if up else Fraction(hi - x, hi - lo)

        exact = (
            p["wv"] * share(value, p["va"], True)
            + p["wt"] * share(time, p["ta"], False)
            + p["wr"] * share(risk, p["ra"], False)
        ) / (p["wv"] + p["wt"] + p["wr"])
        assert abs(float(exact) - key["value"]) < 1e-12
        assert 0 <= key["value"] <= 1
        assert all(_far(key["value"], wrong, key["tolerance"]) for wrong in self._mistakes(p))


class RankingWinner(Generator):
    """Which of three candidates ranks first under stated weights (already normalised scores)."""

    name = "bus-ranking-winner"

    def draw(self, rng):
        while True:
            scores = [[rng.randrange(0, 101, 5) / 100 for _ in range(3)] for _ in range(3)]
            weights = [rng.randint(1, 6) for _ in range(3)]
            totals = [sum(w * s for w, s in zip(weights, row, strict=False)) for row in scores]
            plain = [sum(row) for row in scores]
            ordered = sorted(totals, reverse=True)
            best = totals.index(ordered[0])
            if ordered[0] - ordered[1] < 0.05 * sum(weights):
                continue
            if plain.index(max(plain)) == best or sorted(plain)[-1] == sorted(plain)[-2]:
                continue  # ignoring the weights must mislead
            p = {"wv": weights[0], "wf": weights[1], "wd": weights[2]}
            for name, row in zip("abc", scores, strict=False):
                p[f"{name}v"], p[f"{name}f"], p[f"{name}d"] = (f"{x:.2f}" for x in row)
            return p

    @staticmethod
    def _rows(p):
        return [[float(p[f"{n}{c}"]) for c in "vfd"] for n in "abc"]

    def key(self, p):
        w = [p["wv"], p["wf"], p["wd"]]
        totals = [sum(wi * s for wi, s in zip(w, row, strict=False)) / sum(w) for row in self._rows(p)]
        return "abc"[max(range(3), key=totals.__getitem__)]

    def check(self, p, key):
        w = [p["wv"], p["wf"], p["wd"]]
        hundredths = [[round(100 * s) for s in row] for row in self._rows(p)]
        integer_totals = {
            n: sum(wi * s for wi, s in zip(w, row, strict=False))
            for n, row in zip("abc", hundredths, strict=False)
        }
        winner = max(integer_totals, key=integer_totals.get)
        assert winner == key
        assert sorted(integer_totals.values())[-1] > sorted(integer_totals.values())[-2]


class FlipWeight(Generator):
    """The share of the weight on 'value' at which candidate B overtakes candidate A."""

    name = "bus-flip-weight"
    TOL = 0.01

    def draw(self, rng):
        while True:
            a = [rng.randrange(0, 101, 5) / 100 for _ in range(3)]
            b = [rng.randrange(0, 101, 5) / 100 for _ in range(3)]
            w = [rng.randint(2, 5), rng.randint(1, 4), rng.randint(1, 4)]
            p = {
                "av": a[0],
                "af": a[1],
                "ar": a[2],
                "bv": b[0],
                "bf": b[1],
                "br": b[2],
                "wv": w[0],
                "wf": w[1],
                "wr": w[2],
            }
            today = w[0] / sum(w)
            ta = sum(x * y for x, y in zip(w, a, strict=False))
            tb = sum(x * y for x, y in zip(w, b, strict=False))
            if ta <= tb + 0.03 * sum(w):  # A ahead today by a visible margin
                continue
            if not b[0] > a[0]:  # B must win on value for a flip above today
                continue
            star = self._star(p)
            if star is None or not today + 0.05 < star < 0.95:
                continue
            naive = self._naive(p)  # others' weights used as points, not shares
            if naive is not None and not _far(star, naive, self.TOL):
                continue
            shown = {k: (f"{v:.2f}" if k[0] in "ab" else v) for k, v in p.items()}
            shown["today"] = f"{today:.2f}"
            return shown

    @staticmethod
    def _num(p):
        """The scores as numbers (the prompt shows them as strings with two decimals)."""
        return {k: float(v) for k, v in p.items()}

    @classmethod
    def _star(cls, p):
        p = cls._num(p)
        w_other = p["wf"] + p["wr"]
        ra = (p["wf"] * p["af"] + p["wr"] * p["ar"]) / w_other
        rb = (p["wf"] * p["bf"] + p["wr"] * p["br"]) / w_other
        dr, dk = ra - rb, p["av"] - p["bv"]
        if dr == dk:
            return None
        return dr / (dr - dk)

    @classmethod
    def _naive(cls, p):
        p = cls._num(p)
        dr = p["wf"] * (p["af"] - p["bf"]) + p["wr"] * (p["ar"] - p["br"])
        dk = p["av"] - p["bv"]
        return None if dr == dk else dr / (dr - dk)

    def key(self, p):
        return {"value": self._star(p), "tolerance": self.TOL, "unit": ""}

    def check(self, p, key):
        p = self._num(p)

        def gap(w):
            rest = 1 - w
            others = p["wf"] + p["wr"]
            weights = [w, rest * p["wf"] / others, rest * p["wr"] / others]
            ta = sum(x * y for x, y in zip(weights, [p["av"], p["af"], p["ar"]], strict=False))
            tb = sum(x * y for x, y in zip(weights, [p["bv"], p["bf"], p["br"]], strict=False))
            return ta - tb

        lo, hi = 0.0, 1.0
        assert gap(lo) > 0 > gap(hi)
        for _ in range(60):  # bisection on the two totals
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if gap(mid) > 0 else (lo, mid)
        assert abs(lo - key["value"]) < 1e-9
        assert gap(float(p["today"])) > 0  # A is first at today's weight


class NormaliseLowerBetter(Generator):
    """Min-max normalised score of a lower-is-better criterion (months to value)."""

    name = "bus-normalise-lower"
    TOL = 0.002

    def draw(self, rng):
        while True:
            months = rng.sample([3, 6, 9, 12, 15, 18, 24, 30, 36, 48, 60], 4)
            x = months[1]
            if x in (min(months), max(months)):
                continue
            key = (max(months) - x) / (max(months) - min(months))
            if _far(key, 1 - key, self.TOL):
                return {"ma": months[0], "mb": months[1], "mc": months[2], "md": months[3]}

    def key(self, p):
        m = [p["ma"], p["mb"], p["mc"], p["md"]]
        return {"value": (max(m) - p["mb"]) / (max(m) - min(m)), "tolerance": self.TOL, "unit": ""}

    def check(self, p, key):
        m = sorted([p["ma"], p["mb"], p["mc"], p["md"]])
        # B's place between the best (fewest months: 1) and the worst (most months: 0), exactly
        exact = 1 - Fraction(p["mb"] - m[0], m[-1] - m[0])
        assert abs(float(exact) - key["value"]) < 1e-12
        assert 0 < key["value"] < 1


# ---------------------------------------------------------------------------------------
# business.metrics B1: NPV, payback, ROI, probability of value, cost and energy per instance
# ---------------------------------------------------------------------------------------


def _draw_pilot(rng, investment: tuple[int, int], running_max: int, years) -> dict[str, Any]:
    """A pilot's base case in million JPY: investment and savings in steps of 0.5 and 0.2,
    running cost in 0.1.

    Draws until year 1 (half savings minus running cost) is positive and full use saves at least 2 a year net.
    """
    while True:
        p = {
            "investment": rng.randrange(investment[0], investment[1] + 1, 5) / 10,
            "savings": rng.randrange(40, 121, 2) / 10,
            "running": rng.randrange(5, running_max + 1) / 10,
            "years": rng.choice(years),
        }
        if 0.5 * p["savings"] - p["running"] > 0 and p["savings"] - p["running"] >= 2:
            return p


def _ramp_flows(p) -> list[float]:
    """Year 0 investment; year 1 half the savings; years 2..n full savings; running cost every year."""
    flows = [-p["investment"], 0.5 * p["savings"] - p["running"]]
    flows += [p["savings"] - p["running"]] * (p["years"] - 1)
    return flows


class NpvRamp(Generator):
    """NPV in million JPY of a pilot whose savings reach half their level in year 1."""

    name = "bus-npv-ramp"
    TOL = 0.02

    def draw(self, rng):
        while True:
            p = _draw_pilot(rng, (100, 400), 25, [4, 5, 6])
            p["rate"] = rng.choice([5, 6, 7, 8, 10, 12])
            key = self.key(p)["value"]
            if abs(key) < 0.5:
                continue
            flows = _ramp_flows(p)
            r = p["rate"] / 100
            wrong = [
                key / (1 + r),  # year 0 discounted
                sum(flows),  # no discounting
                -p["investment"] + (p["savings"] - p["running"]) * _annuity(r, p["years"]),
            ]  # no ramp
            if all(_far(key, x, self.TOL) for x in wrong):
                return p

    def key(self, p):
        r, n = p["rate"] / 100, p["years"]
        # closed form: full net savings as an annuity, minus the half of year 1's savings not yet earned
        value = (
            -p["investment"] + (p["savings"] - p["running"]) * _annuity(r, n) - 0.5 * p["savings"] / (1 + r)
        )
        return {"value": value, "tolerance": self.TOL, "unit": "million JPY"}

    def check(self, p, key):
        assert abs(_npv_loop(_ramp_flows(p), p["rate"] / 100) - key["value"]) < 1e-9


class BreakEvenInvestment(Generator):
    """The largest investment for which a constant yearly net saving still gives NPV >= 0."""

    name = "bus-break-even-investment"
    TOL = 0.02

    def draw(self, rng):
        while True:
            p = {
                "net": rng.randrange(20, 101, 5) / 10,
                "years": rng.randint(3, 7),
                "rate": rng.choice([5, 6, 8, 10, 12]),
            }
            key = self.key(p)["value"]
            wrong = [
                p["net"] * p["years"],
                key / (1 + p["rate"] / 100),
                p["net"] * p["years"] / (1 + p["rate"] / 100),
            ]
            if all(_far(key, x, self.TOL) for x in wrong):
                return p

    def key(self, p):
        return {
            "value": _npv_loop([0.0] + [p["net"]] * p["years"], p["rate"] / 100),
            "tolerance": self.TOL,
            "unit": "million JPY",
        }

    def check(self, p, key):
        r = p["rate"] / 100
        assert abs(p["net"] * _annuity(r, p["years"]) - key["value"]) < 1e-9
        # at exactly that investment the NPV is zero
        assert abs(_npv_loop([-key["value"]] + [p["net"]] * p["years"], r)) < 1e-9


class Payback(Generator):
    """Simple payback period in years, interpolated inside the year it is reached."""

    name = "bus-payback"
    TOL = 0.02

    def draw(self, rng):
        while True:
            p = _draw_pilot(rng, (80, 300), 20, [6])
            value = self._payback(_ramp_flows(p))
            if value is None or value < 1.2:
                continue
            frac = value - math.floor(value)
            if 0.1 < frac < 0.9:
                return p

    @staticmethod
    def _payback(flows):
        total = flows[0]
        for t in range(1, len(flows)):
            if total + flows[t] >= 0:
                return (t - 1) + (-total) / flows[t]
            total += flows[t]
        return None

    def key(self, p):
        return {"value": self._payback(_ramp_flows(p)), "tolerance": self.TOL, "unit": "years"}

    def check(self, p, key):
        flows = _ramp_flows(p)
        steps = 20_000  # per year, money arriving evenly
        cumulative = flows[0]
        found = None
        for t in range(1, len(flows)):
            per_step = flows[t] / steps
            for s in range(steps):
                cumulative += per_step
                if cumulative >= -1e-12:
                    found = (t - 1) + (s + 1) / steps
                    break
            if found is not None:
                break
        assert found is not None and abs(found - key["value"]) < 1e-4


class Roi(Generator):
    """Undiscounted return on investment in percent over the project's years."""

    name = "bus-roi"
    TOL = 0.2

    def draw(self, rng):
        while True:
            p = _draw_pilot(rng, (100, 400), 20, [4, 5, 6])
            key = self.key(p)["value"]
            if -60 < key < 150 and abs(key) > 1:
                return p

    def key(self, p):
        flows = _ramp_flows(p)
        return {
            "value": 100 * (sum(flows[1:]) - p["investment"]) / p["investment"],
            "tolerance": self.TOL,
            "unit": "%",
        }

    def check(self, p, key):
        years = p["years"]
        saved = Fraction(str(p["savings"])) * (years - Fraction(1, 2)) - Fraction(str(p["running"])) * years
        invest = Fraction(str(p["investment"]))
        assert abs(float(100 * (saved / invest - 1)) - key["value"]) < 1e-9


class ProbabilityPositiveNpv(Generator):
    """P(NPV > 0) in percent when the yearly net saving is uniform between a low and a high figure."""

    name = "bus-p-positive-npv"
    TOL = 1.0

    def draw(self, rng):
        while True:
            p = {
                "investment": rng.randrange(100, 401, 10) / 10,
                "low": rng.randrange(10, 41, 5) / 10,
                "years": rng.choice([4, 5, 6]),
                "rate": rng.choice([5, 6, 8, 10]),
            }
            p["high"] = round(p["low"] + rng.randrange(30, 81, 5) / 10, 1)
            key = self.key(p)["value"]
            if not 8 < key < 92:
                continue
            even = p["investment"] / p["years"]  # break-even without discounting
            undiscounted = 100 * min(1.0, max(0.0, (p["high"] - even) / (p["high"] - p["low"])))
            if _far(key, undiscounted, self.TOL):
                return p

    def key(self, p):
        breakeven = p["investment"] / _annuity(p["rate"] / 100, p["years"])
        share = (p["high"] - breakeven) / (p["high"] - p["low"])
        return {"value": 100 * min(1.0, max(0.0, share)), "tolerance": self.TOL, "unit": "%"}

    def check(self, p, key):
        points = 20_001  # midpoints of a fine grid of yearly savings
        width = (p["high"] - p["low"]) / points
        positive = 0
        for i in range(points):
            saving = p["low"] + (i + 0.5) * width
            if _npv_loop([-p["investment"]] + [saving] * p["years"], p["rate"] / 100) > 0:
                positive += 1
        assert abs(100 * positive / points - key["value"]) < 0.02


class SpreadsheetNpv(Generator):
    """A colleague's =NPV(rate, C0..Cn) discounted the investment too; the right NPV in million JPY."""

    name = "bus-spreadsheet-npv"
    TOL = 0.02

    def draw(self, rng):
        while True:
            p = _draw_pilot(rng, (100, 300), 15, [5])
            p["rate"] = rng.choice([6, 8, 10, 12])
            flows = _ramp_flows(p)
            r = p["rate"] / 100
            right = _npv_loop(flows, r)
            shown = round(right / (1 + r), 2)  # what the spreadsheet printed
            if abs(shown) < 0.5 or not _far(right, shown, self.TOL):
                continue
            p["sheet"] = f"{shown:.2f}"
            p["c1"] = f"{flows[1]:.1f}"
            p["c2"] = f"{flows[2]:.1f}"
            return p

    def key(self, p):
        return {
            "value": _npv_loop(_ramp_flows(p), p["rate"] / 100),
            "tolerance": self.TOL,
            "unit": "million JPY",
        }

    def check(self, p, key):
        r = p["rate"] / 100
        # the spreadsheet result times (1 + r) undoes the extra year of discounting
        assert abs(float(p["sheet"]) * (1 + r) - key["value"]) < 0.0075
        spreadsheet = sum(c / (1 + r) ** (t + 1) for t, c in enumerate(_ramp_flows(p)))
        assert abs(spreadsheet - float(p["sheet"])) <= 0.005 + 1e-9


class CostPerSolved(Generator):
    """Cost in JPY per solved instance: a classical and a billed QPU step, over the success rate."""

    name = "bus-cost-per-solved"
    TOL = 0.6

    def draw(self, rng):
        while True:
            p = {
                "server_hour": rng.choice([40, 60, 80, 100, 120]),  # JPY per hour
                "server_s": rng.randrange(20, 121, 10),
                "qpu_price": rng.choice([100, 150, 200, 250, 300]),  # JPY per second
                "qpu_s": rng.choice([0.1, 0.2, 0.3, 0.4, 0.5]),
                "success": rng.choice([0.2, 0.25, 0.3, 0.4, 0.5, 0.6]),
            }
            attempt = p["server_hour"] * p["server_s"] / 3600 + p["qpu_price"] * p["qpu_s"]
            key = attempt / p["success"]
            if (
                _far(key, attempt, self.TOL)
                and _far(key, attempt * p["success"], self.TOL)
                and _far(key, p["qpu_price"] * p["qpu_s"] / p["success"], self.TOL)
            ):
                return p

    def key(self, p):
        attempt = p["server_hour"] * p["server_s"] / 3600 + p["qpu_price"] * p["qpu_s"]
        return {"value": attempt / p["success"], "tolerance": self.TOL, "unit": "JPY"}

    def check(self, p, key):
        attempt = p["server_hour"] / 3600 * p["server_s"] + p["qpu_s"] * p["qpu_price"]
        # expected number of attempts of a geometric distribution, summed term by term
        q = 1 - p["success"]
        expected_attempts = sum(k * p["success"] * q ** (k - 1) for k in range(1, 2000))
        assert abs(attempt * expected_attempts - key["value"]) < 1e-6


class EnergyPerSolved(Generator):
    """Energy in Wh per solved instance: server step and annealer system step, divided by the success rate."""

    name = "bus-energy-per-solved"
    TOL = 0.1

    def draw(self, rng):
        while True:
            p = {
                "server_kw": rng.choice([0.3, 0.4, 0.5, 0.6]),
                "server_s": rng.randrange(20, 121, 10),
                "qpu_kw": rng.choice([15, 20, 25, 30]),
                "qpu_s": rng.choice([0.1, 0.2, 0.3, 0.4, 0.5]),
                "success": rng.choice([0.2, 0.25, 0.4, 0.5]),
            }
            key = self.key(p)["value"]
            attempt = key * p["success"]
            qpu_only = p["qpu_kw"] * 1000 * p["qpu_s"] / 3600 / p["success"]
            if key < 2:
                continue
            if all(_far(key, x, self.TOL) for x in (attempt, qpu_only, key / 1000)):
                return p

    def key(self, p):
        kwh = (p["server_kw"] * p["server_s"] + p["qpu_kw"] * p["qpu_s"]) / 3600 / p["success"]
        return {"value": 1000 * kwh, "tolerance": self.TOL, "unit": "Wh"}

    def check(self, p, key):
        joules = (p["server_kw"] * 1000 * p["server_s"] + p["qpu_kw"] * 1000 * p["qpu_s"]) / p["success"]
        assert abs(joules / 3600 - key["value"]) < 1e-9  # 1 Wh = 3600 J


class Co2PerYear(Generator):
    """kg CO2 a year saved by the platform with the lower energy per solved instance."""

    name = "bus-co2-per-year"
    TOL = 0.1

    def draw(self, rng):
        while True:
            p = {
                "wh_a": rng.randrange(50, 401, 5) / 10,
                "wh_b": rng.randrange(50, 401, 5) / 10,
                "per_day": rng.choice([10, 20, 24, 40, 50, 100]),
                "factor": rng.choice([0.42, 0.44, 0.45, 0.47, 0.5]),
            }
            key = self.key(p)["value"]
            if abs(p["wh_a"] - p["wh_b"]) < 5 or key < 1:
                continue
            if _far(key, key * 1000, self.TOL) and _far(key, key / 365, self.TOL):
                return p

    def key(self, p):
        kwh = abs(p["wh_a"] - p["wh_b"]) * p["per_day"] * 365 / 1000
        return {"value": kwh * p["factor"], "tolerance": self.TOL, "unit": "kg CO2"}

    def check(self, p, key):
        grams_a = p["wh_a"] / 1000 * p["factor"] * 1000  # g CO2 per instance
        grams_b = p["wh_b"] / 1000 * p["factor"] * 1000
        assert abs(abs(grams_a - grams_b) * p["per_day"] * 365 / 1000 - key["value"]) < 1e-9


# ---------------------------------------------------------------------------------------
# business.team-building B1: skill gaps, fit scores and the best assignment
# ---------------------------------------------------------------------------------------

# The quantum-aware business lead's profile in courses/framework.yaml (section roles)
LEAD = {
    "concepts.qubits": "A1",
    "business.use-cases": "B1",
    "business.metrics": "B1",
    "business.ip-and-regulation": "B1",
    "business.team-building": "B1",
    "security.post-quantum": "A2",
    "hardware.enabling-technologies": "A1",
}
LEAD_KEYS = ["qubits", "usecases", "metrics", "ip", "team", "pq", "enabling"]
# The post-quantum security migration lead's profile in courses/framework.yaml
MIGRATION = {
    "security.post-quantum": "B2",
    "security.cryptanalysis": "B1",
    "security.qkd": "A2",
    "business.ip-and-regulation": "A2",
}
MIGRATION_KEYS = ["pq", "crypt", "qkd", "ip"]
#: How a table shows a competency that was never assessed (rank 0)
NOT_ASSESSED = "\u2013"


def _assessed(p, keys):
    return [None if p[k] == NOT_ASSESSED else p[k] for k in keys]


class SkillGapTotal(Generator):
    """Total missing level steps of a candidate against the quantum-aware business lead profile."""

    name = "bus-skill-gap-total"

    def draw(self, rng):
        required = list(LEAD.values())
        while True:
            levels = [rng.choice([NOT_ASSESSED, "A1", "A2", "A2", "B1", "B1", "B2", "C1"]) for _ in required]
            above = sum(
                1 for a, r in zip(levels, required, strict=False) if a != NOT_ASSESSED and RANK[a] > RANK[r]
            )
            missing = sum(
                1 for a, r in zip(levels, required, strict=False) if a == NOT_ASSESSED and RANK[r] > 1
            )
            gaps = sum(
                max(0, RANK[r] - (0 if a == NOT_ASSESSED else RANK[a]))
                for a, r in zip(levels, required, strict=False)
            )
            if above >= 1 and missing >= 1 and 3 <= gaps <= 10:
                return dict(zip(LEAD_KEYS, levels, strict=False))

    def key(self, p):
        gaps = [
            max(0, RANK[r] - (0 if a is None else RANK[a]))
            for a, r in zip(_assessed(p, LEAD_KEYS), LEAD.values(), strict=False)
        ]
        return {"value": sum(gaps), "tolerance": 0, "unit": "level steps"}

    def check(self, p, key):
        required = [RANK[r] for r in LEAD.values()]
        have = [0 if a is None else RANK[a] for a in _assessed(p, LEAD_KEYS)]
        # required steps minus the steps the candidate covers (capped at the requirement)
        assert sum(required) - sum(min(h, r) for h, r in zip(have, required, strict=False)) == key["value"]
        # the typical mistakes: surplus offsets a gap; a missing assessment counted as A1
        net = sum(r - h for h, r in zip(have, required, strict=False))
        as_a1 = sum(max(0, r - max(h, 1)) for h, r in zip(have, required, strict=False))
        assert net != key["value"] and as_a1 != key["value"]


class FitScore(Generator):
    """Fit score in percent of a candidate for the post-quantum security migration lead."""

    name = "bus-fit-score"
    TOL = 0.1

    def draw(self, rng):
        required = list(MIGRATION.values())
        while True:
            levels = [rng.choice([NOT_ASSESSED, "A1", "A2", "B1", "B1", "B2", "C1"]) for _ in required]
            above = sum(
                1 for a, r in zip(levels, required, strict=False) if a != NOT_ASSESSED and RANK[a] > RANK[r]
            )
            gaps = sum(
                max(0, RANK[r] - (0 if a == NOT_ASSESSED else RANK[a]))
                for a, r in zip(levels, required, strict=False)
            )
            if above >= 1 and 2 <= gaps <= 7:
                return dict(zip(MIGRATION_KEYS, levels, strict=False))

    def key(self, p):
        required = sum(RANK[r] for r in MIGRATION.values())
        missing = sum(
            max(0, RANK[r] - (0 if a is None else RANK[a]))
            for a, r in zip(_assessed(p, MIGRATION_KEYS), MIGRATION.values(), strict=False)
        )
        return {"value": 100 * (1 - missing / required), "tolerance": self.TOL, "unit": "%"}

    def check(self, p, key):
        have = [0 if a is None else RANK[a] for a in _assessed(p, MIGRATION_KEYS)]
        required = [RANK[r] for r in MIGRATION.values()]
        covered = Fraction(sum(min(h, r) for h, r in zip(have, required, strict=False)), sum(required))
        assert abs(float(100 * covered) - key["value"]) < 1e-9
        uncapped = 100 * min(1.0, sum(have) / sum(required))
        assert _far(key["value"], uncapped, key["tolerance"])


PEOPLE = ["Ito", "Kato", "Mori"]
ROLES3 = ["lead", "analyst", "engineer"]
# The six ways to give three roles (lead, analyst, engineer) to three people, as options a..f
ASSIGNMENTS = list(itertools.permutations(PEOPLE))


class BestTeam(Generator):
    """Which assignment of three people to three roles has the largest total fit (greedy misses it)."""

    name = "bus-best-team"

    def draw(self, rng):
        while True:
            fit = {person: [rng.randrange(30, 96, 5) for _ in ROLES3] for person in PEOPLE}
            totals = [sum(fit[person][j] for j, person in enumerate(a)) for a in ASSIGNMENTS]
            best = max(totals)
            if totals.count(best) > 1:
                continue
            free, greedy = set(PEOPLE), []
            for j in range(3):  # role by role, best free person first
                pick = max(sorted(free), key=lambda person: fit[person][j])
                if sorted(fit[x][j] for x in free).count(fit[pick][j]) > 1:
                    break  # avoid ties in the shortcut
                greedy.append(pick)
                free.discard(pick)
            if len(greedy) < 3 or tuple(greedy) == ASSIGNMENTS[totals.index(best)]:
                continue
            return {
                f"{person.lower()}_{role}": fit[person][j]
                for person in PEOPLE
                for j, role in enumerate(ROLES3)
            }

    def key(self, p):
        totals = [sum(p[f"{person.lower()}_{ROLES3[j]}"] for j, person in enumerate(a)) for a in ASSIGNMENTS]
        return "abcdef"[totals.index(max(totals))]

    def check(self, p, key):
        from scipy.optimize import linear_sum_assignment

        cost = [[-p[f"{person.lower()}_{role}"] for role in ROLES3] for person in PEOPLE]
        rows, cols = linear_sum_assignment(cost)
        chosen = [None] * 3
        for i, j in zip(rows, cols, strict=False):
            chosen[j] = PEOPLE[i]
        assert "abcdef"[ASSIGNMENTS.index(tuple(chosen))] == key
