"""The quality of an exam, from its candidates' answers: items, forms, scores and fairness.

``qcampus exam analyze EXAM --responses FILE`` reads attempts (one JSON object
per line: ``candidate``, ``language``, ``seed``, ``answers`` by item id), redraws
each candidate's form from its seed — the file never says which items were
asked — and scores Part A with :mod:`exams.scoring`, an unanswered item as
wrong. It reports per item the facility, the corrected point-biserial and the
upper–lower discrimination, how often each option was chosen by the upper and
lower 27 %, a two-parameter IRT calibration and the Mantel–Haenszel DIF between
Japanese and English candidates (ETS delta); per exam the marginal reliability,
KR-20 of every form sat by enough candidates, the scaled scores and pass rate,
and how hard the forms drawn by different seeds are at the cut. Items are
flagged with the reason an examiner should look at them.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exams import forms, irt, scoring
from exams.bank import Item
from exams.catalog import Exam
from exams.errors import ExamError

#: Share of candidates in each of the upper and lower groups (Kelley's 27 %).
GROUP_SHARE = 0.27
#: Candidates a form needs before its KR-20 is reported.
KR20_MINIMUM = 30
#: Flags: an item outside these is shown to examiners with the reason.
FACILITY_RANGE = (0.15, 0.95)
MIN_POINT_BISERIAL = 0.15
DIF_DELTA = 1.5
#: Seeds whose forms are compared for difficulty at the cut.
FORM_SEEDS = range(200)


@dataclass
class ItemStats:
    """Statistics of one item over the candidates who were asked it."""

    item: str
    competency: str
    level: str
    expected: str
    asked: int = 0
    facility: float = math.nan
    point_biserial: float = math.nan
    upper_lower: float = math.nan
    irt_a: float = math.nan
    irt_b: float = math.nan
    dif_delta: float = math.nan
    options: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)


@dataclass
class Analysis:
    """Everything the report shows."""

    exam: str
    candidates: int
    items: list[ItemStats]
    scaled: np.ndarray
    theta: np.ndarray
    passed: np.ndarray
    marginal_reliability: float
    kr20: dict[int, float]
    cut_theta: float
    form_difficulty: list[float]
    languages: dict[str, int]


def read_attempts(path: Path) -> list[dict[str, Any]]:
    """Read the attempts file (JSON lines); raise :class:`ExamError` naming a bad line."""
    attempts = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            attempt = json.loads(line)
            if not isinstance(attempt.get("answers"), dict) or not isinstance(attempt["seed"], int):
                raise ValueError("needs an integer seed and answers by item id")
        except (ValueError, KeyError, AttributeError) as exc:
            raise ExamError(f"{path}:{number}: not an attempt ({exc}); each line is "
                            '{"candidate": …, "language": "en"|"ja", "seed": N, "answers": {…}}.'
                            ) from exc
        attempts.append(attempt)
    if not attempts:
        raise ExamError(f"{path} holds no attempts.")
    return attempts


def score_matrix(exam: Exam, items: dict[str, Item], attempts: list[dict[str, Any]]):
    """Return the Part A item ids, and candidates × items scores, asked-flags and answers."""
    part = exam.part("A")
    slots = [[s for s in forms.draw(exam, items, a["seed"]) if s.part == part.id] for a in attempts]
    ids = sorted({s.item for form in slots for s in form})
    column = {item_id: index for index, item_id in enumerate(ids)}
    scores = np.zeros((len(attempts), len(ids)))
    seen = np.zeros_like(scores)
    answers: list[dict[str, Any]] = []
    for row, (attempt, form) in enumerate(zip(attempts, slots, strict=True)):
        given = {}
        for slot in form:
            answer = attempt["answers"].get(slot.item)
            seen[row, column[slot.item]] = 1
            scores[row, column[slot.item]] = scoring.points(items[slot.item], slot.seed, answer) \
                / items[slot.item].points
            given[slot.item] = answer
        answers.append(given)
    return ids, scores, seen, answers


def analyse(exam: Exam, items: dict[str, Item], attempts: list[dict[str, Any]]) -> Analysis:
    """Compute every statistic of the report from *attempts* at *exam*."""
    ids, scores, seen, answers = score_matrix(exam, items, attempts)
    raw = (scores * seen).sum(1) / np.maximum(seen.sum(1), 1)
    calibration = irt.calibrate(scores, seen)
    theta, se = irt.abilities(scores, seen, calibration.a, calibration.b)
    scale = exam.scoring["scale"]
    if exam.scoring["method"] == "irt-2pl":
        # The ability whose expected share of a typical form is the linear cut maps to the cut.
        scaled = _irt_scaled(theta, calibration, exam)
    else:
        scaled = np.round(scale * raw)
    passed = scaled >= exam.scoring["cut_score"]
    cut_theta = irt.theta_for_fraction(exam.scoring["cut_score"] / scale, calibration.a,
                                       calibration.b)
    upper, lower = _groups(raw)
    languages = [a.get("language", "en") for a in attempts]
    stats = []
    for index, item_id in enumerate(ids):
        item = items[item_id]
        asked = seen[:, index] == 1
        s = ItemStats(item_id, item.competency, item.level, item.difficulty, int(asked.sum()))
        if s.asked:
            right = scores[asked, index]
            s.facility = float(right.mean())
            rest = (scores[asked] * seen[asked]).sum(1) - right
            s.point_biserial = _correlation(right, rest)
            s.upper_lower = _share(scores[:, index], asked & upper) - \
                _share(scores[:, index], asked & lower)
            s.irt_a, s.irt_b = float(calibration.a[index]), float(calibration.b[index])
            s.dif_delta = _mantel_haenszel(right, rest, np.array(languages)[asked])
            s.options = _options(item, [answers[r].get(item_id) for r in np.flatnonzero(asked)],
                                 upper[asked], lower[asked])
        s.flags = _flags(item, s)
        stats.append(s)
    kr20 = _kr20_by_form(attempts, scores, seen)
    difficulty = _form_difficulty(exam, items, ids, calibration, cut_theta)
    return Analysis(exam.id, len(attempts), stats, scaled, theta, passed,
                    irt.marginal_reliability(theta, se), kr20, cut_theta, difficulty,
                    {lang: languages.count(lang) for lang in sorted(set(languages))})


def _irt_scaled(theta: np.ndarray, calibration: irt.Calibration, exam: Exam) -> np.ndarray:
    scale, cut = exam.scoring["scale"], exam.scoring["cut_score"]
    cut_theta = irt.theta_for_fraction(cut / scale, calibration.a, calibration.b)
    # 100 scale points per standard deviation of ability, the cut kept where it is.
    return np.clip(np.round(cut + 100 * (theta - cut_theta) * scale / 1000), 0, scale)


def _groups(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(raw, kind="stable")
    size = max(1, int(round(GROUP_SHARE * len(raw))))
    lower, upper = np.zeros(len(raw), bool), np.zeros(len(raw), bool)
    lower[order[:size]], upper[order[-size:]] = True, True
    return upper, lower


def _share(values: np.ndarray, mask: np.ndarray) -> float:
    return float(values[mask].mean()) if mask.any() else math.nan


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def _mantel_haenszel(right: np.ndarray, rest: np.ndarray, language: np.ndarray) -> float:
    """Return the ETS delta (−2.35 ln α_MH) of Japanese (focal) against English (reference).

    Candidates are matched on their score on the other items. Only a difference ETS
    calls large (category C: |Δ| ≥ 1.5 and significantly above 1.0, with the
    Robins–Breslow–Greenland variance) is returned; a smaller or uncertain one is 0.
    """
    sums = dict.fromkeys(("R", "S", "PR", "PS_QR", "QS"), 0.0)
    for level in np.unique(rest):
        stratum = rest == level
        ref, focal = stratum & (language == "en"), stratum & (language == "ja")
        n = stratum.sum()
        if not ref.any() or not focal.any():
            continue
        a, b = right[ref].sum(), (1 - right[ref]).sum()
        c, d = right[focal].sum(), (1 - right[focal]).sum()
        p, q, r, s_ = (a + d) / n, (b + c) / n, a * d / n, b * c / n
        sums["R"] += r
        sums["S"] += s_
        sums["PR"] += p * r
        sums["PS_QR"] += p * s_ + q * r
        sums["QS"] += q * s_
    if sums["R"] == 0 or sums["S"] == 0:
        return math.nan
    delta = -2.35 * math.log(sums["R"] / sums["S"])
    variance = (sums["PR"] / (2 * sums["R"] ** 2) + sums["PS_QR"] / (2 * sums["R"] * sums["S"])
                + sums["QS"] / (2 * sums["S"] ** 2))
    error = 2.35 * math.sqrt(variance)
    large = abs(delta) >= DIF_DELTA and abs(delta) - 1.0 >= 1.96 * error
    return float(delta) if large else 0.0


def _options(item: Item, given: list[Any], upper: np.ndarray,
             lower: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """Return per option: the share choosing it overall, in the upper and in the lower group."""
    if item.type not in ("single", "multiple"):
        return {}
    chosen = [set(g) if isinstance(g, list) else {g} for g in given]
    found = {}
    for option in [o["id"] for o in item.options] + ["(blank)"]:
        picks = np.array([(option in c) if option != "(blank)" else (c == {None}) for c in chosen])
        found[option] = (float(picks.mean()) if len(picks) else math.nan,
                         _share(picks, upper), _share(picks, lower))
    return found


def _flags(item: Item, s: ItemStats) -> list[str]:
    flags = []
    if not s.asked:
        return ["never asked"]
    if s.facility < FACILITY_RANGE[0]:
        flags.append(f"very hard: {s.facility:.0%} right; check the key and the wording")
    if s.facility > FACILITY_RANGE[1]:
        flags.append(f"very easy: {s.facility:.0%} right; it hardly separates candidates")
    if not math.isnan(s.point_biserial) and s.point_biserial < MIN_POINT_BISERIAL:
        flags.append(f"low discrimination (r_pb {s.point_biserial:.2f}): strong candidates do "
                     "not do better on it; check the key")
    if not math.isnan(s.dif_delta) and abs(s.dif_delta) >= DIF_DELTA:
        side = "Japanese" if s.dif_delta < 0 else "English"
        flags.append(f"DIF: harder for {side} candidates of equal ability (Δ_MH {s.dif_delta:.1f}); "
                     "compare the two languages' wording")
    key = item.key if item.type == "single" and not item.parameters else None
    for option, (_, up, low) in s.options.items():
        if option in (key, "(blank)") or key is None or math.isnan(up) or math.isnan(low):
            continue
        if up > low + 0.05:
            flags.append(f"distractor {option} attracts the upper group more than the lower "
                         f"({up:.0%} vs {low:.0%}): it may be right, or the key ambiguous")
    return flags


def _kr20_by_form(attempts, scores, seen) -> dict[int, float]:
    """Return KR-20 of every form (seed) sat by at least :data:`KR20_MINIMUM` candidates."""
    by_seed: dict[int, list[int]] = defaultdict(list)
    for row, attempt in enumerate(attempts):
        by_seed[attempt["seed"]].append(row)
    found = {}
    for seed, rows in by_seed.items():
        if len(rows) < KR20_MINIMUM:
            continue
        columns = seen[rows[0]] == 1
        block = scores[np.ix_(rows, np.flatnonzero(columns))]
        k = block.shape[1]
        variance = block.sum(1).var(ddof=1)
        if k > 1 and variance > 0:
            p = block.mean(0)
            found[seed] = float(k / (k - 1) * (1 - (p * (1 - p)).sum() / variance))
    return found


def _form_difficulty(exam, items, ids, calibration, cut_theta) -> list[float]:
    """Return, per form of :data:`FORM_SEEDS`, the expected share of points at the cut ability."""
    column = {item_id: index for index, item_id in enumerate(ids)}
    shares = []
    for seed in FORM_SEEDS:
        drawn = [column[s.item] for s in forms.draw(exam, items, seed)
                 if s.part == "A" and s.item in column]
        if drawn:
            shares.append(irt.expected_fraction(cut_theta, calibration.a[drawn],
                                                calibration.b[drawn]))
    return shares


def write_report(analysis: Analysis, folder: Path) -> list[Path]:
    """Write ``items.csv``, ``options.csv`` and ``report.html`` (plots inline) into *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    items_csv, options_csv = folder / "items.csv", folder / "options.csv"
    page = folder / "report.html"
    with items_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", "competency", "level", "expected", "asked", "facility",
                         "point_biserial", "upper_lower", "irt_a", "irt_b", "dif_delta", "flags"])
        for s in analysis.items:
            writer.writerow([s.item, s.competency, s.level, s.expected, s.asked,
                             *(_number(v) for v in (s.facility, s.point_biserial, s.upper_lower,
                                                    s.irt_a, s.irt_b, s.dif_delta)),
                             "; ".join(s.flags)])
    with options_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", "option", "share", "upper", "lower"])
        for s in analysis.items:
            for option, values in s.options.items():
                writer.writerow([s.item, option, *(_number(v) for v in values)])
    page.write_text(report_html(analysis), encoding="utf-8")
    return [items_csv, options_csv, page]


