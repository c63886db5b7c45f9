"""Is this story defense news? Word senses over an Arabic vocabulary, for general-news sources.

Sources with ``relevance_filter: true`` publish everything (sport, courts, economy, health);
only stories that score at least their threshold are kept. Lists of military words are not
enough there: "الدفاع المدني" puts out fires, "هيئة الدفاع" pleads in court, "حرب الأسعار"
is a telecom promotion, "الجيش الأبيض" are doctors, a "صاروخ" carries satellites or is a
football shot. So:

* The vocabulary (``relevance_terms.yaml``, extendable by users) has four sections:
  *anchors* (words with only a military reading), *ambiguous* words (war, attack, defence,
  missile, drone, radar), *senses* (multiword expressions that take a word into another
  sense) and *context* (groups of words of other subjects: sport, courts, rescue, ...).
* A term counts once whatever its clitics (و ف ب ك ل ال لل in front, pronoun and plural
  endings behind): its variants are one entry. Where entries overlap in the text the longest
  wins and its words count for nothing else: "الدفاع المدني" leaves no "الدفاع" behind.
* An ambiguous word counts only when the story has an anchor of its own in the body (or two
  in the headline): the military sense needs support from the rest of the story.
* The headline weighs 1.5 times the body, but only one mention per term, so one
  metaphorical headline cannot carry a story; the body counts per 300 words.
* Context words are subtracted: the rest of the story decides what a word means.

Everything here is a pure function of (title, text, lexicon); the shipped vocabulary is read
once from the package (a resource, like a module), users' additions come from config.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

import yaml

from crawler.defaults import RELEVANCE_THRESHOLD as THRESHOLD  # keep/reject line by default
from crawler.text.arabic import normalize

TERMS_FILE = "relevance_terms.yaml"
SECTIONS = ("anchors", "ambiguous", "senses", "context")
TITLE_WEIGHT = 1.5  # a headline term counts this many times a body mention, once
BODY_CAP = 3  # mentions of one term counted in the body
BODY_UNIT = 300  # the body counts per this many words
SCALE = 10.0  # raw evidence -> score: 1 - exp(-raw / SCALE); THRESHOLD 0.5 is raw 6.9
_PRIORITY = {"senses": 0, "context": 1, "anchors": 2, "ambiguous": 3}  # at equal length


@dataclass(frozen=True)
class Entry:
    """One term: its printed name, section, context group, weight."""

    name: str
    section: str
    group: str
    weight: float


@dataclass(frozen=True)
class Lexicon:
    """The compiled vocabulary: entries and an index by the bare first word of each variant.

    Picklable (plain tuples and dicts), so it travels to the worker processes with a
    source's rules."""

    entries: tuple[Entry, ...]
    index: Mapping[str, tuple[tuple[tuple[str, ...], int, str], ...]] = field(repr=False)
    #: Changes with any term or weight: a rejection judged with another vocabulary is
    #: judged again (storage.rejections).
    fingerprint: str = ""


@dataclass(frozen=True)
class Hit:
    """One term found in a story and what it contributed to the raw score."""

    term: str
    section: str
    group: str
    where: str  # "title" | "body"
    count: int
    weight: float
    contribution: float
    counted: bool  # False: an ambiguous word without military support


@dataclass(frozen=True)
class Explanation:
    score: float
    raw: float
    supported: bool
    hits: tuple[Hit, ...]


# -- the vocabulary ------------------------------------------------------------------------

def _bare(variant: str) -> tuple[str, ...]:
    """Normalised words of a variant, the article "ال" of its first word left off."""
    words = normalize(variant).split()
    if words and words[0].startswith("ال") and len(words[0]) > 4:  # not "الري" -> "ري"
        words[0] = words[0][2:]
    return tuple(words)


