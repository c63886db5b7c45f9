"""config.yaml: the typed, validated configuration.

Validation happens once, here, so the rest of the code can trust every field. Errors are
reported as ``file: key.path: message`` because a user fixing a YAML file needs the key,
not a traceback.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler import PROJECT_URL, __version__, defaults
from crawler.items import SourceRules
from crawler.text.relevance import Lexicon, build_lexicon, read_terms_file, shipped_terms

DEFAULT_CONFIG = defaults.CONFIG_FILE
DEFAULT_DATABASE = defaults.DATABASE
_EVERY = re.compile(r"^every\s+(\d+)\s*(s|m|h)$")


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and the key."""


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"bad regex {value!r}: {exc}") from None
    return value


def parse_every(schedule: str) -> int | None:
    """Seconds of an "every N s/m/h" schedule, None when it is not one."""
    m = _EVERY.match(schedule.strip())
    if not m:
        return None
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]


def check_schedule(value: str) -> str:
    """Accept a 5-field cron line or "every N s|m|h"; APScheduler is the judge of cron."""
    every = parse_every(value)
    if every is not None:
        if every <= 0:
            raise ValueError("an interval must be positive")
        return value
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(f"not a 5-field cron line nor 'every N s|m|h': {value!r}")
    try:
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(f"bad cron line {value!r}: {exc}") from None
    return value


def make_trigger(schedule: str) -> BaseTrigger:
    """The APScheduler trigger of a (validated) ``schedule`` value."""
    every = parse_every(schedule)
    if every is not None:
        return IntervalTrigger(seconds=every, timezone=timezone.utc)
    return CronTrigger.from_crontab(schedule)


def schedule_period(schedule: str) -> float:
    """Seconds between two runs of a schedule (for cron: between its next two fire times).

    The unit of a failing source's backoff, under cron and the scheduler alike."""
    every = parse_every(schedule)
    if every is not None:
        return float(every)
    trigger = CronTrigger.from_crontab(schedule)
    now = datetime.now(timezone.utc)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
    if first is None or second is None:
        return defaults.FALLBACK_PERIOD
    return max((second - first).total_seconds(), 1.0)


def first_run_after(trigger: BaseTrigger, when: datetime) -> datetime | None:
    """The first time `trigger` fires at or after `when`."""
    return trigger.get_next_fire_time(None, when)


def misfire_grace(schedule: str) -> int:
    """A run missed by less than a period (at least 30 s, at most an hour) still runs."""
    return int(max(30.0, min(schedule_period(schedule), 3600.0)))


