"""The shared glossary: its schema, its translations and its references into the framework."""

from __future__ import annotations

import pytest
import yaml

from qcampus import framework
from tests.conftest import REPO

GLOSSARY = REPO / "courses" / "glossary.yaml"

#: Translations the lessons were written with; a change here changes every notebook.
AGREED = {
    "qubit": "量子ビット", "superposition": "重ね合わせ", "measurement": "測定", "amplitude": "振幅",
    "statevector": "状態ベクトル", "Bloch sphere": "ブロッホ球", "shot": "ショット", "counts": "カウント",
    "transpile": "トランスパイル", "coupling map": "結合マップ", "noise model": "ノイズモデル",
    "readout error": "読み出し誤差", "observable": "オブザーバブル", "expectation value": "期待値",
    "Hamiltonian": "ハミルトニアン", "ansatz": "アンザッツ", "Ising model": "イジングモデル",
    "penalty": "ペナルティ", "annealing": "アニーリング",
}


@pytest.fixture
def raw() -> dict:
    """Return the repository's glossary as parsed YAML, to break in one place per test."""
    return yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))


def test_glossary_loads_with_enough_terms():
    """The repository's glossary passes its schema and framework checks with at least 60 terms."""
    assert len(framework.load_glossary()) >= 60


def test_agreed_translations_hold():
    """The terms the lessons use have the translation they were written with."""
    by_english = {term.en: term.ja for term in framework.load_glossary().values()}
    for english, japanese in AGREED.items():
        assert by_english[english] == japanese
    assert by_english["entanglement"].startswith("もつれ")
    for english in ("gate", "circuit", "oracle", "phase kickback", "phase estimation", "syndrome",
                    "logical qubit", "fidelity", "superdense coding", "quantum teleportation"):
        assert english in by_english


def test_unknown_key_is_refused(raw):
    """A misspelt key is named with its file and path."""
    raw["terms"][3]["note"] = "x"
    with pytest.raises(framework.FrameworkError, match=r"g.yaml: terms\[3\]: unknown key\(s\) 'note'"):
        framework.parse_glossary(raw, framework.load(), "g.yaml")


def test_dangling_competency_is_refused(raw):
    """A term naming a competency the framework lacks is refused, naming the term's field."""
    raw["terms"][0]["competencies"] = ["concepts.no-such"]
    with pytest.raises(framework.FrameworkError,
                       match=r"terms\[0\]\.competencies\[0\].*unknown competency 'concepts.no-such'"):
        framework.parse_glossary(raw, framework.load())


def test_one_english_term_has_one_entry(raw):
    """Two entries for one English term (which could drift apart) are refused."""
    raw["terms"].append({"id": "qubit-again", "en": "Qubit", "ja": "キュービット"})
    with pytest.raises(framework.FrameworkError, match="'Qubit' is already the term 'qubit'"):
        framework.parse_glossary(raw, framework.load())


def test_reading_is_kana(raw):
    """A reading must be written in kana."""
    raw["terms"][0]["reading"] = "ryoushi bitto"
    with pytest.raises(framework.FrameworkError, match=r"terms\[0\]\.reading"):
        framework.parse_glossary(raw, framework.load())
