"""Canonical URLs: the identity of a story (CONTRACT.md "the stored url")."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from w3lib.url import canonicalize_url, url_query_cleaner

# Query parameters that only say where a click came from.
TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|"
    r"igshid|ocid|cmpid|ref_src|ref_url|spm|share|amp_js_v|__twitter_impression)$",
    re.I,
)


def strip_tracking(url: str) -> str:
    """Remove tracking parameters and the fragment, keep everything else as it is."""
    parts = urlsplit(url)
    if parts.query:
        from urllib.parse import parse_qsl, urlencode

        kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                if not TRACKING_PARAMS.match(k)]
        url = parts._replace(query=urlencode(kept, doseq=True)).geturl()
    return url.split("#", 1)[0]


def canonical_url(url: str) -> str:
    """Stable key of a URL: tracking params and fragment removed, query sorted, host lower."""
    return canonicalize_url(strip_tracking(url), keep_fragments=False)


def same_site(a: str, b: str) -> bool:
    """Hosts equal up to a leading www. (rel=canonical is trusted only on the same site)."""
    ha = (urlsplit(a).hostname or "").lower().removeprefix("www.")
    hb = (urlsplit(b).hostname or "").lower().removeprefix("www.")
    return bool(ha) and ha == hb


def choose_canonical(final_url: str, rel_canonical: str | None) -> str:
    """The stored URL: the page's rel=canonical if on the same site, else the final URL."""
    if rel_canonical:
        absolute = urljoin(final_url, rel_canonical.strip())
        if absolute.startswith(("http://", "https://")) and same_site(absolute, final_url):
            return canonical_url(absolute)
    return canonical_url(final_url)
