"""Fetch one URL through Scrapy, for `defnews extract URL` (all HTTP goes through Scrapy)."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess

from crawler.config import Config
from crawler.settings import scrapy_settings
from spiders.news import failure_kind


class _OneSpider(scrapy.Spider):
    name = "defnews-extract"

    def __init__(self, url: str, box: dict, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url, self.box = url, box

    async def start(self) -> Any:
        yield scrapy.Request(self.url, callback=self.got, errback=self.failed, dont_filter=True)

    def got(self, response: Any) -> None:
        ctype = response.headers.get("Content-Type", b"").decode("latin-1")
        import re

        m = re.search(r"charset=([\w\-:]+)", ctype, re.I)
        self.box.update(body=response.body, encoding=m.group(1) if m else None, url=response.url)

    def failed(self, failure: Any) -> None:
        # The kind first ("connection reset", "timeout", "HTTP 404", "host ... unreachable"),
        # as the crawl summary names it, then Scrapy's words.
        _, kind = failure_kind(failure)
        response = getattr(failure.value, "response", None)
        detail = f"HTTP {response.status}" if response is not None else str(failure.value)
        self.box["error"] = detail if kind in ("host unreachable", detail) else f"{kind} ({detail[:300]})"


def fetch_one(url: str, cfg: Config | None) -> tuple[bytes, str | None, str]:
    settings = scrapy_settings(cfg or Config(), log_level="ERROR")
    settings.update({"ITEM_PIPELINES": {}, "EXTENSIONS": {}})
    box: dict = {}
    settings["LOG_INSTALL_ROOT_HANDLER"] = False
    process = CrawlerProcess(settings)
    process.crawl(_OneSpider, url=url, box=box)
    process.start()
    if "body" not in box:
        raise RuntimeError(box.get("error") or "not fetched (robots.txt or no response)")
    return box["body"], box["encoding"], box["url"]
