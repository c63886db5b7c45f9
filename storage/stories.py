"""Writing stories: idempotent by canonical URL, one transaction per batch.

(Simple version: URL-level idempotence only; dedup across URLs lands with issue 4.)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import Record
from storage.models import Story


@dataclass
class Outcome:
    status: str  # "new" | "duplicate" | "exists"
    story_id: int | None
    duplicate_of: int | None = None


def store_records(factory: sessionmaker[Session], records: list[Record],
                  run_id: int | None = None) -> list[Outcome]:
    out: list[Outcome] = []
    with factory.begin() as session:
        urls = [r.url for r in records]
        existing = dict(session.execute(select(Story.url, Story.id).where(Story.url.in_(urls))).all())
        for r in records:
            if r.url in existing:
                out.append(Outcome("exists", existing[r.url]))
                continue
            story = Story(source=r.source, url=r.url, title=r.title, text=r.text, author=r.author,
                          published_at=r.published_at, date_source=r.date_source,
                          language=r.language, fetched_at=r.fetched_at, relevance=r.relevance,
                          guid=r.guid or None, run_id=run_id)
            session.add(story)
            session.flush()
            existing[r.url] = story.id
            out.append(Outcome("new", story.id))
    return out
