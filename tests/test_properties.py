"""Property tests (hypothesis) for the pure text functions: a stranger's page is arbitrary
text, so none of them may raise on it, and those that normalise must be idempotent."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.text.arabic import find_dates, normalize, parse_date
from crawler.text.clean import clean_text
from crawler.text.decoding import decode_html, strip_controls
from crawler.text.story_facts import facts_conflict, story_facts
from crawler.text.fingerprints import compare, dedup_keys, fingerprint, words
from crawler.text.parsing import flatten_deep_markup, parse_html
from crawler.urls import canonical_url, strip_tracking

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإؤئةىًٌٍَُِّْـ٠١٢٣٤٥٦٧٨٩،؛؟"
# Arabic letters and marks, digits of both kinds, punctuation, whitespace, controls, Latin.
arabic_text = st.text(alphabet=st.sampled_from(ARABIC + " \n\t.:-|«»0123456789abcXYZ\x00\x1b\u200f"),
                      max_size=400)
any_text = st.one_of(arabic_text, st.text(max_size=300))
NOW = datetime(2025, 3, 1, tzinfo=timezone.utc)
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@PROPS
@given(any_text)
def test_normalize_never_raises_and_is_idempotent(s):
    once = normalize(s)
    assert normalize(once) == once


@PROPS
@given(any_text, any_text)
def test_clean_text_never_raises_and_is_idempotent(s, title):
    once = clean_text(s, title=title)
    assert clean_text(once, title=title) == once


@PROPS
@given(any_text)
def test_date_parsing_never_raises(s):
    for found in find_dates(s, tz="Asia/Riyadh", now=NOW):
        assert found is not None
    d = parse_date(s, tz="Africa/Cairo", now=NOW)
    assert d is None or d.tzinfo is not None


urls = st.one_of(
    st.text(max_size=120),
    st.builds(lambda host, path, q: f"http://{host}/{path}?{q}",
              st.text(alphabet="abcxyz.-0123456789", min_size=1, max_size=20),
              st.text(max_size=40), st.text(max_size=40)),
    st.builds(lambda path, q, frag: f"https://news.example/{path}?{q}#{frag}",
              st.text(max_size=30), st.text(alphabet="a=&utm_source1%é؟ ", max_size=40), st.text(max_size=10)),
)


@PROPS
@given(urls)
def test_url_canonicalisation_never_raises_and_is_idempotent(u):
    once = canonical_url(u)
    assert canonical_url(once) == once
    assert strip_tracking(strip_tracking(u)) == strip_tracking(u)


@PROPS
@given(any_text, any_text)
def test_fingerprints_never_raise_and_ignore_spelling(title, text):
    keys = dedup_keys(title, text)
    assert keys == dedup_keys(title, text)
    # The exact key is one of the normalised words: a normalised copy is the same story.
    assert fingerprint(words(normalize(text))) == fingerprint(words(text))
    if keys.fingerprint:
        assert compare(keys, dedup_keys(title, normalize(text)))


@PROPS
@given(any_text, any_text)
def test_facts_never_raise_and_agree_with_themselves(a, b):
    fa, fb = story_facts(a), story_facts(b)
    assert story_facts(a) == fa
    assert not facts_conflict(fa, fa)
    assert facts_conflict(fa, fb) == facts_conflict(fb, fa)


@PROPS
@given(st.binary(max_size=600), st.sampled_from([None, "utf-8", "windows-1256", "text/html; charset=utf-8",
                                                 "iso-8859-1", "no-such-charset"]))
def test_decoding_never_raises_and_leaves_no_control_characters(body, declared):
    text = decode_html(body, declared)
    assert not CONTROLS.search(text)
    assert strip_controls(text) == text


@PROPS
@given(any_text)
def test_parse_and_flatten_never_raise(s):
    html = f"<html><body><div>{s}</div></body></html>"
    parse_html(html)
    flat = flatten_deep_markup(html, max_depth=3)
    assert flatten_deep_markup(flat, max_depth=3) == flat
