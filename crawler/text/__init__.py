"""The text work, as pure functions: bytes and strings in, values out; no I/O, no globals.

extract (page bytes -> Record), clean (line rules), arabic (normalisation, Arabic dates),
dates, meta (meta tags, JSON-LD, byline), language, relevance, fingerprints (dedup keys),
learned (which lines may be a source's furniture), page (the per-page function the pool runs).
"""
