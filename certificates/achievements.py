"""Load the achievement catalogue (``courses/achievements.yaml``).

An achievement is one certificate type qcampus awards. Each names a proficiency
level and the competencies it certifies by their ids in the competency
framework; :func:`load` checks every id through
:meth:`qcampus.framework.Framework.check_reference`, so a dangling reference is
an error when the catalogue loads. :meth:`Achievement.to_json` renders the
Open Badges 3.0 ``Achievement`` object a credential embeds.

Open Badges 3.0 strings carry one language, so the English and Japanese texts
are joined in ``name`` (``"English / 日本語"``), ``description`` and
``criteria.narrative`` (one paragraph each); ``inLanguage`` is ``en``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from certificates.errors import AchievementError
from qcampus import framework as framework_module
from qcampus.framework import Framework, FrameworkError

_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

#: How a competency alignment names its target type. The framework is neither a
#: CASE nor a CTDL-ASN publication, so the Open Badges ``ext:`` prefix applies.
COMPETENCY_TARGET_TYPE = "ext:Competency"
#: Target type of the alignment that states the proficiency level.
LEVEL_TARGET_TYPE = "ext:ProficiencyLevel"


@dataclass(frozen=True)
class Alignment:
    """A competency or level an achievement aligns to, with its names."""

    code: str
    name: dict[str, str]
    target_type: str


@dataclass(frozen=True)
class Achievement:
    """One certificate type: bilingual texts, a level and its competencies."""

    id: str
    name: dict[str, str]
    description: dict[str, str]
    criteria: dict[str, str]
    level: str
    level_name: dict[str, str]
    alignment: tuple[Alignment, ...]
    framework_id: str
    framework_name: str
    framework_url: str

    @property
    def competencies(self) -> tuple[str, ...]:
        """Return the competency ids this achievement certifies."""
        return tuple(a.code for a in self.alignment if a.target_type == COMPETENCY_TARGET_TYPE)

    def url(self, base_url: str) -> str:
        """Return the achievement's id under the issuer's public *base_url*."""
        return f"{base_url.rstrip('/')}/achievements/{self.id}"

    def to_json(self, base_url: str) -> dict[str, Any]:
        """Render the Open Badges 3.0 ``Achievement`` object.

        Args:
            base_url: The issuer's public URL (``certificates.public_url``); the
                achievement and its alignment targets are addressed under it.

        Returns:
            A JSON-ready dict with ``id``, ``type``, ``achievementType``,
            bilingual ``name``/``description``/``criteria``, ``alignment`` (one
            entry per competency plus one for the level) and ``tag``.
        """
        base = base_url.rstrip("/")
        alignment = [
            {
                "type": ["Alignment"],
                "targetName": _joined(item.name),
                "targetUrl": f"{base}/framework#{item.code}",
                "targetCode": item.code,
                "targetFramework": self.framework_name,
                "targetType": item.target_type,
            }
            for item in self.alignment
        ]
        alignment.append({
            "type": ["Alignment"],
            "targetName": f"{self.level} {_joined(self.level_name)}",
            "targetUrl": self.framework_url,
            "targetCode": self.level,
            "targetFramework": "European Competence Framework for Quantum Technologies",
            "targetType": LEVEL_TARGET_TYPE,
        })
        return {
            "id": self.url(base_url),
            "type": ["Achievement"],
            "achievementType": "Certificate",
            "name": _joined(self.name),
            "description": _paragraphs(self.description),
            "criteria": {"narrative": _paragraphs(self.criteria)},
            "alignment": alignment,
            "humanCode": self.id,
            "inLanguage": "en",
            "tag": [f"CFQT {self.level}", *self.competencies],
        }


@dataclass(frozen=True)
class Catalogue:
    """Every achievement, by id, validated against one framework."""

    achievements: dict[str, Achievement]

    def __iter__(self):
        return iter(self.achievements.values())

    def __len__(self) -> int:
        return len(self.achievements)

    def get(self, achievement_id: str) -> Achievement:
        """Return the achievement *achievement_id*.

        Raises:
            AchievementError: no such achievement; the message lists the known ids.
        """
        try:
            return self.achievements[achievement_id]
        except KeyError:
            known = ", ".join(sorted(self.achievements))
            raise AchievementError(
                f"Unknown achievement {achievement_id!r}; known achievements: {known}. "
                f"/ 実績 {achievement_id!r} は存在しません。既知の実績: {known}。"
            ) from None


def _joined(text: dict[str, str]) -> str:
    return f"{text['en']} / {text['ja']}"


def _paragraphs(text: dict[str, str]) -> str:
    return f"{text['en']}\n\n{text['ja']}"


def _bilingual(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != {"en", "ja"} \
            or not all(isinstance(v, str) and v.strip() for v in value.values()):
        raise AchievementError(f"{where} must give non-empty text in English and Japanese "
                               f"(exactly the keys en and ja).")
    return {"en": value["en"].strip(), "ja": value["ja"].strip()}


_FIELDS = {"id", "level", "name", "description", "criteria", "alignment"}


def parse(data: object, framework: Framework, origin: str = "achievements") -> Catalogue:
    """Validate parsed YAML against *framework* and build the :class:`Catalogue`.

    Raises:
        AchievementError: a field is missing, unknown or mistyped, an id repeats,
            or a level or competency id is not in the framework.
    """
    if not isinstance(data, dict) or set(data) != {"achievements"} \
            or not isinstance(data["achievements"], list) or not data["achievements"]:
        raise AchievementError(f"{origin} must be a mapping with one non-empty list 'achievements'.")
    found: dict[str, Achievement] = {}
    for number, raw in enumerate(data["achievements"], start=1):
        if not isinstance(raw, dict):
            raise AchievementError(f"{origin}: achievement #{number} must be a mapping.")
        missing, unknown = _FIELDS - set(raw), set(raw) - _FIELDS
        if missing or unknown:
            raise AchievementError(
                f"{origin}: achievement #{number} is missing {sorted(missing)} "
                f"or has unknown fields {sorted(unknown)}."
            )
        aid = raw["id"]
        if not isinstance(aid, str) or not _ID.match(aid):
            raise AchievementError(f"{origin}: achievement id {aid!r} must be lower case letters, "
                                   f"digits and hyphens, such as 'gate-engineer-b1'.")
        if aid in found:
            raise AchievementError(f"{origin}: achievement {aid!r} is defined twice.")
        where = f"{origin}: achievement {aid}"
        competencies = raw["alignment"]
        if not isinstance(competencies, list) or not competencies \
                or not all(isinstance(c, str) for c in competencies):
            raise AchievementError(f"{where}: alignment must be a non-empty list of competency ids.")
        if len(set(competencies)) != len(competencies):
            raise AchievementError(f"{where}: alignment lists a competency twice.")
        level = raw["level"]
        if not isinstance(level, str):
            raise AchievementError(f"{where}: level must be a level id such as 'B1'.")
        try:
            for cid in competencies:
                framework.check_reference(cid, level, where=f"{where} alignment")
        except FrameworkError as exc:
            raise AchievementError(exc.message) from exc
        found[aid] = Achievement(
            id=aid,
            name=_bilingual(raw["name"], f"{where} name"),
            description=_bilingual(raw["description"], f"{where} description"),
            criteria=_bilingual(raw["criteria"], f"{where} criteria"),
            level=level,
            level_name=dict(framework.levels[level].name),
            alignment=tuple(
                Alignment(cid, dict(framework.competencies[cid].name), COMPETENCY_TARGET_TYPE)
                for cid in competencies
            ),
            framework_id=framework.id,
            framework_name=framework.name["en"],
            framework_url="https://qt.eu/competence-framework",
        )
    return Catalogue(found)


def default_path() -> Path:
    """Return ``achievements.yaml`` of the courses directory beside the framework."""
    return framework_module.courses_dir() / "achievements.yaml"


def load(path: Path | None = None, framework: Framework | None = None) -> Catalogue:
    """Read and validate the achievement catalogue.

    Args:
        path: The catalogue file (default: the checkout's ``courses/achievements.yaml``).
        framework: The competency framework to check ids against (default:
            :func:`qcampus.framework.load`).

    Raises:
        AchievementError: the file cannot be read or is invalid.
    """
    path = path or default_path()
    try:
        framework = framework or framework_module.load()
    except FrameworkError as exc:
        raise AchievementError(exc.message) from exc
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AchievementError(f"Cannot read the achievement catalogue {path}: {exc.strerror}.") \
            from exc
    except yaml.YAMLError as exc:
        raise AchievementError(f"{path} is not valid YAML: {exc}") from exc
    return parse(data, framework, str(path))
