"""Tests of grader.feedback language selection and rendering."""

from __future__ import annotations

import json

from grader.feedback import Feedback, Message, language

SETTINGS = ".jupyter/lab/user-settings/@jupyterlab/translation-extension/plugin.jupyterlab-settings"


def test_qcampus_lang_wins(tmp_path):
    """QCAMPUS_LANG overrides the locale."""
    assert language({"QCAMPUS_LANG": "ja", "LANG": "en_US.UTF-8"}, tmp_path) == "ja"
    assert language({"QCAMPUS_LANG": "en", "LANG": "ja_JP.UTF-8"}, tmp_path) == "en"


def test_locale_variables(tmp_path):
    """LANG=ja_JP.UTF-8 gives Japanese; C.UTF-8 or nothing gives English."""
    assert language({"LANG": "ja_JP.UTF-8"}, tmp_path) == "ja"
    assert language({"LANG": "C.UTF-8"}, tmp_path) == "en"
    assert language({}, tmp_path) == "en"


def test_jupyterlab_display_language(tmp_path):
    """JupyterLab's chosen locale (with // comments) beats LANG."""
    path = tmp_path / SETTINGS
    path.parent.mkdir(parents=True)
    path.write_text("// chosen in Settings → Language\n" + json.dumps({"locale": "ja_JP"}))
    assert language({"LANG": "en_US.UTF-8"}, tmp_path) == "ja"


def test_feedback_renders_both_languages():
    """A feedback has expected, found and hint lines in each language."""
    feedback = Feedback(Message("Off by {n}.", "{n} ずれています。"), expected="1", found="2",
                        hint=Message("Add one.", "1 を足してください。"), values={"n": 1})
    texts = feedback.to_json()
    assert texts["en"].splitlines() == ["Off by 1.", "  Expected: 1", "  Found: 2",
                                        "  Hint: Add one."]
    assert texts["ja"].startswith("1 ずれています。") and "ヒント" in texts["ja"]
