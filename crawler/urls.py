"""Canonical URLs: the identity of a story (CONTRACT.md "the stored url").

The stored URL is the redirect target with tracking parameters and the fragment removed,
or the page's rel=canonical when it points to the same site. "Same site" means the same
registrable domain (public suffix list, bundled with tldextract, no network): that is what
maps an AMP page (``/amp/``, ``amp.example.com``), a print view or a mobile twin
(``m.example.com``) to its article - *because the page says so* in its rel=canonical, as
AMP requires. URL shapes alone are never rewritten: ``/amp`` is not an AMP page on every
site. The one exception is a Google AMP cache URL, which spells out the publisher's URL.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from w3lib.url import canonicalize_url

# Query parameters that only say where a click came from.
TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|"
    r"igshid|ocid|cmpid|ref_src|ref_url|spm|share|amp_js_v|__twitter_impression|"
    r"_hsenc|_hsmi|mkt_tok|xtor|s_cid|fb_action_ids|fb_action_types|fb_ref|fb_source|"
    r"rb_clickid|twclid|ttclid|li_fat_id|usqp|amp_gsa|amp_tf|aoh|csi|referrer)$",
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


@lru_cache(maxsize=1)
def _psl():
    """The public-suffix splitter, from tldextract's bundled snapshot (never fetched)."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None,
                                 include_psl_private_domains=True)


def site_of(url: str) -> str:
    """Registrable domain of a URL ("m.aawsat.com" -> "aawsat.com"; "x.blogspot.com" stays,
    it is a private suffix); the bare host for IP addresses and single-label hosts."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host:
        return ""
    parts = _psl()(host)
    domain = getattr(parts, "top_domain_under_public_suffix", None)
    if domain is None:  # tldextract < 5.3
        domain = parts.registered_domain
    return domain or host.removeprefix("www.")


def same_site(a: str, b: str) -> bool:
    """Same registrable domain: rel=canonical is trusted only within one site (a page may
    not claim another publisher's URL), but across its www/m/amp/print hosts."""
    sa = site_of(a)
    return bool(sa) and sa == site_of(b)


_AMP_CACHE = re.compile(r"^/[a-z]/(?P<s>s/)?(?P<rest>[^/].*)$")


def unwrap_amp_cache(url: str) -> str:
    """``https://www-x-com.cdn.ampproject.org/c/s/www.x.com/a`` -> ``https://www.x.com/a``;
    any other URL unchanged (the cache URL names the publisher's page itself)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host.endswith(".cdn.ampproject.org"):
        return url
    m = _AMP_CACHE.match(parts.path)
    if not m:
        return url
    scheme = "https" if m.group("s") else "http"
    rest = m.group("rest") + (f"?{parts.query}" if parts.query else "")
    return f"{scheme}://{rest}"


def _is_home(url: str) -> bool:
    path = urlsplit(url).path
    return path in ("", "/") or bool(re.fullmatch(r"/(index\.\w+|[a-z]{2}(-[a-z]{2})?/?)", path, re.I))


def choose_canonical(final_url: str, rel_canonical: str | None) -> str:
    """The stored URL: the page's rel=canonical if on the same site, else the final URL.

    A canonical pointing at the home page from an article is a CMS misconfiguration seen on
    news sites (every article would collapse into one row), so it is ignored.
    """
    final_url = unwrap_amp_cache(final_url)
    if rel_canonical:
        absolute = urljoin(final_url, rel_canonical.strip())
        if (absolute.startswith(("http://", "https://")) and same_site(absolute, final_url)
                and not (_is_home(absolute) and not _is_home(final_url))):
            return canonical_url(absolute)
    return canonical_url(final_url)


def link_problem(url: str) -> str | None:
    """Why a link cannot be an article request ("bad link"), None when it can.

    Only http(s) URLs with a host are fetched: ``javascript:``, ``data:``, ``file:``,
    ``mailto:`` links and malformed URLs in a stranger's feed cost that entry alone.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "bad link"
    if parts.scheme.lower() not in ("http", "https") or not host:
        return "bad link"
    return None
