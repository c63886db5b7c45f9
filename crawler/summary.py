"""The per-source table printed at the end of a crawl."""

from __future__ import annotations

from typing import IO, Sequence

from rich.console import Console
from rich.table import Table

from crawler.runner import SourceResult

COLUMNS = ("source", "status", "fetched", "new", "duplicate", "existing", "rejected", "failed", "skipped")


def print_summary(results: Sequence[SourceResult], out: IO[str]) -> None:
    table = Table(title="defnews crawl summary", title_justify="left")
    for col in COLUMNS:
        table.add_column(col, justify="left" if col in ("source", "status") else "right")
    # Wall time per source: what its worst case (timeouts, a settled host) cost this run.
    table.add_column("time", justify="right")
    for r in results:
        table.add_row(r.source, r.status, *(str(getattr(r, c)) for c in COLUMNS[2:]), f"{r.seconds:.1f}s")
    if len(results) > 1:
        table.add_row("total", "", *(str(sum(getattr(r, c) for r in results)) for c in COLUMNS[2:]), "")
    console = Console(file=out, width=max(100, 0), highlight=False, soft_wrap=True)
    console.print(table)
    for r in results:
        for err in r.errors:
            console.print(f"  {err}", markup=False)
        for w in r.warnings:
            console.print(f"  {w}", markup=False)
        for label, kinds in (("skipped", r.skips), ("failed", r.failures)):
            if kinds:
                what = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
                console.print(f"  {r.source}: {label}: {what}", markup=False)
