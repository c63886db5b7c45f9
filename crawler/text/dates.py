"""Publication date: feed entry > page metadata > a date printed near the headline > nothing.

htmldate and trafilatura are not asked: given a page whose only date is Arabic text they
return January 1st of some year, a wrong date that looks known. Every source here is
explicit, and the second element of the result says which one gave the date, so a date
read from text is never mistaken for one the publisher declared.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from crawler.text.arabic import (day_at_utc_midnight, find_dates, get_zone, normalize, to_ascii_digits,
                                 words_besides_dates)
from crawler.text.clean import is_meta_composite
from crawler.text.facts import as_facts
from crawler.text.meta import headline_index

_PUBLISHED_KEYS = (
    "article:published_time", "og:article:published_time", "og:published_time",
    "datepublished", "article.published", "pubdate", "publishdate", "publish-date",
    "publish_date", "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.issued",
    "dc.date", "dcterms.created", "date", "article_date_original", "cxenseparse:recs:publishtime",
)
_ISO_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_DAY_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)


def parse_machine_date(value: str, tz: str = "UTC") -> datetime | None:
    """An ISO-8601, RFC 2822 or printed date from metadata, as aware UTC; None if unreadable.

    A time of day without a zone is read in the source's timezone; a day alone
    ("2023-11-05") keeps its calendar day at 00:00 UTC (CONTRACT.md, export columns).
    """
    value = to_ascii_digits(value.strip())
    if not value:
        return None
    zone = get_zone(tz)
    d: datetime | None = None
    if _DAY_ONLY.match(value):
        try:
            return day_at_utc_midnight(date.fromisoformat(value[:10]))
        except ValueError:
            return None
    if _ISO_LIKE.match(value):
        v = value.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", value) else value
        v = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", v)  # +0300 -> +03:00
        v = re.sub(r"\.\d+(?=[Z+-]|$)", "", v)  # fractional seconds of any length
        try:
            d = datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            d = None
    if d is None and re.match(r"^[A-Za-z]{3},", value):
        try:
            d = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            d = None
    if d is None:
        found = [f for f in find_dates(value, tz=zone) if f.kind not in ("month", "relative")]
        return found[0].value if found else None
    if d.tzinfo is None:
        d = d.replace(tzinfo=zone)
    return d.astimezone(timezone.utc)


def _plausible(d: datetime | None, fetched_at: datetime) -> bool:
    return d is not None and _EARLIEST <= d <= fetched_at + timedelta(days=1)


def meta_date(tree, *, tz: str, fetched_at: datetime) -> datetime | None:
    """The date the publisher declares: meta tags, JSON-LD datePublished, <time datetime>."""
    page = as_facts(tree)
    if page.tree is None:
        return None
    for value in page.meta_values(_PUBLISHED_KEYS):
        d = parse_machine_date(value, tz)
        if _plausible(d, fetched_at):
            return d
    for obj in page.articles_first:
        for key in ("datePublished", "dateCreated"):
            value = obj.get(key)
            if isinstance(value, str):
                d = parse_machine_date(value, tz)
                if _plausible(d, fetched_at):
                    return d
    # <time datetime> of the story only: inside <article>/<main>, marked as the publication
    # time, or next to the headline; a sidebar's "latest news" times are not the story's.
    times = page.tree.xpath(
        '//time[@pubdate][@datetime] | //article//time[@datetime] | //main//time[@datetime]'
        ' | //h1/ancestor::*[position() <= 2][not(self::body) and not(self::html)]//time[@datetime]'
        ' | //time[@datetime][contains(@class, "publish") or contains(@class, "entry-date")]'
        # hAtom/microformats (Blogger and older themes): <abbr class="published" title="ISO">
        ' | //*[contains(@class, "published") or contains(@class, "dtstart")][@title or @datetime]'
    )
    for el in times:
        d = parse_machine_date(el.get("datetime") or el.get("title") or "", tz)
        if _plausible(d, fetched_at):
            return d
    return None


def printed_date(tree, *, title: str, tz: str, fetched_at: datetime,
                 lines: list[str] | None = None) -> datetime | None:
    """A day-precise date printed in a short line near the headline (the dateline).

    Long lines are story paragraphs: a date inside one is an event's date, not the
    publication date. A month without a day is not a publication date either.
    """
    page = as_facts(tree)
    lines = lines if lines is not None else page.lines
    idx = headline_index(lines, page, title)
    if idx is None:
        return None
    after = lines[idx + 1: idx + 9]
    before = list(reversed(lines[max(0, idx - 5): idx]))
    for line in after + before:
        if len(line) > 160:
            continue
        found = [f for f in find_dates(line, tz=tz, now=fetched_at) if f.kind != "month"]
        # A dateline is a date and date words, maybe a byline ("كتب: أحمد علي - 5 سبتمبر"),
        # or metadata segments around the date: "كتب: … | الأحد 5 نوفمبر 2023 | المشاهدات: 532".
        if not found or (len(words_besides_dates(line, found)) > 4 and not is_meta_composite(line)):
            continue
        best = next((f for f in found if f.kind != "hijri"), found[0])
        if _plausible(best.value, fetched_at):
            return best.value
    return None


def resolve_date(tree, text: str, *, feed_date: datetime | None, tz: str,
                 fetched_at: datetime, title: str = "",
                 lines: list[str] | None = None) -> tuple[datetime | None, str]:
    """(published_at in UTC or None, where it came from: feed | meta | text | none)."""
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=timezone.utc)
    if feed_date is not None:
        if feed_date.tzinfo is None:
            feed_date = feed_date.replace(tzinfo=get_zone(tz))
        return feed_date.astimezone(timezone.utc), "feed"
    page = as_facts(tree)
    d = meta_date(page, tz=tz, fetched_at=fetched_at)
    if d is not None:
        return d, "meta"
    if not title and page.tree is not None:
        title = page.title_tag
    d = printed_date(page, title=title, tz=tz, fetched_at=fetched_at, lines=lines)
    if d is not None:
        return d, "text"
    return None, "none"


__all__ = ["resolve_date", "meta_date", "printed_date", "parse_machine_date", "normalize"]
