"""Load and validate the competency framework (``courses/framework.yaml``) and the glossary.

The framework is the spine of qcampus: course notebooks, exam items and
certificate achievements name competency descriptors (a competency at a
proficiency level) by id. It follows the European Competence Framework for
Quantum Technologies: three areas, each with its own scale A1 … C2, domains
within them, and role profiles. :func:`load` validates the file against its
JSON Schema; :meth:`Framework.check_reference` is what every other loader calls,
so a dangling id or a level nobody described is an error at load time, in the
tests, never a surprise at run time. The bilingual glossary
(``courses/glossary.yaml``) is checked against the framework the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from qcampus import schemas
from qcampus.errors import QcampusError

LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")


class FrameworkError(QcampusError):
    """The framework or glossary file, or a reference to the framework, is invalid."""

    exit_code = 6


@dataclass(frozen=True)
class Level:
    id: str
    name: dict[str, str]
    description: dict[str, str]


@dataclass(frozen=True)
class Area:
    """A CFQT proficiency area with what each level means in it."""

    id: str
    name: dict[str, str]
    description: dict[str, str]
    scale: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Competency:
    id: str
    domain: str
    name: dict[str, str]
    area: str = ""
    #: Level id to the bilingual descriptor of what a learner at that level can do.
    descriptors: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Role:
    """A role profile: the level it needs per area and the descriptors it relies on."""

    id: str
    name: dict[str, str]
    description: dict[str, str]
    areas: dict[str, str] = field(default_factory=dict)
    competencies: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Framework:
    """The validated competency framework."""

    id: str
    version: int
    name: dict[str, str]
    levels: dict[str, Level] = field(default_factory=dict)
    domains: dict[str, dict[str, str]] = field(default_factory=dict)
    competencies: dict[str, Competency] = field(default_factory=dict)
    areas: dict[str, Area] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    aligned_to: dict[str, str] = field(default_factory=dict)

    def check_reference(self, competency: str, level: str | None = None, *, where: str) -> None:
        """Raise :class:`FrameworkError` naming *where* unless the competency is described at *level*.

        Args:
            competency: A competency id such as ``gate.circuits``.
            level: A proficiency level id (``A1`` … ``C2``), or None to check the id only.
            where: Who refers to it (a file and field), shown in the error.
        """
        if competency not in self.competencies:
            raise FrameworkError(
                f"{where} refers to unknown competency {competency!r}; add it to "
                f"courses/framework.yaml or use one of: {', '.join(sorted(self.competencies))}."
            )
        if level is None:
            return
        if level not in self.levels:
            raise FrameworkError(
                f"{where} refers to unknown level {level!r}; levels are {', '.join(LEVELS)}."
            )
        described = self.competencies[competency].descriptors
        if level not in described:
            raise FrameworkError(
                f"{where} refers to {competency} at {level}, but courses/framework.yaml describes "
                f"{competency} only at {', '.join(described)}; use one of those levels or add a "
                f"{level} descriptor."
            )

    def descriptor(self, competency: str, level: str) -> dict[str, str]:
        """Return the bilingual descriptor of *competency* at *level*.

        Raises:
            FrameworkError: the competency is unknown or not described at that level.
        """
        self.check_reference(competency, level, where="The descriptor asked for")
        return dict(self.competencies[competency].descriptors[level])

    def area_of(self, competency: str) -> Area:
        """Return the proficiency area *competency* belongs to through its domain."""
        self.check_reference(competency, where="The area asked for")
        return self.areas[self.competencies[competency].area]


def _raise_all(found: list[str]) -> None:
    if found:
        raise FrameworkError("\n".join(found))


def parse(data: object, origin: str = "framework") -> Framework:
    """Validate parsed YAML against the framework schema and build a :class:`Framework`.

    Raises:
        FrameworkError: one line per problem, each naming *origin* and the field.
    """
    _raise_all(schemas.problems(data, "framework", origin))
    found = []
    if tuple(raw["id"] for raw in data["levels"]) != LEVELS:
        found.append(f"{origin}: levels: must list {', '.join(LEVELS)} in this order.")
    areas: dict[str, Area] = {}
    for index, raw in enumerate(data["areas"]):
        if raw["id"] in areas:
            found.append(f"{origin}: areas[{index}].id: the area {raw['id']!r} is defined twice.")
        areas[raw["id"]] = Area(raw["id"], raw["name"], raw["description"], dict(raw["scale"]))
    domains, competencies = _domains(data["domains"], areas, origin, found)
    framework = Framework(
        id=data["id"], version=data["version"], name=data["name"],
        levels={raw["id"]: Level(raw["id"], raw["name"], raw["description"]) for raw in data["levels"]},
        domains=domains, competencies=competencies, areas=areas, aligned_to=dict(data["aligned_to"]))
    framework = replace(framework, roles=_roles(data["roles"], framework, origin, found))
    _raise_all(found)
    return framework


def _domains(raw_domains: list[dict], areas: dict[str, Area], origin: str,
             found: list[str]) -> tuple[dict[str, dict[str, str]], dict[str, Competency]]:
    """Return domain names and competencies by id, appending each problem to *found*."""
    domains: dict[str, dict[str, str]] = {}
    competencies: dict[str, Competency] = {}
    for index, raw_domain in enumerate(raw_domains):
        did, where = raw_domain["id"], f"{origin}: domains[{index}]"
        if did in domains:
            found.append(f"{where}.id: the domain {did!r} is defined twice.")
        if raw_domain["area"] not in areas:
            found.append(f"{where}.area: {raw_domain['area']!r} is not an area; areas are "
                         f"{', '.join(areas)}.")
        domains[did] = raw_domain["name"]
        for number, raw in enumerate(raw_domain["competencies"]):
            cid = raw["id"]
            if not cid.startswith(did + "."):
                found.append(f"{where}.competencies[{number}].id: {cid!r} must start with '{did}.'.")
            if cid in competencies:
                found.append(f"{where}.competencies[{number}].id: {cid!r} is defined twice.")
            # Descriptors in level order, whatever order the file wrote them in.
            descriptors = {level: raw["descriptors"][level] for level in LEVELS
                           if level in raw["descriptors"]}
            competencies[cid] = Competency(cid, did, raw["name"], raw_domain["area"], descriptors)
    return domains, competencies


def _roles(raw_roles: list[dict], framework: Framework, origin: str, found: list[str]) -> dict[str, Role]:
    """Return role profiles by id, appending each problem to *found*."""
    roles: dict[str, Role] = {}
    for index, raw in enumerate(raw_roles):
        where = f"{origin}: roles[{index}]"
        if raw["id"] in roles:
            found.append(f"{where}.id: the role {raw['id']!r} is defined twice.")
        if set(raw["areas"]) != set(framework.areas):
            found.append(f"{where}.areas: give a level for each area ({', '.join(framework.areas)}) "
                         f"and no other, not {', '.join(raw['areas']) or 'none'}.")
        for number, ref in enumerate(raw["competencies"]):
            try:
                framework.check_reference(ref["competency"], ref["level"],
                                          where=f"{where}.competencies[{number}]")
            except FrameworkError as exc:
                found.append(exc.message)
        roles[raw["id"]] = Role(raw["id"], raw["name"], raw["description"], dict(raw["areas"]),
                                tuple((ref["competency"], ref["level"]) for ref in raw["competencies"]))
    return roles


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


def _read(path: Path, what: str) -> object:
    try:
        return schemas.read_yaml(path)
    except OSError as exc:
        raise FrameworkError(f"Cannot read the {what} {path}: {exc.strerror}.") from exc
    except yaml.YAMLError as exc:
        raise FrameworkError(f"{path} is not valid YAML: {exc}") from exc


def load(path: Path | None = None) -> Framework:
    """Read and validate the framework file at *path* (default: the checkout's)."""
    path = path or default_path()
    return parse(_read(path, "competency framework"), str(path))


@dataclass(frozen=True)
class Term:
    """A glossary entry: one term and the one way each language says it."""

    id: str
    en: str
    ja: str
    reading: str = ""
    notes: dict[str, str] = field(default_factory=dict)
    competencies: tuple[str, ...] = ()


def parse_glossary(data: object, framework: Framework, origin: str = "glossary") -> dict[str, Term]:
    """Validate parsed ``glossary.yaml`` against its schema and *framework*; return terms by id.

    Raises:
        FrameworkError: one line per problem (schema, repeated id or English term,
            unknown competency), each naming *origin* and the field.
    """
    _raise_all(schemas.problems(data, "glossary", origin))
    terms: dict[str, Term] = {}
    english: dict[str, str] = {}
    found = []
    for index, raw in enumerate(data["terms"]):
        where = f"{origin}: terms[{index}]"
        if raw["id"] in terms:
            found.append(f"{where}.id: the term {raw['id']!r} is defined twice.")
        # One English term with two entries would let two translations drift apart.
        if raw["en"].casefold() in english:
            found.append(f"{where}.en: {raw['en']!r} is already the term {english[raw['en'].casefold()]!r}.")
        english[raw["en"].casefold()] = raw["id"]
        for number, cid in enumerate(raw.get("competencies", ())):
            try:
                framework.check_reference(cid, where=f"{where}.competencies[{number}]")
            except FrameworkError as exc:
                found.append(exc.message)
        terms[raw["id"]] = Term(raw["id"], raw["en"], raw["ja"], raw.get("reading", ""),
                                dict(raw.get("notes", {})), tuple(raw.get("competencies", ())))
    _raise_all(found)
    return terms


def load_glossary(path: Path | None = None, framework: Framework | None = None) -> dict[str, Term]:
    """Read and validate the glossary (default: ``glossary.yaml`` beside the framework)."""
    path = path or courses_dir() / "glossary.yaml"
    framework = framework or load(path.parent / "framework.yaml" if
                                  (path.parent / "framework.yaml").is_file() else None)
    return parse_glossary(_read(path, "glossary"), framework, str(path))
