"""The competency framework file, its schema, and where it is found."""

from __future__ import annotations

import copy

import pytest
import yaml

from qcampus import framework
from qcampus.deployment import init
from tests.conftest import REPO

FRAMEWORK = REPO / "courses" / "framework.yaml"

#: Ids the courses, achievements and exams were written against (domain → competencies).
REQUIRED = {
    "concepts": ("concepts", ["qubits", "superposition-entanglement", "quantum-protocols"]),
    "gate": ("engineering", ["circuits", "single-qubit-gates", "primitives", "transpilation"]),
    "algorithms": ("engineering", ["oracles", "fourier", "variational", "hybrid-workflows"]),
    "optimisation": ("applications", ["qubo-modelling", "sampling", "benchmarking"]),
    "hardware": ("engineering", ["noise", "error-correction", "enabling-technologies"]),
    "security": ("applications", ["qkd", "post-quantum", "cryptanalysis"]),
    "sensing": ("applications", ["principles"]),
    "hybrid": ("engineering", ["hpc-cloud"]),
    "business": ("applications", ["use-cases", "metrics", "ip-and-regulation", "team-building"]),
}


@pytest.fixture
def raw() -> dict:
    """Return the repository's framework as parsed YAML, to break in one place per test."""
    return yaml.safe_load(FRAMEWORK.read_text(encoding="utf-8"))


def competency(data: dict, cid: str) -> dict:
    """Return the raw entry of competency *cid* in parsed framework *data*."""
    return next(c for d in data["domains"] for c in d["competencies"] if c["id"] == cid)


def test_checkout_framework_loads():
    """The repository's framework has the six CFQT levels in order."""
    assert tuple(framework.load().levels) == framework.LEVELS


def test_framework_cites_cfqt_by_version():
    """The framework names the CFQT version it follows."""
    fw = framework.load()
    assert fw.aligned_to["version"] == "3.0"
    assert fw.aligned_to["url"] == "https://qt.eu/competence-framework"


def test_three_areas_each_with_a_full_scale():
    """Concepts, engineering and applications each describe every level A1 … C2 in both languages."""
    fw = framework.load()
    assert set(fw.areas) == {"concepts", "engineering", "applications"}
    for area in fw.areas.values():
        assert tuple(area.scale) == framework.LEVELS
        assert all(text["en"] and text["ja"] for text in area.scale.values())


@pytest.mark.parametrize("domain", sorted(REQUIRED))
def test_required_competencies_sit_in_their_area(domain):
    """Every id the courses use exists, in the domain and area the curriculum expects."""
    fw = framework.load()
    area, names = REQUIRED[domain]
    for name in names:
        found = fw.competencies[f"{domain}.{name}"]
        assert (found.domain, found.area) == (domain, area)
        assert fw.area_of(found.id).id == area


def test_every_competency_is_described_in_both_languages():
    """Each competency has at least one descriptor, and each descriptor has en and ja text."""
    for item in framework.load().competencies.values():
        assert item.descriptors, item.id
        for level, text in item.descriptors.items():
            assert level in framework.LEVELS
            assert text["en"].strip() and text["ja"].strip(), f"{item.id} {level}"


def test_roles_need_described_levels():
    """The five role profiles exist, name a level per area and only descriptors that exist."""
    fw = framework.load()
    assert {"quantum-software-engineer", "optimisation-analyst", "security-migration-lead",
            "quantum-aware-business-lead", "enabling-technology-technician"} <= set(fw.roles)
    for role in fw.roles.values():
        assert set(role.areas) == set(fw.areas)
        for cid, level in role.competencies:
            assert fw.descriptor(cid, level)["ja"]


def test_descriptor_returns_the_text_of_that_level():
    """descriptor() gives the bilingual text the file holds for that competency and level."""
    fw = framework.load()
    expected = competency(yaml.safe_load(FRAMEWORK.read_text(encoding="utf-8")), "gate.circuits")
    assert fw.descriptor("gate.circuits", "B1") == expected["descriptors"]["B1"]


def test_descriptor_refuses_an_undescribed_level():
    """Asking for a level the competency is not described at says which levels it has."""
    fw = framework.load()
    with pytest.raises(framework.FrameworkError, match=r"sensing.principles at C2.*only at A1, A2, B1"):
        fw.descriptor("sensing.principles", "C2")


def test_level_mismatch_names_the_referrer():
    """check_reference fails for a real competency at a level that has no descriptor."""
    fw = framework.load()
    with pytest.raises(framework.FrameworkError, match="track.yaml: x.*gate.circuits at A1"):
        fw.check_reference("gate.circuits", "A1", where="track.yaml: x")
    fw.check_reference("gate.circuits", "A2", where="track.yaml: x")


