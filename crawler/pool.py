"""The extraction pool: worker processes that run crawler.text.page.process_batch.

A spawned worker imports this module and crawler.text.page only (the pool's initializer
and task are pickled by reference, so they live in a module as lean as the work they set
up): nothing of Scrapy, Twisted or SQLAlchemy is imported here, and the crawl process
imports nothing of the extraction through it.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import types
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import TYPE_CHECKING, Any

from crawler import defaults

if TYPE_CHECKING:
    from crawler.items import Page, Processed, SourceRules


def extract_batch(pages: list[Page], rules: SourceRules) -> list[Processed]:
    """The pool's task: crawler.text.page.process_batch, imported where it runs. The crawl
    process only names it, so it does not load trafilatura, jusText and htmldate (~6 MiB)
    for pages its workers extract."""
    from crawler.text.page import process_batch

    return process_batch(pages, rules)


def init_worker() -> None:
    # Ctrl-C goes to the whole process group: the parent stops the crawl cleanly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.environ.get("DEFNEWS_MALLOC", "tame") == "tame":  # a spawned worker starts untuned
        tame_malloc()
    from crawler.text.page import warm_up

    warm_up()


def tame_malloc() -> None:
    """glibc only: a fixed mmap threshold and two malloc arenas, so memory stays flat.

    A crawl allocates and frees page bodies (100 KB - 1 MB) by the thousand. glibc raises
    its mmap threshold after the first such frees, so later bodies land on the heap, and
    every thread that touches them (reactor, SQL writer, pool feeder) gets its own arena:
    the freed memory is kept in fragments and RSS creeps up with the pages crawled. Pool
    workers forked afterwards inherit the setting.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc: nothing to tune
        return
    m_mmap_threshold, m_arena_max = -3, -8
    mallopt(m_mmap_threshold, 128 * 1024)
    mallopt(m_arena_max, 2)


class _LeanProcess(SpawnProcess):
    """A spawned pool worker that imports only what it runs (crawler.text.page, by the
    pickled task), not the parent's ``__main__``.

    multiprocessing makes a spawned child import the parent's main module first, so that
    objects defined there unpickle: for ``defnews crawl`` that is crawler.cli (SQLAlchemy,
    pydantic, the storage layer: +18 MiB per worker) although the pool's only task is
    ``crawler.text.page.process_batch``. The main module is hidden while the child's start
    data are written (a few milliseconds, on the thread that submits)."""

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")  # no __spec__, no __file__
        try:
            return SpawnProcess._Popen(process_obj)
        finally:
            sys.modules["__main__"] = main


class _LeanSpawnContext(SpawnContext):
    Process = _LeanProcess


def make_pool(workers: int | None = None, start: str | None = None) -> ProcessPoolExecutor:
    """The extraction pool, started lazily: its workers start at the first batch.

    `start` (default: $DEFNEWS_POOL_START, else defaults.POOL_START):
    - "spawn": each worker is a fresh interpreter that imports crawler.text.page only
      (~55 MiB, ~0.3 s CPU) instead of a copy of the crawl process (Scrapy, Twisted,
      SQLAlchemy, the reactor's heap: a forked worker's RSS starts at the parent's, and
      Python's reference counts soon make its pages private);
    - "fork": workers inherit the loaded modules (~0.1 s to start). The zygote's crawls use
      it: their modules are already shared with the zygote, which warmed them up.
    Lazily: most scheduled runs find nothing new, and starting and warming up a worker per
    core costs more CPU than the rest of such a run."""
    start = start or os.environ.get("DEFNEWS_POOL_START") or defaults.POOL_START
    ctx = _LeanSpawnContext() if start == "spawn" else multiprocessing.get_context(start)
    return ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=ctx,
                               initializer=init_worker)