class CrawlConfig(BaseModel):
    """config.yaml `crawl:` (Scrapy's own settings are derived from it in crawler/settings.py)."""

    model_config = ConfigDict(extra="forbid")

    obey_robots: bool = defaults.OBEY_ROBOTS
    concurrency: int = Field(defaults.CONCURRENCY, ge=1, le=1024)
    per_domain_concurrency: int = Field(defaults.PER_DOMAIN_CONCURRENCY, ge=1, le=256)
    max_listing_pages: int = Field(defaults.MAX_LISTING_PAGES, ge=1, le=10000)
    download_delay: float = Field(defaults.DOWNLOAD_DELAY, ge=0)
    timeout: float = Field(defaults.TIMEOUT, gt=0)
    max_page_bytes: int = Field(defaults.MAX_PAGE_BYTES, gt=0)
    user_agent: str = f"defnews/{__version__} (+{PROJECT_URL})"
    redis_url: str | None = None
    # Start of every Redis key of this deployment (several can share one Redis database).
    redis_prefix: str = Field(defaults.REDIS_PREFIX, pattern=r"^[A-Za-z0-9_.:-]*$", max_length=100)
    retries: int = Field(defaults.RETRIES, ge=0, le=20)
    retention_days: float = Field(defaults.RETENTION_DAYS, gt=0)

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, v: str | None) -> str | None:
        if v is not None and urlsplit(v).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"not a redis:// URL: {v!r}")
        return v


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9-]+$")
    url: str
    feeds: list[str] = []
    sitemaps: list[str] = []
    start_urls: list[str] = []
    article_pattern: str | None = None
    allowed_domains: list[str] = []
    schedule: str = defaults.SCHEDULE
    timezone: str = defaults.TIMEZONE
    relevance_filter: bool = False
    relevance_threshold: float | None = Field(None, ge=0, le=1)  # None: defaults.RELEVANCE_THRESHOLD
    boilerplate: list[str] = []
    # Stories first seen in the last N hours are re-checked for corrections; 0: never.
    recheck_hours: float = Field(defaults.RECHECK_HOURS, ge=0, le=24 * 31)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v)

    @field_validator("feeds", "sitemaps", "start_urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        return [_check_url(u) for u in v]

    @field_validator("article_pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        return None if v is None else _check_regex(v)

    @field_validator("boilerplate")
    @classmethod
    def _boilerplate(cls, v: list[str]) -> list[str]:
        return [_check_regex(p) for p in v]

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {v!r}") from None
        return v

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str) -> str:
        return check_schedule(v)

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        for d in v:
            if not re.fullmatch(r"[A-Za-z0-9.-]+(:\d+)?", d):
                raise ValueError(f"not a host name: {d!r}")
        return [d.lower() for d in v]

    @model_validator(mode="after")
    def _something_to_crawl(self) -> "SourceConfig":
        if not (self.feeds or self.sitemaps or self.start_urls):
            # The home page is a listing page when nothing else is given.
            self.start_urls = [self.url]
        return self

    @property
    def domains(self) -> list[str]:
        """Hosts that may be fetched: the configured list, else the hosts of every URL."""
        if self.allowed_domains:
            return self.allowed_domains
        hosts: list[str] = []
        for u in [self.url, *self.feeds, *self.sitemaps, *self.start_urls]:
            host = (urlsplit(u).hostname or "").lower()
            if host.startswith("www."):
                host = host[4:]
            if host and host not in hosts:
                hosts.append(host)
        return hosts

    @property
    def threshold(self) -> float:
        """The relevance score a story needs to be kept (with relevance_filter: true)."""
        return defaults.RELEVANCE_THRESHOLD if self.relevance_threshold is None else self.relevance_threshold

    @property
    def reject_below(self) -> float:
        """A recorded rejection holds (the story is not fetched again) while its score is
        below this: the threshold, or 0 once the filter is switched off."""
        return self.threshold if self.relevance_filter else 0.0

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def rules(self, learned: frozenset[str] = frozenset(), lexicon: Lexicon | None = None) -> SourceRules:
        """What extraction needs of this source, the one object the crawl's workers and
        `defnews extract` both receive; ``learned`` are its learned boilerplate lines,
        ``lexicon`` the relevance vocabulary with the user's layer (None: shipped only)."""
        return SourceRules(name=self.name, timezone=self.timezone, boilerplate=tuple(self.boilerplate),
                           learned=learned, relevance_filter=self.relevance_filter,
                           relevance_threshold=self.threshold, lexicon=lexicon)


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database: str = DEFAULT_DATABASE
    crawl: CrawlConfig = CrawlConfig()
    relevance_terms: str | None = None  # a vocabulary file of the user's own (relevance_terms.yaml shape)
    sources: list[SourceConfig] = []
    _relevance_layer: dict | None = PrivateAttr(default=None)

    @field_validator("relevance_terms")
    @classmethod
    def _terms_path(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("an empty path")
        return v

    def relevance_lexicon(self) -> Lexicon | None:
        """The shipped vocabulary with the user's additions; None when there are none
        (the default vocabulary then needs no pickling to the workers)."""
        if not self._relevance_layer:
            return None
        return build_lexicon(shipped_terms(), self._relevance_layer)

    @model_validator(mode="after")
    def _unique_names(self) -> "Config":
        seen: set[str] = set()
        for i, s in enumerate(self.sources):
            if s.name in seen:
                raise ValueError(f"sources[{i}].name: duplicate source name {s.name!r}")
            seen.add(s.name)
        return self

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources) or "none"
        raise KeyError(f"unknown source {name!r} (configured: {known})")


@dataclass(frozen=True)
class Loaded:
    path: Path | None
    config: Config


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def parse_config(data: Any, origin: str = "<config>") -> Config:
    """Validate a parsed YAML document; raise ConfigError naming origin and key path."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: (top level): expected a mapping, got {type(data).__name__}")
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            lines.append(f"{origin}: {_key_path(err['loc'])}: {msg}")
        raise ConfigError("\n".join(lines)) from None
    if cfg.relevance_terms:
        cfg._relevance_layer = _load_terms(cfg.relevance_terms, origin)
    return cfg


def _load_terms(path: str, origin: str) -> dict:
    """Read and check the user's vocabulary file (relative to the config file's folder)."""
    p = Path(path).expanduser()
    if not p.is_absolute() and origin and not origin.startswith("<"):
        p = Path(origin).parent / p
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{origin}: relevance_terms: cannot read {p}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None
    try:
        layer = read_terms_file(text, str(p))
        build_lexicon(shipped_terms(), layer)
    except ValueError as exc:
        raise ConfigError("\n".join(f"{origin}: relevance_terms: {line}"
                                     for line in str(exc).splitlines())) from None
    return layer


def resolve_config_path(path: str | None) -> Path:
    return Path(path or os.environ.get("DEFNEWS_CONFIG") or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str] | None = None, db_url: str | None = None) -> Config:
    """Read and validate config.yaml; --db / DEFNEWS_DB override its database."""
    p = resolve_config_path(str(path) if path else None)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: file not found (pass --config PATH or set DEFNEWS_CONFIG)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML: {exc}") from None
    cfg = parse_config(data, str(p))
    override = db_url or os.environ.get("DEFNEWS_DB")
    if override:
        cfg = cfg.model_copy(update={"database": override})
    return cfg
