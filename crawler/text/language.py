"""Language of a story's text (trafilatura reports none).

Script first, model second: an Arabic-script text is Arabic unless it carries the letters
that only Persian/Urdu write (پ چ ژ گ ی ک ۀ); py3langid decides the rest. Its model is
loaded once per process, lazily, through a cached loader (no module-level state).
"""

from __future__ import annotations

from functools import lru_cache

from crawler import defaults
from crawler.text.arabic import arabic_ratio

_PERSIAN_URDU = set("پچژگیکۀےٹڈڑں")


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, sample_chars: int = defaults.LANGUAGE_SAMPLE) -> str:
    """ISO 639-1 code of the text, '' when there is too little text to tell.

    Read on the first ``sample_chars`` characters only: a story's language is settled by
    its first paragraphs, and the model's cost grows with what it reads.
    """
    sample = text[:sample_chars]
    letters = [c for c in sample if c.isalpha()]
    if len(letters) < 20:
        return ""
    if arabic_ratio(sample) >= 0.6:
        other = sum(1 for c in letters if c in _PERSIAN_URDU) / len(letters)
        if other < 0.01:
            return "ar"
    lang, _prob = _identifier().classify(sample)
    return lang


def is_arabic(text: str) -> bool:
    """True for an Arabic story; a non-Arabic page of an Arabic source is dropped or flagged."""
    return detect_language(text) == "ar"
