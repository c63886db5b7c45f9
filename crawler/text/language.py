"""Language of a story's text (trafilatura reports none).

Script first, model second: an Arabic-script text is Arabic unless it carries the letters
that only Persian/Urdu write (پ چ ژ گ ی ک ۀ); CLD2 (pycld2) decides the rest. CLD2 and
its tables are compiled into the extension (~1 MiB resident, ~0.03 ms per call); the
py3langid model it replaced cost ~74 MiB in every pool worker and ~1.4 ms per page.
"""

from __future__ import annotations

import re

import pycld2

from crawler import defaults
from crawler.text.arabic import arabic_ratio

_PERSIAN_URDU = set("پچژگیکۀےٹڈڑں")
#: What CLD2 refuses as "invalid UTF-8": C0/C1 controls (but tab, newlines, form feed),
#: lone surrogates, U+FFFE/U+FFFF. Removed before it reads the sample.
_REFUSED = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
#: CLD2's codes that are not ISO 639-1 (it keeps the old Hebrew/Javanese codes and tags
#: Chinese by script).
_ISO = {"iw": "he", "jw": "jv", "zh-Hant": "zh"}


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
    try:
        _reliable, _nbytes, found = pycld2.detect(_REFUSED.sub(" ", sample), bestEffort=True)
    except pycld2.error:  # another byte CLD2 will not read: no guess rather than a wrong one
        return ""
    code = found[0][1]
    return "" if code == "un" else _ISO.get(code, code)


def is_arabic(text: str) -> bool:
    """True for an Arabic story; a non-Arabic page of an Arabic source is dropped or flagged."""
    return detect_language(text) == "ar"
