"""The reader's query parameters (CONTRACT.md, "Web reader"), checked before any query
runs: a bad value is the user's to fix, so it gets a 400 that names the parameter and
what is wrong, never a 500. Pure: a mapping of parameters in, a ListParams out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Mapping, Sequence

from crawler import defaults
from storage.reader import Cursor, Filters

FORMATS = ("html", "json", "csv", "atom")
SORTS = ("relevance", "time")
DEFAULT_LIMIT = defaults.PAGE_SIZE
MAX_LIMIT = defaults.MAX_PAGE_SIZE
MAX_QUERY_CHARS = 200
MAX_SOURCES = 50
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")  # config.yaml's source names
_LANG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$", re.I)


class BadRequest(ValueError):
    """A query parameter the reader cannot use; the message says which and why."""


@dataclass(frozen=True)
class ListParams:
    filters: Filters
    format: str = "html"
    limit: int = DEFAULT_LIMIT
    before: Cursor | None = None
    sort: str = "time"
    offset: int = 0


def _one(params: Mapping[str, Sequence[str]], name: str) -> str:
    values = params.get(name) or []
    if len(values) > 1:
        raise BadRequest(f"{name}: give it once, not {len(values)} times")
    return values[0].strip() if values else ""


def parse_when(name: str, value: str, *, end: bool = False) -> datetime | None:
    """An ISO-8601 date or date-time, in UTC. A bare date means its whole day: ``since``
    from its first moment, ``until`` up to its end (``until=2026-11-30`` keeps that day)."""
    if not value:
        return None
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            moment = datetime.combine(d + timedelta(days=1) if end else d, time(), timezone.utc)
            return moment
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+", 1)
                                        if value.count(" ") == 1 and "T" in value
                                        else value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name}: not an ISO-8601 date or date-time: {value!r} "
                         "(for example 2026-11-30 or 2026-11-30T08:00:00+03:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _int(name: str, value: str, default: int, low: int, high: int) -> int:
    if not value:
        return default
    if not re.fullmatch(r"\d{1,9}", value):
        raise BadRequest(f"{name}: not a whole number: {value!r}")
    n = int(value)
    if not low <= n <= high:
        raise BadRequest(f"{name}: must be between {low} and {high}, not {n}")
    return n


def parse_list_params(params: Mapping[str, Sequence[str]], *, default_format: str = "html",
                      max_offset: int = defaults.MAX_OFFSET) -> ListParams:
    """Check every parameter a list takes; raise BadRequest on the first bad one."""
    q = _one(params, "q")
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequest(f"q: at most {MAX_QUERY_CHARS} characters")
    sources = tuple(s.strip() for s in params.get("source", []) if s.strip())
    if len(sources) > MAX_SOURCES:
        raise BadRequest(f"source: at most {MAX_SOURCES} sources")
    for s in sources:
        if not _SOURCE.match(s):
            raise BadRequest(f"source: not a source name: {s!r} (lower-case letters, digits, -)")
    since = parse_when("since", _one(params, "since"))
    until = parse_when("until", _one(params, "until"), end=True)
    if since and until and since >= until:
        raise BadRequest("since: must be before until")
    lang = _one(params, "lang")
    if lang and not _LANG.match(lang):
        raise BadRequest(f"lang: not a language code: {lang!r} (ISO 639-1, for example ar)")
    fmt = _one(params, "format") or default_format
    if fmt not in FORMATS:
        raise BadRequest(f"format: one of {', '.join(FORMATS)}, not {fmt!r}")
    sort = _one(params, "sort") or ("relevance" if q else "time")
    if sort not in SORTS:
        raise BadRequest(f"sort: one of {', '.join(SORTS)}, not {sort!r}")
    if not q:
        sort = "time"
    dups = _one(params, "duplicates")
    if dups not in ("", "0", "1"):
        raise BadRequest(f"duplicates: 1 or 0, not {dups!r}")
    limit = _int("limit", _one(params, "limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int("offset", _one(params, "offset"), 0, 0, max_offset)
    before = None
    token = _one(params, "before")
    if token:
        try:
            before = Cursor.parse(token)
        except (ValueError, OverflowError, OSError):
            raise BadRequest(f"before: not a page position from a 'next' link: {token!r}") from None
    filters = Filters(q=q, sources=sources, since=since, until=until, lang=lang.lower(),
                      duplicates=dups == "1")
    return ListParams(filters, fmt, limit, before, sort, offset)


def story_id(value: str) -> int:
    """A story id from the path; anything else is a 404, as for a missing story."""
    if not re.fullmatch(r"\d{1,18}", value or ""):
        raise LookupError(value)
    return int(value)
