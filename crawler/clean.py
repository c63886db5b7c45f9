"""Cleaning of extracted text (basic version; the Arabic rules land with issue 3)."""

from __future__ import annotations

import re
from typing import Iterable


def clean_text(text: str, *, title: str = "", site_name: str = "",
               patterns: Iterable[str] = (), learned: set[str] | frozenset[str] = frozenset()) -> str:
    compiled = [re.compile(p) for p in patterns]
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line in learned or any(p.search(line) for p in compiled):
            continue
        out.append(line)
    return "\n\n".join(out)