def check_terms(data: Any) -> list[str]:
    """What is wrong with a vocabulary document, as ``key: message`` lines (empty: fine).

    Shared by the shipped file and users' files, so both are held to the same shape."""
    if data is None:
        return []
    if not isinstance(data, dict):
        return [f"(top level): expected a mapping of {', '.join(SECTIONS)}, got {type(data).__name__}"]
    errors: list[str] = []

    def terms(section: str, group: str, mapping: Any, path: str) -> None:
        if not isinstance(mapping, dict):
            errors.append(f"{path}: expected a mapping of term: weight, got {type(mapping).__name__}")
            return
        for term, weight in mapping.items():
            where = f"{path}.{term}"
            if not isinstance(term, str) or not all(_bare(v) for v in term.split("|")):
                errors.append(f"{where}: a term must be words (variants joined with |)")
            elif weight is None:
                continue  # removes the term
            elif isinstance(weight, bool) or not isinstance(weight, (int, float)):
                errors.append(f"{where}: weight must be a number, got {weight!r}")
            elif section == "senses" and not -10 <= weight <= 0:
                errors.append(f"{where}: a sense's weight must be between -10 and 0, got {weight}")
            elif section != "senses" and not 0 <= weight <= 10:
                errors.append(f"{where}: weight must be between 0 and 10, got {weight}")

    for section, value in data.items():
        if section not in SECTIONS:
            errors.append(f"{section}: unknown section (expected one of {', '.join(SECTIONS)})")
        elif section == "context":
            if not isinstance(value, dict):
                errors.append(f"context: expected a mapping of group: {{term: weight}}, got {type(value).__name__}")
                continue
            for group, mapping in value.items():
                terms(section, str(group), mapping, f"context.{group}")
        elif value is not None:
            terms(section, section, value, section)
    return errors


def build_lexicon(*layers: Mapping[str, Any]) -> Lexicon:
    """Compile vocabulary documents, later layers over earlier ones.

    A variant (after normalisation, "ال" left off) written again in a later layer takes
    the later weight and section; weight ``null`` removes it, so a user removes a shipped
    term by repeating its variants with null. Raises ValueError listing every problem."""
    chosen: dict[tuple[str, ...], tuple[str, str, str, float | None, str]] = {}
    for layer in layers:
        errors = check_terms(layer)
        if errors:
            raise ValueError("; ".join(errors))
        for section in SECTIONS:
            value = (layer or {}).get(section) or {}
            groups = value.items() if section == "context" else [(section, value)]
            for group, mapping in groups:
                for term, weight in (mapping or {}).items():
                    mine: set[tuple[str, ...]] = set()
                    for variant in term.split("|"):
                        words = _bare(variant)
                        if words not in mine:  # "حريق|الحريق": shown as written first
                            mine.add(words)
                            chosen[words] = (term, section, str(group), weight, variant)
    entry_ids: dict[tuple[str, str, str, float], int] = {}
    entries: list[Entry] = []
    index: dict[str, list[tuple[tuple[str, ...], int, str]]] = {}
    for words, (name, section, group, weight, variant) in chosen.items():
        if weight is None:
            continue
        key = (name, section, group, float(weight))
        if key not in entry_ids:
            entry_ids[key] = len(entries)
            entries.append(Entry(name, section, group, float(weight)))
        index.setdefault(words[0], []).append((words[1:], entry_ids[key], variant))
    body = sorted((" ".join(words), section, group, float(weight))
                  for words, (_, section, group, weight, _) in chosen.items() if weight is not None)
    digest = hashlib.sha1(repr(body).encode("utf-8")).hexdigest()[:16]
    return Lexicon(tuple(entries), {k: tuple(v) for k, v in index.items()}, digest)


