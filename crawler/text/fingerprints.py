"""Recognising one story at many URLs: pure functions, no database, no state.

Three levels, cheapest first (storage/stories.py applies them against SQL):

1. URL: the canonical URL (crawler/urls.py) is unique in the table.
2. Exact: ``fingerprint`` = SHA-256 of the normalised words, so the same text with other
   diacritics, tatweel, hamza forms, digits or punctuation at a second URL is caught by
   one indexed equality lookup - and short briefs, too short for MinHash, still dedup.
3. Near-duplicate: a MinHash signature of word shingles of the normalised text, cut
   into LSH bands; each band is hashed to one signed 64-bit integer that carries its
   band number, so candidate lookup is ``WHERE hash IN (...)`` on one index, identical in
   SQLite and PostgreSQL. Candidates are confirmed by estimated Jaccard, with headline
   similarity as a second signal for the borderline zone (reworded wire copy).

Everything here is CPU-bound and picklable, so the pipeline may compute ``DedupKeys`` in
a worker pool and hand them to ``store_records`` in ``Record.extra["dedup"]``.

Parameters (measured on tests/fixtures/dedup with bench/dedup.py, not taken from habit):
on the labelled set, 3-word shingles give rewritten copies (new intro, ~10 synonym swaps,
reordered and dropped paragraphs, diacritics, tatweel) an exact Jaccard of 0.42 or more,
and hard negatives (same event or weapon system, another report; a shared background
paragraph; formulaic nightly reports) 0.13 or less. A 0.8 threshold "by habit" would find
a third of the duplicate pairs. The confirmation threshold 0.27 is more than 4 MinHash
standard errors (192 permutations) from both the weakest rewrite and the closest hard
negative, a little nearer the rewrites: real formulaic reports may resemble each other
more than ours, and a wrong merge hides a story while a miss only shows it twice.
64 bands of 3 rows make a pair with J=0.41 a candidate with probability 0.99, while
unrelated defense stories (mean J 0.0007 at k=3) yield about one spurious candidate per
100k stored stories, so lookup cost does not grow with the table. 2-word shingles separate
no better and collide ten times more between unrelated stories (mean J 0.0068).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from crawler.text.arabic import normalize
from crawler.text.story_facts import facts_conflict, facts_of_words, story_facts

if TYPE_CHECKING:
    import numpy as np

SIGNATURE_ITEMSIZE = 4  # bytes per MinHash value (crawler.text.minhash.SIGNATURE_DTYPE)
MINHASH_SCHEME = "affine32"  # and its seed: crawler.text.minhash.MINHASH_SEED


@dataclass(frozen=True)
class DedupParams:
    """How stories are compared. Changing shingle/num_perm/bands/rows/seed changes the
    stored keys: a database built with one setting is only comparable with the same one."""

    shingle: int = 3  # words per shingle
    num_perm: int = 192  # MinHash permutations (>= bands * rows)
    bands: int = 64  # LSH bands; a pair with Jaccard J is a candidate w.p. 1-(1-J^rows)^bands
    rows: int = 3
    threshold: float = 0.27  # estimated Jaccard at or above which a candidate is the same story
    low_threshold: float = 0.20  # from here up, a near-identical headline also makes it one
    title_threshold: float = 0.6  # headline word overlap needed in that low zone
    min_shingles: int = 20  # fewer: too short for MinHash, the exact level alone applies
    min_words: int = 6  # fewer normalised words: no fingerprint either ("تابعونا", captions)
    facts_override: float = 0.9  # from here up, differing facts do not keep two texts apart

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError("bands * rows must not exceed num_perm")


DEFAULT_PARAMS = DedupParams()


@dataclass(frozen=True)
class DedupKeys:
    """What storage needs to dedup one story; computed once, stored with it."""

    fingerprint: str  # "" when the text is too short to identify a story
    signature: bytes | None  # packed MinHash (uint32 little-endian), None when too short
    bands: tuple[int, ...]  # one band-specific signed 64-bit hash per LSH band
    title: str  # normalised headline, for the second signal
    facts: tuple[str, ...] = ()  # numbers, countries, days, months (crawler.text.story_facts)


# --- normalisation -------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Normalised words: punctuation, diacritics and tatweel gone, forms unified."""
    return _WORD.findall(normalize(text))


def shingles(tokens: Sequence[str], k: int) -> list[bytes]:
    """Distinct k-word shingles (UTF-8) - the set whose Jaccard MinHash estimates."""
    if len(tokens) < k:
        return []
    return list({" ".join(gram).encode() for gram in zip(*(tokens[i:] for i in range(k)))})


def fingerprint(tokens: Sequence[str], params: DedupParams = DEFAULT_PARAMS) -> str:
    """Exact-level key: identical normalised wording gives the identical hex digest."""
    if len(tokens) < params.min_words:
        return ""
    return hashlib.sha256(" ".join(tokens).encode()).hexdigest()


