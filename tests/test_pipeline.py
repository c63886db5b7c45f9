"""crawler/pipelines.py StorePipeline, without a crawl: pages in, one RunCounts and stored
rows out; rejected feed entries remembered and learned lines counted with the batch."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

from scrapy.utils.test import get_crawler
from sqlalchemy import func, select

from crawler.config import SourceConfig
from crawler.items import FeedMeta, Page, RunCounts
from crawler.pipelines import StorePipeline
from spiders.news import NewsSpider
from storage.db import open_db
from storage.feed_entries import seen_guids
from storage.models import CrawlRun, Story
from tests.web.fixtureweb import ALPHA_ARTICLES, wp_page

NOW = datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc)
FOOTBALL = """<html lang="ar"><head><title>الوداد يفوز على الرجاء في الدربي</title></head><body><article>
<h1>الوداد يفوز على الرجاء في الدربي</h1>
<p>فاز فريق الوداد على غريمه الرجاء بهدفين مقابل هدف في مباراة الدربي التي أقيمت مساء أمس في ملعب محمد الخامس أمام جمهور غفير.</p>
<p>وسجل المهاجم هدفي الفوز في الشوط الثاني، فيما قلص الرجاء الفارق في الدقائق الأخيرة من المباراة دون أن يتمكن من التعادل.</p>
<p>وبهذا الفوز يعزز الوداد صدارته لترتيب الدوري المغربي بفارق أربع نقاط عن أقرب ملاحقيه قبل خمس جولات من النهاية.</p>
</article></body></html>"""


def _pipeline(tmp_path: Path, *, relevance_filter: bool = False, store_batch: int = 2) -> tuple[StorePipeline, str]:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    src = SourceConfig(name="alpha", url="http://alpha.test/", feeds=["http://alpha.test/feed/"],
                       relevance_filter=relevance_filter)
    crawler = get_crawler(NewsSpider, settings_dict={"DEFNEWS_DATABASE": db, "DEFNEWS_STORE_BATCH": store_batch,
                                                     "DEFNEWS_POOL_BATCH": 2})
    crawler.spider = NewsSpider.from_crawler(crawler, source=src)
    crawler.crawling = True  # as during a crawl: the run ends "ok", not "interrupted"
    return StorePipeline.from_crawler(crawler), db


def _page(i: int, body: str, guid: str = "") -> Page:
    url = f"http://alpha.test/2023/09/story-{i}/"
    return Page("alpha", url, url, body.encode("utf-8"), "utf-8", NOW, FeedMeta(guid=guid) if guid else None)


async def _run(pipe: StorePipeline, pages: list[Page]) -> None:
    pipe.open_spider()
    for p in pages:
        await pipe.process_item(p)
    await pipe.close_spider()


def test_pages_are_stored_and_counted_once(tmp_path: Path) -> None:
    pipe, db = _pipeline(tmp_path)
    pages = [_page(i, wp_page(a, "http://alpha.test")) for i, a in enumerate(ALPHA_ARTICLES[:3])]
    pages.append(_page(9, wp_page(ALPHA_ARTICLES[0], "http://alpha.test", canonical=False)))  # same story, another URL
    asyncio.run(_run(pipe, pages))
    counts = pipe.stats.get_value("defnews/counts")
    assert isinstance(counts, RunCounts)
    assert (counts.source, counts.status, counts.pages, counts.new, counts.duplicates) == ("alpha", "ok", 4, 3, 1)
    engine, factory = open_db(db)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Story)) == 4
        run = s.scalars(select(CrawlRun)).one()
        assert (run.status, run.pages, run.new, run.duplicates) == ("ok", 4, 3, 1)
    engine.dispose()


def test_rejected_feed_entries_are_remembered(tmp_path: Path) -> None:
    pipe, db = _pipeline(tmp_path, relevance_filter=True)
    pages = [_page(1, FOOTBALL, guid="tag:alpha,1"), _page(2, wp_page(ALPHA_ARTICLES[1], "http://alpha.test"), guid="tag:alpha,2")]
    asyncio.run(_run(pipe, pages))
    counts = pipe.stats.get_value("defnews/counts")
    assert (counts.rejected, counts.new) == (1, 1)
    engine, factory = open_db(db)
    with factory() as s:
        assert seen_guids(s, "alpha", ["tag:alpha,1", "tag:alpha,2", "tag:alpha,3"]) == {"tag:alpha,1", "tag:alpha,2"}
        assert [st.title for st in s.scalars(select(Story))] == [ALPHA_ARTICLES[1].title]
    engine.dispose()


def test_a_page_that_breaks_extraction_costs_that_page(tmp_path: Path) -> None:
    pipe, db = _pipeline(tmp_path)
    pages = [_page(1, "<html><body></body></html>"), _page(2, wp_page(ALPHA_ARTICLES[2], "http://alpha.test"))]
    asyncio.run(_run(pipe, pages))
    counts = pipe.stats.get_value("defnews/counts")
    assert (counts.pages, counts.new, counts.empty) == (2, 1, 1)


def test_seed_errors_fail_a_run_that_fetched_nothing(tmp_path: Path) -> None:
    pipe, _ = _pipeline(tmp_path)
    pipe.crawler.spider.seed_error("feed http://alpha.test/feed/ failed: HTTP 500")
    asyncio.run(_run(pipe, []))
    counts = pipe.stats.get_value("defnews/counts")
    assert counts.status == "failed"
    assert counts.failed == 1 and "HTTP 500" in counts.errors[0]
