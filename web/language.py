"""Choose the language of a page: English or Japanese, as asked or as the browser prefers.

A page offers the other language with a link that sets ``?lang=``; without it the
browser's ``Accept-Language`` decides, and English is the default.
"""

from __future__ import annotations

from flask import request

#: The languages every learner-facing page is written in.
LANGUAGES = ("en", "ja")


def page_language() -> str:
    """Return the page language: ``?lang=`` if supported, else the browser's preference."""
    chosen = request.args.get("lang", "")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default="en")


def other_language(lang: str) -> str:
    """Return the other page language, for the language switch."""
    return "ja" if lang == "en" else "en"
