"""Publication date: feed entry > page metadata > a date printed near the headline."""

from __future__ import annotations

from datetime import datetime, timezone


def resolve_date(tree, text: str, *, feed_date: datetime | None, tz: str,  # noqa: ANN001
                 fetched_at: datetime) -> tuple[datetime | None, str]:
    if feed_date is not None:
        return feed_date.astimezone(timezone.utc), "feed"
    if tree is not None:
        for v in tree.xpath('//meta[@property="article:published_time"]/@content'):
            try:
                d = datetime.fromisoformat(v.strip())
            except ValueError:
                continue
            if d.tzinfo is None:
                from zoneinfo import ZoneInfo
                d = d.replace(tzinfo=ZoneInfo(tz))
            return d.astimezone(timezone.utc), "meta"
    return None, "none"