def _number(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.4f}"


def report_html(analysis: Analysis) -> str:
    """Return the report as one HTML page, its plots inline."""
    flagged = [s for s in analysis.items if s.flags]
    rows = "".join(
        f"<tr><td>{html.escape(s.item)}</td><td>{s.competency} {s.level}</td><td>{s.asked}</td>"
        f"<td>{_number(s.facility)}</td><td>{_number(s.point_biserial)}</td>"
        f"<td>{_number(s.irt_a)}</td><td>{_number(s.irt_b)}</td>"
        f"<td>{html.escape('; '.join(s.flags))}</td></tr>" for s in analysis.items)
    kr20 = ", ".join(f"{v:.2f}" for v in analysis.kr20.values()) or "no form sat by 30 candidates"
    difficulty = np.array(analysis.form_difficulty)
    languages = ", ".join(f"{k}: {v}" for k, v in analysis.languages.items())
    spread = (f"{difficulty.mean():.3f} ± {difficulty.std():.3f} (min {difficulty.min():.3f}, "
              f"max {difficulty.max():.3f})") if len(difficulty) else "n/a"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{analysis.exam}: exam analysis / 試験分析</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;font-size:90%}}</style></head><body>
<h1>{analysis.exam}: exam analysis / 試験分析</h1>
<ul>
<li>Candidates / 受験者数: {analysis.candidates} ({languages})</li>
<li>Pass rate / 合格率: {analysis.passed.mean():.1%}</li>
<li>Marginal reliability (IRT) / 周辺信頼性: {analysis.marginal_reliability:.3f}</li>
<li>KR-20 per form / フォームごとの KR-20: {kr20}</li>
<li>Ability at the cut / 合格点に当たる能力値 θ: {analysis.cut_theta:.2f}</li>
<li>Expected share at the cut over {len(difficulty)} forms /
合格点の受験者が各フォームで得る期待得点率: {spread}</li>
<li>Flagged items / 要確認項目: {len(flagged)} of {len(analysis.items)}</li>
</ul>
<h2>Figures / 図</h2>
{_figures(analysis)}
<h2>Items / 項目</h2>
<table><tr><th>item</th><th>competency</th><th>asked</th><th>facility</th><th>r_pb</th>
<th>a</th><th>b</th><th>flags</th></tr>{rows}</table>
</body></html>
"""


def _figures(analysis: Analysis) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    facility = [s.facility for s in analysis.items]
    discrimination = [s.point_biserial for s in analysis.items]
    axes[0].scatter(facility, discrimination, s=12)
    axes[0].axhline(MIN_POINT_BISERIAL, color="red", linewidth=0.8)
    axes[0].set(xlabel="facility (share right)", ylabel="corrected point-biserial",
                title="Items")
    axes[1].hist(analysis.scaled, bins=25)
    axes[1].set(xlabel="scaled score", ylabel="candidates", title="Scores")
    axes[2].hist(analysis.form_difficulty, bins=20)
    axes[2].set(xlabel="expected share of points at the cut", ylabel="forms",
                title="Form difficulty across seeds")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="item, score and form plots" src="data:image/png;base64,{data}">'