def test_unknown_key_is_named_with_file_and_path(raw):
    """A misspelt key is refused with the file, the field path and the allowed keys."""
    competency(raw, "gate.circuits")["descriptor"] = {}
    with pytest.raises(framework.FrameworkError) as caught:
        framework.parse(raw, "courses/framework.yaml")
    assert "courses/framework.yaml: domains[1].competencies[0]: unknown key(s) 'descriptor'" \
        in caught.value.message


def test_flow_mapping_with_a_comma_is_caught(raw):
    """An unquoted comma in {en: a, b} becomes an unknown key instead of passing silently."""
    raw["domains"][0]["name"] = yaml.safe_load("{en: Noise, errors, ja: ノイズ}")
    with pytest.raises(framework.FrameworkError, match=r"domains\[0\]\.name: unknown key\(s\) 'errors'"):
        framework.parse(raw)


def test_missing_descriptor_text_is_refused(raw):
    """A descriptor without its Japanese text is refused, naming the level."""
    del competency(raw, "concepts.qubits")["descriptors"]["A2"]["ja"]
    with pytest.raises(framework.FrameworkError, match=r"descriptors\.A2: 'ja' is a required property"):
        framework.parse(raw)


def test_descriptor_for_an_unknown_level_is_refused(raw):
    """A descriptor keyed by something other than A1 … C2 is refused."""
    competency(raw, "concepts.qubits")["descriptors"]["D1"] = {"en": "x", "ja": "x"}
    with pytest.raises(framework.FrameworkError, match="'D1' is not one of A1, A2"):
        framework.parse(raw)


def test_role_pointing_at_an_undescribed_level_is_refused(raw):
    """A role needing a competency at a level nobody described is a level mismatch."""
    raw["roles"][0]["competencies"].append({"competency": "sensing.principles", "level": "C1"})
    with pytest.raises(framework.FrameworkError, match=r"roles\[0\]\.competencies\[\d+\].*at C1"):
        framework.parse(raw)


def test_dangling_role_competency_is_refused(raw):
    """A role naming a competency the framework lacks is refused, naming the role's field."""
    raw["roles"][1]["competencies"][0]["competency"] = "optimisation.no-such"
    with pytest.raises(framework.FrameworkError, match=r"roles\[1\].*unknown competency 'optimisation"):
        framework.parse(raw)


def test_domain_in_an_unknown_area_is_refused(raw):
    """Each domain belongs to an area the framework defines."""
    raw["domains"][2]["area"] = "physics"
    with pytest.raises(framework.FrameworkError, match=r"domains\[2\]\.area: 'physics' is not an area"):
        framework.parse(raw)


def test_competency_outside_its_domain_is_refused(raw):
    """A competency id must start with its domain's id."""
    competency(raw, "gate.circuits")["id"] = "algorithms.circuits"
    with pytest.raises(framework.FrameworkError, match="'algorithms.circuits' must start with 'gate.'"):
        framework.parse(raw)


def test_every_problem_is_reported_at_once(raw):
    """Two semantic mistakes give two lines, so a file is fixed in one pass."""
    broken = copy.deepcopy(raw)
    broken["domains"][0]["area"] = "nowhere"
    broken["roles"][0]["competencies"][0]["level"] = "C2"
    with pytest.raises(framework.FrameworkError) as caught:
        framework.parse(broken)
    assert len(caught.value.message.splitlines()) == 2


def test_regular_install_finds_courses_through_the_deployment(qcampus_home, monkeypatch, tmp_path):
    """Without a checkout beside the package, the deployment's courses.source is used."""
    monkeypatch.setenv("QCAMPUS_COURSES__SOURCE", str(REPO / "courses"))
    init(qcampus_home, hooks=[])
    monkeypatch.delenv("QCAMPUS_COURSES__SOURCE")
    monkeypatch.setenv("QCAMPUS_HOME", str(qcampus_home))
    monkeypatch.setattr(framework, "__file__", str(tmp_path / "site-packages" / "qcampus" / "framework.py"))
    assert framework.courses_dir() == REPO / "courses"
    assert framework.load().competencies


def test_role_needs_a_level_in_every_area(raw):
    """A role profile that leaves out an area is refused, naming the areas expected."""
    del raw["roles"][2]["areas"]["engineering"]
    with pytest.raises(framework.FrameworkError, match=r"roles\[2\]\.areas: give a level for each area"):
        framework.parse(raw)
