"""Language of a story's text (trafilatura reports none)."""

from __future__ import annotations


def detect_language(text: str) -> str:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return ""
    arabic = sum(1 for c in letters if "\u0600" <= c <= "\u06ff")
    return "ar" if arabic / len(letters) > 0.5 else ""
