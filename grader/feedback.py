"""Bilingual feedback: what was expected, what was found, and a hint.

Every check builds a :class:`Feedback` from :class:`Message` pairs (English and
Japanese). The language a learner reads is chosen by :func:`language`:

1. ``QCAMPUS_LANG`` (``en`` or ``ja``), set by the deployment or the learner;
2. the JupyterLab display language the learner picked
   (``~/.jupyter/lab/user-settings/@jupyterlab/translation-extension/plugin.jupyterlab-settings``);
3. the POSIX locale variables ``LC_ALL``, ``LC_MESSAGES``, ``LANG``;
4. English.
"""

from __future__ import annotations

import functools
import json
import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

LANGUAGES = ("en", "ja")

P = ParamSpec("P")
R = TypeVar("R")

_JUPYTERLAB_SETTINGS = Path(
    ".jupyter", "lab", "user-settings", "@jupyterlab", "translation-extension",
    "plugin.jupyterlab-settings",
)


def _from_tag(tag: str | None) -> str | None:
    """Map a locale tag such as ``ja_JP.UTF-8`` or ``ja-JP`` to a language."""
    if not tag:
        return None
    primary = re.split(r"[_.\-@:]", tag.strip().lower(), maxsplit=1)[0]
    if primary in LANGUAGES:
        return primary
    return None


def _jupyterlab_locale(home: Path) -> str | None:
    """Return the locale the learner chose in JupyterLab, if any."""
    path = home / _JUPYTERLAB_SETTINGS
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        # No settings file: the learner never changed the display language.
        return None
    # The settings file is JSON5-ish: drop // comments before parsing.
    text = re.sub(r"^\s*//.*$", "", text, flags=re.MULTILINE)
    try:
        settings = json.loads(text)
    except ValueError:
        # A settings file JupyterLab itself would reject says nothing reliable.
        return None
    locale = settings.get("locale") if isinstance(settings, dict) else None
    return locale if isinstance(locale, str) else None


def language(environ: Mapping[str, str] | None = None, home: Path | None = None) -> str:
    """Return the learner's language, ``"en"`` or ``"ja"``.

    Args:
        environ: Environment to read; defaults to ``os.environ``.
        home: Home directory holding JupyterLab's user settings; defaults to
            ``$HOME``.

    Returns:
        ``"ja"`` when the learner's setting is Japanese, otherwise ``"en"``.
    """
    env = os.environ if environ is None else environ
    chosen = _from_tag(env.get("QCAMPUS_LANG"))
    if chosen:
        return chosen
    home_dir = home if home is not None else Path(env.get("HOME", "~")).expanduser()
    chosen = _from_tag(_jupyterlab_locale(home_dir))
    if chosen:
        return chosen
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            return _from_tag(env[name]) or "en"
    return "en"


@dataclass(frozen=True)
class Message:
    """One sentence in English and Japanese, with ``str.format`` fields."""

    en: str
    ja: str

    def render(self, lang: str, values: Mapping[str, Any]) -> str:
        """Return the sentence in ``lang`` with ``values`` filled in."""
        template = self.ja if lang == "ja" else self.en
        return template.format(**values)


_LABELS = {
    "expected": Message("Expected", "期待される答え"),
    "found": Message("Found", "あなたの答え"),
    "hint": Message("Hint", "ヒント"),
}


def _render(part: Message | str, lang: str, values: Mapping[str, Any]) -> str:
    return part.render(lang, values) if isinstance(part, Message) else part


@dataclass(frozen=True)
class Feedback:
    """What a check tells a learner.

    Attributes:
        summary: One sentence saying what is wrong (or right).
        expected: What the check expected; a :class:`Message` or plain,
            language-neutral text such as a number or a ket.
        found: What the learner's answer gives.
        hint: What to try next, when the check can tell.
        values: Fields substituted into every message.
    """

    summary: Message
    expected: Message | str | None = None
    found: Message | str | None = None
    hint: Message | None = None
    values: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str | None = None) -> str:
        """Return the feedback as plain text in ``lang`` (default: :func:`language`)."""
        lang = lang or language()
        lines = [self.summary.render(lang, self.values)]
        for label, part in (("expected", self.expected), ("found", self.found),
                            ("hint", self.hint)):
            if part is not None:
                head = _LABELS[label].render(lang, {})
                sep = "：" if lang == "ja" else ": "
                lines.append(f"  {head}{sep}{_render(part, lang, self.values)}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, str]:
        """Return the text in every language, keyed by language code."""
        return {lang: self.text(lang) for lang in LANGUAGES}


def describe(value: Any) -> str:
    """Return what a value is, in words a learner recognises in both languages.

    Examples: ``None``, ``str 'abc'``, ``list of 3 items``, ``NumPy array of
    shape (3,)``, ``QuantumCircuit on 2 qubits``.
    """
    if value is None:
        return "None"
    kind = type(value).__name__
    if isinstance(value, str | bytes):
        text = repr(value)
        return f"{kind} {text if len(text) <= 40 else text[:37] + '…'}"
    shape = getattr(value, "shape", None)
    if kind == "ndarray" or (shape is not None and type(value).__module__ == "numpy"):
        return f"NumPy {kind} of shape {tuple(shape)}" if shape else f"NumPy {kind} {value!r}"
    qubits = getattr(value, "num_qubits", None)
    if isinstance(qubits, int):
        return f"{kind} on {qubits} qubit{'s' if qubits != 1 else ''}"
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return f"{kind} of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, bool | int | float | complex):
        return f"{kind} {value!r}"
    return kind


_WRONG_KIND = Message(
    "Expected {expected_en}, but your answer is {found}.",
    "{expected_ja}が必要ですが、あなたの答えは {found} です。",
)


def wrong_kind(value: Any, expected: Message, hint: Message | None = None,
               **values: Any) -> Feedback:
    """Return feedback saying what kind of value was expected and what the learner gave.

    Args:
        value: The learner's value, described with :func:`describe`.
        expected: What the check takes, as a noun phrase in English and Japanese.
        hint: What to try instead.
        values: Fields for ``expected`` and ``hint``.
    """
    fields = {"found": describe(value), **values}
    return Feedback(_WRONG_KIND, hint=hint, values={
        **fields, "expected_en": expected.render("en", fields),
        "expected_ja": expected.render("ja", fields)})


def quiet(check: Callable[P, R]) -> Callable[P, R]:
    """Run ``check`` with every warning of its own work suppressed.

    nbgrader gives a test cell 0 points for any ``stderr`` output, so a
    NumPy, SciPy, Qiskit or dimod warning raised while a check simulates,
    transpiles or samples must never be printed: the check's verdict and its
    feedback are all it says.
    """

    @functools.wraps(check)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return check(*args, **kwargs)

    return run