def read_terms_file(text: str, origin: str) -> dict:
    """Parse a vocabulary file's text; ValueError names the origin and the key."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{origin}: not valid YAML: {exc}") from None
    errors = check_terms(data)
    if errors:
        raise ValueError("\n".join(f"{origin}: {e}" for e in errors))
    return data or {}


@lru_cache(maxsize=1)
def shipped_terms() -> dict:
    """The vocabulary shipped in the package (read once: it is part of the code)."""
    text = resources.files(__package__).joinpath(TERMS_FILE).read_text(encoding="utf-8")
    return read_terms_file(text, TERMS_FILE)


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return build_lexicon(shipped_terms())


# -- matching ------------------------------------------------------------------------------

_PREFIXES = [(p1 + p2 + p3, p3 != "") for p1 in ("", "و", "ف") for p2 in ("", "ب", "ك", "ل")
             for p3 in ("", "ال") if not (p2 == "ل" and p3 == "ال")] + [
             (p1 + "لل", True) for p1 in ("", "و", "ف")]
# Plural and dual endings, accusative alif, attached pronouns.
_SUFFIXES = ("", "ات", "ين", "ون", "ان", "ا", "ه", "ها", "هم", "هما", "كم", "نا", "يه", "يا", "ي")
_PRONOUN = {"ه", "ها", "هم", "هما", "كم", "نا", "ي", "ين", "ان", "ا"}


@lru_cache(maxsize=1 << 14)
def _cores(token: str) -> tuple[tuple[str, bool], ...]:
    """(core, a suffix was stripped) for every clitic reading of a normalised token.

    A taa marbuta written as taa before an ending ("منظومته") is read back as the haa that
    normalisation makes of it. Cached: news vocabulary repeats, and this is the hot loop.
    16384 words (~3 MiB): at 65536 (~190 bytes each) the cache kept filling with rare words
    for 20 000 pages and a worker's memory grew with the crawl (+12 MiB and more); a
    quarter of that keeps the frequent words for +0.36 ms a page (bench pages, relevance
    alone 0.46 -> 0.82 ms)."""
    out: list[tuple[str, bool]] = []
    for prefix, _ in _PREFIXES:
        if token.startswith(prefix) and len(token) - len(prefix) >= 2:
            rest = token[len(prefix):]
            for suffix in _SUFFIXES:
                if not suffix:
                    out.append((rest, False))
                elif rest.endswith(suffix) and len(rest) - len(suffix) >= 2:
                    core = rest[: -len(suffix)]
                    out.append((core, True))
                    if suffix in _PRONOUN and core.endswith("ت"):
                        out.append((core[:-1] + "ه", True))
    return tuple(dict.fromkeys(out))


_SUFFIX_SET = frozenset(_SUFFIXES)


def _last_word_matches(token: str, word: str) -> bool:
    """The last word of a phrase may carry an ending ("وزارة الدفاع" in "وزارة دفاعها")."""
    if token.startswith(word):
        return token[len(word):] in _SUFFIX_SET
    if word.endswith("ه") and token.startswith(word[:-1] + "ت"):
        return token[len(word):] in _PRONOUN
    return False


def _starts(token: str, lexicon: Lexicon, memo: dict) -> list[tuple[tuple[str, ...], int, str, int, bool]]:
    """Entries whose first word this token can be: (rest, entry, variant, core length, suffixed)."""
    found = memo.get(token)
    if found is None:
        found = []
        seen: set[tuple[int, tuple[str, ...]]] = set()
        for core, suffixed in _cores(token):
            for rest, eid, variant in lexicon.index.get(core, ()):
                if rest and suffixed:  # a suffix belongs to the last word of a phrase
                    continue
                if (eid, rest) not in seen:
                    seen.add((eid, rest))
                    found.append((rest, eid, variant, len(core), suffixed))
        memo[token] = found
    return found


def match(tokens: list[str], lexicon: Lexicon) -> tuple[Counter, dict[int, str]]:
    """Entry id -> mentions in normalised ``tokens`` (and the variant first seen per entry).

    Where entries overlap, the one spanning more words wins, then the one that needed less
    stripping ("دورية" is a patrol, not "الدوري" plus an ending), then a sense before the
    other sections; a token belongs to one entry only, so no word is counted twice."""
    cands: list[tuple[int, int, int, int, int, str]] = []
    memo: dict = {}  # news text repeats its words: each distinct token is looked up once
    for i, token in enumerate(tokens):
        starts = memo.get(token)  # looked up here first: a call per word costs more than the lookup
        if starts is None:
            starts = _starts(token, lexicon, memo)
        for rest, eid, variant, core_len, _ in starts:
            if rest:
                nxt = tokens[i + 1: i + 1 + len(rest)]
                if len(nxt) < len(rest) or nxt[:-1] != list(rest[:-1]) \
                        or not _last_word_matches(nxt[-1], rest[-1]):
                    continue
            cands.append((-(len(rest) + 1), -core_len, _PRIORITY[lexicon.entries[eid].section],
                          i, eid, variant))
    cands.sort()
    taken = [False] * len(tokens)
    counts: Counter = Counter()
    shown: dict[int, str] = {}
    for neg_len, _, _, start, eid, variant in cands:
        span = range(start, start - neg_len)
        if any(taken[j] for j in span):
            continue
        for j in span:
            taken[j] = True
        counts[eid] += 1
        shown.setdefault(eid, variant)
    return counts, shown


# -- scoring ---------------------------------------------------------------------------------

def explain(title: str, text: str, lexicon: Lexicon | None = None, *,
            normalized: bool = False) -> Explanation:
    """The score and every term that made it (``defnews extract --explain`` prints these).

    ``normalized``: title and text are already ``crawler.arabic.normalize``-d."""
    lex = lexicon or default_lexicon()
    t = (title or "") if normalized else normalize(title or "")
    b = (text or "") if normalized else normalize(text or "")
    t_words, b_words = t.split(), b.split()
    (in_title, t_shown), (in_body, b_shown) = match(t_words, lex), match(b_words, lex)
    body_anchors = sum(1 for e in in_body if lex.entries[e].section == "anchors")
    title_anchors = sum(1 for e in in_title if lex.entries[e].section == "anchors")
    supported = body_anchors >= 1 or title_anchors >= 2
    density = BODY_UNIT / max(BODY_UNIT, len(b_words))
    hits: list[Hit] = []
    raw = 0.0
    for where, counts, shown in (("title", in_title, t_shown), ("body", in_body, b_shown)):
        for eid, n in counts.items():
            e = lex.entries[eid]
            factor = TITLE_WEIGHT if where == "title" else density * min(n, BODY_CAP)
            sign = -1.0 if e.section == "context" else 1.0
            counted = e.section != "ambiguous" or supported
            c = sign * e.weight * factor if counted else 0.0
            raw += c
            hits.append(Hit(shown[eid], e.section, e.group, where, n, e.weight, round(c, 3), counted))
    hits.sort(key=lambda h: (-abs(h.contribution), h.where, h.term))
    s = round(1 - math.exp(-raw / SCALE), 4) if raw > 0 else 0.0
    return Explanation(s, round(raw, 3), supported, tuple(hits))


def score(title: str, text: str, lexicon: Lexicon | None = None, *, normalized: bool = False) -> float:
    """Defense relevance in [0, 1): 0 without military evidence, THRESHOLD and above for
    defense news."""
    return explain(title, text, lexicon, normalized=normalized).score


def is_relevant(title: str, text: str, threshold: float = THRESHOLD,
                lexicon: Lexicon | None = None) -> bool:
    return score(title, text, lexicon) >= threshold


def format_explanation(ex: Explanation, threshold: float = THRESHOLD) -> str:
    """The relevance section of ``defnews extract --explain``: the terms that counted."""
    verdict = "kept" if ex.score >= threshold else "rejected"
    lines = [f"relevance: {ex.score:.3f} (threshold {threshold:.2f}: {verdict}); raw evidence {ex.raw:.2f}"
             + ("" if ex.supported else "; no military anchor: ambiguous words do not count")]
    if not ex.hits:
        lines.append("  (no term of the vocabulary found)")
    for h in ex.hits:
        kind = h.section if h.section != "context" else f"context:{h.group}"
        note = "" if h.counted else "  (not counted: no military support)"
        lines.append(f"  {h.contribution:+7.2f}  {h.term}  [{kind}, {h.where} x{h.count}, weight {h.weight:g}]{note}")
    return "\n".join(lines)