# --- MinHash and LSH -----------------------------------------------------------------
# The numpy arithmetic lives in crawler/text/minhash.py, imported when a signature is
# made or unpacked: the crawl process, which only compares stored signatures
# (estimate_jaccard on bytes), never loads numpy (13 MiB and 80 ms of imports).


def signature(shingle_set: Sequence[bytes], params: DedupParams = DEFAULT_PARAMS) -> "np.ndarray":
    """MinHash hash values of a shingle set (datasketch MinHash, affine32): see
    crawler.text.minhash.signature."""
    from crawler.text import minhash

    return minhash.signature(shingle_set, params.num_perm)


def pack(sig: "np.ndarray") -> bytes:
    from crawler.text import minhash

    return minhash.pack(sig)


def band_hashes(sig: "np.ndarray | bytes", params: DedupParams = DEFAULT_PARAMS) -> tuple[int, ...]:
    """One signed 64-bit integer per band (fits SQL BIGINT). The band number is hashed in,
    so equal values in different bands never collide and the value alone is the key."""
    raw = sig if isinstance(sig, bytes) else pack(sig)
    width = params.rows * SIGNATURE_ITEMSIZE
    out = []
    for band in range(params.bands):
        digest = hashlib.blake2b(raw[band * width:(band + 1) * width], digest_size=8,
                                 salt=band.to_bytes(16, "little")).digest()
        out.append(int.from_bytes(digest, "little", signed=True))
    return tuple(out)


def estimate_jaccard(a: "bytes | np.ndarray", b: "bytes | np.ndarray") -> float:
    """Share of equal MinHash values: an unbiased estimate of shingle-set Jaccard.
    Stored signatures (bytes) are compared as 32-bit words without numpy."""
    ba = bytes(a) if isinstance(a, (bytes, bytearray, memoryview)) else pack(a)
    bb = bytes(b) if isinstance(b, (bytes, bytearray, memoryview)) else pack(b)
    if len(ba) != len(bb) or not ba or len(ba) % SIGNATURE_ITEMSIZE:
        return 0.0
    wa, wb = memoryview(ba).cast("I"), memoryview(bb).cast("I")
    return sum(1 for x, y in zip(wa, wb) if x == y) / len(wa)


def title_similarity(a: str, b: str) -> float:
    """Word overlap of two normalised headlines, relative to the shorter one (a reworded
    headline keeps its names and nouns; an added site prefix should not dilute it)."""
    wa, wb = set(a.split()), set(b.split())
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / min(len(wa), len(wb))


def is_same_story(jaccard: float, title_sim: float, params: DedupParams = DEFAULT_PARAMS,
                  facts_a: Iterable[str] = (), facts_b: Iterable[str] = ()) -> bool:
    """The confirmation rule for an LSH candidate.

    Shared wording says "same story" only when the facts do not contradict it: stories
    written from one template share their opening formula, headline pattern and closing
    lines (estimated Jaccard up to 0.77 on tests/fixtures/dedup/templated.jsonl) and
    differ in numbers, countries or days; a rewrite of one story keeps them. Above
    ``facts_override`` the texts are one story whatever a corrected figure says.
    """
    if jaccard >= params.threshold:
        similar = True
    else:
        similar = jaccard >= params.low_threshold and title_sim >= params.title_threshold
    if not similar or jaccard >= params.facts_override:
        return similar
    return not facts_conflict(facts_a, facts_b)


def dedup_keys(title: str, text: str, params: DedupParams = DEFAULT_PARAMS, *,
               norm_title: str | None = None, norm_text: str | None = None) -> DedupKeys:
    """All dedup keys of one story (pure, picklable: run it in a worker pool).

    ``norm_title``/``norm_text``: the same, already normalised (the worker has them from
    cleaning); the story is then not normalised again.
    """
    tokens = _WORD.findall(norm_text) if norm_text is not None else words(text)
    title_words = _WORD.findall(norm_title) if norm_title is not None else words(title)
    shingle_set = shingles(tokens, params.shingle)
    if len(shingle_set) >= params.min_shingles:
        packed = pack(signature(shingle_set, params))
        bands = band_hashes(packed, params)
    else:
        packed, bands = None, ()
    # The facts of title + text: from the words already cut when both were given normalised
    # (the same words: normalize works character by character, the line break separates).
    facts = (facts_of_words(title_words + tokens) if norm_text is not None and norm_title is not None
             else story_facts(title + "\n" + text))
    return DedupKeys(fingerprint(tokens, params), packed, bands, " ".join(title_words),
                     tuple(sorted(facts)))


def compare(a: DedupKeys, b: DedupKeys, params: DedupParams = DEFAULT_PARAMS) -> bool:
    """Whether two stories are one, by the same rule storage applies (exact or near)."""
    if a.fingerprint and a.fingerprint == b.fingerprint:
        return True
    if a.signature is None or b.signature is None:
        return False
    return is_same_story(estimate_jaccard(a.signature, b.signature),
                         title_similarity(a.title, b.title), params, a.facts, b.facts)
