"""The script a user writes instead of a crawler: feedparser + urllib + trafilatura, serially.

Run by bench/throughput.py as a subprocess (so it is metered like the others):
    python bench/plain_loop.py FEED_URL...
Prints the number of pages extracted.
"""

from __future__ import annotations

import sys
import urllib.request

import feedparser
import trafilatura


def main(feeds: list[str]) -> int:
    done = 0
    for feed_url in feeds:
        with urllib.request.urlopen(feed_url, timeout=30) as r:
            parsed = feedparser.parse(r.read())
        for entry in parsed.entries:
            with urllib.request.urlopen(entry.link, timeout=30) as r:
                body = r.read()
            if trafilatura.extract(body, url=entry.link):
                done += 1
    print(done)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
