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

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "ja")

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
