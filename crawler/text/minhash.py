"""datasketch's "affine32" MinHash, computed with numpy (the numeric half of
crawler/text/fingerprints.py, imported only where signatures are made).

The same hash values as datasketch (checked in tests/test_dedup.py), so stored signatures
stay comparable, without importing datasketch, whose package imports scipy (61 MiB in
every crawl process).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Sequence

import numpy as np

MINHASH_SEED = 1  # datasketch's default seed: the permutations it draws
SIGNATURE_DTYPE = np.dtype("<u4")  # datasketch affine32 hash values, little-endian
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
_EMPTY = np.uint32((1 << 32) - 1)


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int = MINHASH_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations h -> a*h + b mod 2^32 (odd a: a bijection), drawn as
    datasketch draws them; once per process (regenerating them costs more than hashing)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (wrapping arithmetic), datasketch's pre-mix."""
    s1, m1, s2, m2, s3 = _FMIX32
    hv = hv ^ (hv >> s1)
    hv = hv * m1
    hv = hv ^ (hv >> s2)
    hv = hv * m2
    return hv ^ (hv >> s3)


def signature(shingle_set: Sequence[bytes], num_perm: int) -> np.ndarray:
    """MinHash hash values of a shingle set: SHA-1's first 4 bytes (little-endian) of each
    shingle, mixed, permuted, minimum per permutation (datasketch MinHash, affine32)."""
    a, b = _permutations(num_perm)
    if not shingle_set:
        return np.full(num_perm, _EMPTY, dtype=SIGNATURE_DTYPE)
    # Every SHA-1 digest (20 bytes: five little-endian uint32) side by side; the first word
    # of each is the shingle's hash value (one numpy view instead of an int per shingle).
    sha1 = hashlib.sha1
    digests = b"".join([sha1(s).digest() for s in shingle_set])
    hv = np.frombuffer(digests, dtype="<u4")[::5].astype(np.uint32).reshape(-1, 1)
    phv = np.multiply(_fmix32(hv), a)  # (shingles x permutations), then + b in place
    phv += b
    return phv.min(axis=0).astype(SIGNATURE_DTYPE, copy=False)


def pack(sig: np.ndarray) -> bytes:
    return np.asarray(sig, dtype=SIGNATURE_DTYPE).tobytes()
