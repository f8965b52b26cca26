"""Load and validate the competency framework (``courses/framework.yaml``).

The framework is the spine of qcampus: course notebooks, exam items and
certificate achievements name competencies and proficiency levels by id.
:func:`load` validates the file; :meth:`Framework.check_reference` is what every
other loader calls, so a dangling id is an error at load time, in the tests,
never a surprise at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from qcampus.errors import QcampusError

LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")
_ID = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)?$")


class FrameworkError(QcampusError):
    """The framework file, or a reference to it, is invalid."""

    exit_code = 6


@dataclass(frozen=True)
class Level:
    id: str
    name: dict[str, str]
    description: dict[str, str]


@dataclass(frozen=True)
class Competency:
    id: str
    domain: str
    name: dict[str, str]


@dataclass(frozen=True)
class Framework:
    """The validated competency framework."""

    id: str
    version: int
    name: dict[str, str]
    levels: dict[str, Level] = field(default_factory=dict)
    domains: dict[str, dict[str, str]] = field(default_factory=dict)
    competencies: dict[str, Competency] = field(default_factory=dict)

    def check_reference(self, competency: str, level: str | None = None, *, where: str) -> None:
        """Raise :class:`FrameworkError` naming *where* unless the ids exist.

        Args:
            competency: A competency id such as ``gate.circuits``.
            level: A proficiency level id (``A1`` … ``C2``), or None.
            where: Who refers to it (a file and field), shown in the error.
        """
        if competency not in self.competencies:
            raise FrameworkError(
                f"{where} refers to unknown competency {competency!r}; add it to "
                f"courses/framework.yaml or use one of: {', '.join(sorted(self.competencies))}."
            )
        if level is not None and level not in self.levels:
            raise FrameworkError(
                f"{where} refers to unknown level {level!r}; levels are {', '.join(LEVELS)}."
            )


def _bilingual(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not isinstance(value.get("en"), str) \
            or not isinstance(value.get("ja"), str):
        raise FrameworkError(f"{where} must give text in English and Japanese (keys en and ja).")
    return {"en": value["en"], "ja": value["ja"]}


def parse(data: object, origin: str = "framework") -> Framework:
    """Validate parsed YAML and build a :class:`Framework`."""
    if not isinstance(data, dict):
        raise FrameworkError(f"{origin} must be a mapping.")
    try:
        levels: dict[str, Level] = {}
        for raw in data["levels"]:
            level = Level(raw["id"], _bilingual(raw["name"], f"{origin}: level {raw['id']} name"),
                          _bilingual(raw["description"], f"{origin}: level {raw['id']} description"))
            levels[level.id] = level
        if tuple(levels) != LEVELS:
            raise FrameworkError(f"{origin} must list the levels {', '.join(LEVELS)} in order.")
        domains: dict[str, dict[str, str]] = {}
        competencies: dict[str, Competency] = {}
        for raw_domain in data["domains"]:
            did = raw_domain["id"]
            if did in domains:
                raise FrameworkError(f"{origin}: domain {did!r} is defined twice.")
            domains[did] = _bilingual(raw_domain["name"], f"{origin}: domain {did} name")
            for raw in raw_domain["competencies"]:
                cid = raw["id"]
                if not _ID.match(cid) or not cid.startswith(did + "."):
                    raise FrameworkError(
                        f"{origin}: competency id {cid!r} must look like '{did}.<name>' "
                        f"(lower case letters, digits and hyphens)."
                    )
                if cid in competencies:
                    raise FrameworkError(f"{origin}: competency {cid!r} is defined twice.")
                competencies[cid] = Competency(cid, did, _bilingual(raw["name"], f"{origin}: {cid}"))
        return Framework(id=data["id"], version=int(data["version"]),
                         name=_bilingual(data["name"], f"{origin}: name"),
                         levels=levels, domains=domains, competencies=competencies)
    except (KeyError, TypeError) as exc:
        raise FrameworkError(f"{origin} is missing or mistypes the field {exc}.") from exc


def courses_dir() -> Path:
    """Return the courses directory: the checkout's, else the deployment's ``courses.source``.

    An editable install runs from the checkout, which holds ``courses/``; a
    regular install (used when learners cannot read the checkout) finds it
    through the deployment's settings, where ``qcampus init`` recorded it.
    """
    checkout = Path(__file__).resolve().parents[1] / "courses"
    if (checkout / "framework.yaml").is_file():
        return checkout
    from qcampus import settings

    return settings.load().courses_source


def default_path() -> Path:
    """Return ``framework.yaml`` of the courses directory (see :func:`courses_dir`)."""
    return courses_dir() / "framework.yaml"


def load(path: Path | None = None) -> Framework:
    """Read and validate the framework file at *path* (default: the checkout's)."""
    path = path or default_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FrameworkError(f"Cannot read the competency framework {path}: {exc.strerror}.") from exc
    except yaml.YAMLError as exc:
        raise FrameworkError(f"{path} is not valid YAML: {exc}") from exc
    return parse(data, str(path))
