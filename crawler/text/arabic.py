"""Arabic text for matching, and Arabic dates as news sites print them.

Normalisation is for *matching* only (headline repeats, lexicons, boilerplate counts): the
stored text keeps its diacritics and spelling as published (DESIGN.md, decision 6).

Dates are parsed with our own patterns rather than dateparser: dateparser 1.5 returns None
for a weekday-prefixed Levantine date ("الثلاثاء، 5 أيلول 2023") and for "كانون 2 2024", and
htmldate/trafilatura invent January 1st when the only date is Arabic text. A small grammar
over normalised text (both month systems, Maghreb spellings, Hijri months, Arabic-Indic
digits, 12-hour ص/م times, "منذ 3 ساعات") is predictable and fast.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Harakat, tanween, shadda, sukun, superscript alef, Quranic marks, tatweel.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_LETTERS = str.maketrans({
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
    "ى": "ي", "ی": "ي", "ئ": "ي", "ؤ": "و", "ة": "ه", "ۀ": "ه", "ک": "ك", "ڪ": "ك",
})
_SPACES = re.compile(r"\s+")


def to_ascii_digits(text: str) -> str:
    """Arabic-Indic (٠-٩) and Persian (۰-۹) digits to 0-9; nothing else changes."""
    return text.translate(_DIGITS)


def normalize(text: str, *, keep_punct: bool = False) -> str:
    """Fold the spellings one word has in Arabic print to one form, for comparison.

    Diacritics and tatweel go, alef/hamza forms become bare alef, alef maqsura becomes yaa,
    taa marbuta becomes haa, digits become ASCII, Latin is lower-cased; punctuation becomes
    a space unless ``keep_punct``; whitespace is collapsed.

    Short texts (a line, a heading, a menu entry) are remembered: the rules each ask for
    the same line's form, and a site prints the same furniture on every page.
    """
    if len(text) <= _REMEMBERED_CHARS:
        return _normalize_short(text, keep_punct)
    return _normalize(text, keep_punct)


_REMEMBERED_CHARS = 200


@lru_cache(maxsize=8192)
def _normalize_short(text: str, keep_punct: bool) -> str:
    return _normalize(text, keep_punct)


class _Folding(dict):
    """The whole of normalize but the lower-casing and the space collapsing, as one
    ``str.translate`` table: zero-width marks and diacritics deleted, letters and digits
    folded and (``keep_punct`` False) punctuation turned into a space, in one pass over
    the text instead of six (two regex substitutions, two translations, then punctuation
    and spaces). ``str.translate`` looks each character up in the table; a character met
    for the first time is classified here once and remembered (a few hundred distinct
    characters over a crawl), so the table never holds the 1.1 million code points.
    "Punctuation" is what ``[^\\w\\s]|_`` matches, by the same Unicode properties."""

    #: Characters remembered at most (a page of random code points must not grow it forever).
    LIMIT = 20_000

    def __init__(self, keep_punct: bool) -> None:
        super().__init__()
        self.keep_punct = keep_punct

    def __missing__(self, code: int) -> int | str | None:
        ch = chr(code)
        value: int | str | None
        if _DIACRITICS.match(ch) or _ZERO_WIDTH.match(ch):
            value = None
        elif code in _LETTERS:
            value = _LETTERS[code]
        elif code in _DIGITS:
            value = _DIGITS[code]
        elif not self.keep_punct and (ch == "_" or not (ch.isalnum() or ch.isspace())):
            value = " "
        else:
            value = code
        if len(self) < self.LIMIT:
            self[code] = value
        return value


_FOLD = _Folding(keep_punct=False)
_FOLD_KEEP_PUNCT = _Folding(keep_punct=True)


def _normalize(text: str, keep_punct: bool) -> str:
    # Lower-cased first, as before: what lower() makes of a letter ("İ" -> "i" + U+0307)
    # is then classified like any other character.
    text = text.lower().translate(_FOLD_KEEP_PUNCT if keep_punct else _FOLD)
    return " ".join(text.split())


def arabic_ratio(text: str) -> float:
    """Share of letters that are in the Arabic script (0 when there are no letters)."""
    letters = sum(map(str.isalpha, text))  # map over a C method: no generator step per character
    if not letters:
        return 0.0
    return sum(map(str.isalpha, _ARABIC_BLOCKS.findall(text))) / letters


_ARABIC_BLOCKS = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")


# ---------------------------------------------------------------------------------------
# Months. Keys are written as printed; they are normalised once when the table is built.

_GREGORIAN_MONTHS: dict[str, int] = {
    # Egypt / Gulf (transliterated Latin months)
    "يناير": 1, "فبراير": 2, "مارس": 3, "أبريل": 4, "إبريل": 4, "مايو": 5, "يونيو": 6,
    "يونيه": 6, "يوليو": 7, "يوليه": 7, "أغسطس": 8, "أغسطوس": 8, "سبتمبر": 9, "أكتوبر": 10,
    "اكتوبر": 10, "نوفمبر": 11, "ديسمبر": 12,
    # Morocco
    "ماي": 5, "يوليوز": 7, "غشت": 8, "شتنبر": 9, "نونبر": 11, "دجنبر": 12,
    # Algeria / Tunisia (French)
    "جانفي": 1, "فيفري": 2, "أفريل": 4, "جوان": 6, "جويلية": 7, "جويليه": 7, "أوت": 8,
    # Levant / Iraq (Syriac months)
    "كانون الثاني": 1, "كانون ثاني": 1, "كانون 2": 1, "شباط": 2, "آذار": 3, "نيسان": 4,
    "أيار": 5, "حزيران": 6, "تموز": 7, "آب": 8, "أيلول": 9, "تشرين الأول": 10,
    "تشرين أول": 10, "تشرين 1": 10, "تشرين الثاني": 11, "تشرين ثاني": 11, "تشرين 2": 11,
    "كانون الأول": 12, "كانون أول": 12, "كانون 1": 12,
}
_HIJRI_MONTHS: dict[str, int] = {
    "محرم": 1, "المحرم": 1, "صفر": 2, "ربيع الأول": 3, "ربيع أول": 3, "ربيع الآخر": 4,
    "ربيع الثاني": 4, "ربيع ثاني": 4, "جمادى الأولى": 5, "جمادى الأول": 5,
    "جمادى الآخرة": 6, "جمادى الثانية": 6, "جمادى الآخر": 6, "رجب": 7, "شعبان": 8,
    "رمضان": 9, "شوال": 10, "ذو القعدة": 11, "ذي القعدة": 11, "ذو الحجة": 12, "ذي الحجة": 12,
}
_ENGLISH_MONTHS: dict[str, int] = {
    m: i for i, names in enumerate([
        ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
        ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
        ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
        ("december", "dec"),
    ], start=1) for m in names
}


@lru_cache(maxsize=1)
def _month_tables() -> tuple[dict[str, int], dict[str, int], re.Pattern, re.Pattern, re.Pattern]:
    greg = {normalize(k): v for k, v in _GREGORIAN_MONTHS.items()}
    greg.update(_ENGLISH_MONTHS)
    hij = {normalize(k): v for k, v in _HIJRI_MONTHS.items()}

    def alternation(keys: list[str]) -> str:
        # Longest first so "كانون الثاني" wins over a shorter prefix.
        return "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(keys, key=len, reverse=True))

    g = alternation(list(greg))
    h = alternation(list(hij))
    # A month may carry its other-system name: "آب/اغسطس", "سبتمبر (أيلول)", "9 - سبتمبر".
    month = rf"(?P<month>{g})(?:\s*[/\-(]\s*(?:{g})\s*\)?)?"
    greg_re = re.compile(
        rf"(?<![\w])(?:(?P<day>\d{{1,2}})\s*(?:[/\-.]\s*)?(?:من\s+)?{month}\s*[,،/\-.]?\s*(?P<year>\d{{4}})"
        rf"|{month.replace('month', 'month2')}\s+(?P<day2>\d{{1,2}})\s*[,،]?\s*(?P<year2>\d{{4}}))(?!\d)",
        re.I,
    )
    hij_re = re.compile(
        rf"(?<![\w])(?P<day>\d{{1,2}})\s*(?:من\s+)?(?P<month>{h})\s*[,،]?\s*(?P<year>1[34]\d\d)\s*(?:ه|هـ|هجري|هجريه)?(?![\w])"
    )
    month_year_re = re.compile(rf"(?<![\w])(?<!\d\s)(?P<month>{g})\s*[,،/\-]?\s*(?P<year>(?:19|20)\d\d)(?!\d)", re.I)
    return greg, hij, greg_re, hij_re, month_year_re


# Every pattern below but _RELATIVE holds a four-digit year (\d: any Unicode decimal digit).
_FOUR_DIGITS = re.compile(r"\d{4}")
_NUMERIC_ISO = re.compile(r"(?<!\d)(?P<year>(?:19|20)\d\d)[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})(?!\d)")
_NUMERIC_DMY = re.compile(r"(?<![\d/.\-])(?P<day>\d{1,2})[-/.](?P<month>\d{1,2})[-/.](?P<year>(?:19|20)\d\d)(?!\d)")
_TIME = re.compile(
    r"(?<![\d:])(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?"
    r"(?:\s*(?P<ampm>ص|م|صباحا|مساء|ظهرا|ليلا|فجرا|am|pm|a\.m\.|p\.m\.)(?![\w]))?",
    re.I,
)
_OFFSET = re.compile(r"(?:gmt|utc|غرينتش|جرينتش|غرينيتش)\s*(?P<sign>[+-])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?", re.I)
_UTC_WORD = re.compile(r"(?:بتوقيت\s+)?(?:gmt|utc|غرينتش|جرينتش|غرينيتش)(?!\s*[+-]\s*\d)", re.I)
_RELATIVE = re.compile(
    r"(?:منذ|قبل)\s+(?:(?P<n>\d+)\s+)?(?P<unit>ثانيه|ثواني|ثوان|دقيقه|دقيقتين|دقيقتان|دقايق|دقائق|ساعه|ساعتين|ساعتان|ساعات|"
    r"يوم|يومين|يومان|ايام|اسبوع|اسبوعين|اسابيع|شهر|شهرين|اشهر|شهور)(?![\w])"
)
# unit -> (seconds, count implied when no number is printed: duals mean two)
_UNITS: dict[str, tuple[int, int]] = {
    "ثانيه": (1, 1), "ثواني": (1, 1), "ثوان": (1, 1), "دقيقه": (60, 1), "دقيقتين": (60, 2),
    "دقيقتان": (60, 2), "دقايق": (60, 1), "دقائق": (60, 1), "ساعه": (3600, 1),
    "ساعتين": (3600, 2), "ساعتان": (3600, 2), "ساعات": (3600, 1), "يوم": (86400, 1),
    "يومين": (86400, 2), "يومان": (86400, 2), "ايام": (86400, 1), "اسبوع": (604800, 1),
    "اسبوعين": (604800, 2), "اسابيع": (604800, 1), "شهر": (2592000, 1),
    "شهرين": (2592000, 2), "اشهر": (2592000, 1), "شهور": (2592000, 1),
}


@dataclass(frozen=True)
class FoundDate:
    """A date read from text: where it was, and whether a time of day was printed."""

    value: datetime  # aware, UTC
    start: int
    end: int
    has_time: bool
    kind: str  # gregorian | hijri | numeric | relative | month (no day printed)


def hijri_to_gregorian(year: int, month: int, day: int) -> date:
    """Tabular (arithmetic) Islamic calendar; within a day of Umm al-Qura, which is enough
    for a page that prints only a Hijri date."""
    jd = (day + math.ceil(29.5 * (month - 1)) + (year - 1) * 354
          + (3 + 11 * year) // 30 + 1948439.5 - 1)
    return date.fromordinal(int(jd - 1721425.5) + 1)


def get_zone(name: str | tzinfo | None) -> tzinfo:
    if isinstance(name, tzinfo):
        return name
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def _time_near(text: str, start: int, end: int) -> tuple[int, int, int, tzinfo | None] | None:
    """A clock time printed just after (or just before) a date, with its zone if given."""
    after = text[end:end + 40]
    m = _TIME.search(after)
    if m and not re.search(r"\d{4}", after[:m.start()]):
        base = end
    else:
        before = text[max(0, start - 25):start]
        m = None
        for cand in _TIME.finditer(before):
            m = cand
        if m is None:
            return None
        base = max(0, start - 25)
        after = before
    h, mi, s = int(m.group("h")), int(m.group("m")), int(m.group("s") or 0)
    ampm = (m.group("ampm") or "").lower()
    if ampm in ("م", "مساء", "pm", "p.m.", "ليلا") and h < 12:
        h += 12
    elif ampm in ("ظهرا",) and h < 11:
        h += 12
    elif ampm in ("ص", "صباحا", "am", "a.m.", "فجرا") and h == 12:
        h = 0
    if h > 23 or mi > 59 or s > 59:
        return None
    zone: tzinfo | None = None
    tail = text[base + m.end(): base + m.end() + 30]
    off = _OFFSET.search(tail)
    if off:
        delta = timedelta(hours=int(off.group("h")), minutes=int(off.group("m") or 0))
        zone = timezone(delta if off.group("sign") == "+" else -delta)
    elif _UTC_WORD.search(tail):
        zone = timezone.utc
    return h, mi, s, zone


def _build(text: str, y: int, mo: int, d: int, start: int, end: int, tz: tzinfo,
           kind: str) -> FoundDate | None:
    try:
        day = date(y, mo, d)
    except ValueError:
        return None
    t = _time_near(text, start, end)
    if t:
        h, mi, s, zone = t
        local = datetime(day.year, day.month, day.day, h, mi, s, tzinfo=zone or tz)
    else:
        local = day_at_utc_midnight(day)
    return FoundDate(local.astimezone(timezone.utc), start, end, t is not None, kind)


def day_at_utc_midnight(day: date) -> datetime:
    """A date printed without a time of day (CONTRACT.md, export columns): it keeps its
    calendar day, stored at 00:00 UTC. Reading it as midnight in the source's zone would
    move every such story east of Greenwich to the day before."""
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def find_dates(text: str, *, tz: str | tzinfo | None = "UTC",
               now: datetime | None = None) -> list[FoundDate]:
    """Every date printed in ``text``, in order of appearance.

    Positions refer to the normalised text. Relative dates need ``now`` (the fetch time).
    """
    norm = normalize(text, keep_punct=True)
    if now is None and _FOUR_DIGITS.search(norm) is None:
        return []  # every pattern but the relative one needs a year (4 digits): most lines have none
    zone = get_zone(tz)
    greg, hij, greg_re, hij_re, month_year_re = _month_tables()
    found: list[FoundDate] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for m in hij_re.finditer(norm):
        g = hijri_to_gregorian(int(m.group("year")), hij[_SPACES.sub(" ", m.group("month"))],
                               int(m.group("day")))
        f = _build(norm, g.year, g.month, g.day, m.start(), m.end(), zone, "hijri")
        if f:
            found.append(f)
            taken.append((m.start(), m.end()))
    for m in greg_re.finditer(norm):
        if not free(m.start(), m.end()):
            continue
        mon = m.group("month") or m.group("month2")
        day_s = m.group("day") or m.group("day2")
        year_s = m.group("year") or m.group("year2")
        mo = greg.get(_SPACES.sub(" ", mon.lower()))
        if mo is None:
            continue
        f = _build(norm, int(year_s), mo, int(day_s), m.start(), m.end(), zone, "gregorian")
        if f:
            found.append(f)
            taken.append((m.start(), m.end()))
    for rx, kind in ((_NUMERIC_ISO, "numeric"), (_NUMERIC_DMY, "numeric")):
        for m in rx.finditer(norm):
            if not free(m.start(), m.end()):
                continue
            d, mo = int(m.group("day")), int(m.group("month"))
            if rx is _NUMERIC_DMY and mo > 12 and d <= 12:  # a US-style M/D/Y page
                d, mo = mo, d
            f = _build(norm, int(m.group("year")), mo, d, m.start(), m.end(), zone, kind)
            if f:
                found.append(f)
                taken.append((m.start(), m.end()))
    for m in month_year_re.finditer(norm):  # "كانون 2 2024": a month, not a day
        if not free(m.start(), m.end()):
            continue
        mo = greg.get(_SPACES.sub(" ", m.group("month").lower()))
        if mo:
            local = day_at_utc_midnight(date(int(m.group("year")), mo, 1))
            found.append(FoundDate(local, m.start(), m.end(), False, "month"))
            taken.append((m.start(), m.end()))
    if now is not None:
        for m in _RELATIVE.finditer(norm):
            seconds, implied = _UNITS[m.group("unit")]
            n = int(m.group("n")) if m.group("n") else implied
            ref = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
            value = (ref - timedelta(seconds=n * seconds)).astimezone(timezone.utc)
            found.append(FoundDate(value, m.start(), m.end(), seconds < 86400, "relative"))
    found.sort(key=lambda f: f.start)
    return found


# Words that accompany a printed date: weekdays, clock and zone words, "last updated"...
DATE_WORDS = frozenset(normalize(w) for w in (
    "الأحد", "الاثنين", "الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "أحد",
    "اثنين", "ثلاثاء", "أربعاء", "خميس", "جمعة", "سبت", "يوم", "الساعة", "ساعة", "ص", "م",
    "صباحا", "صباحاً", "مساء", "مساءً", "ظهرا", "بتوقيت", "غرينتش", "جرينتش", "مكة", "المكرمة",
    "القدس", "بيروت", "القاهرة", "الرياض", "آخر", "تحديث", "التحديث", "محدث", "نشر", "في",
    "بتاريخ", "تاريخ", "النشر", "الموافق", "هـ", "ه", "gmt", "utc", "am", "pm", "updated",
    "published", "posted", "on", "at", "منذ", "قبل", "الجاري", "الماضي",
))


def words_besides_dates(text: str, found: list[FoundDate]) -> list[str]:
    """The words of ``text`` outside the found dates that are not date words or numbers:
    none for a dateline, many for a sentence that merely holds a date."""
    rest = normalize(text, keep_punct=True)
    for f in sorted(found, key=lambda f: -f.start):
        rest = rest[:f.start] + " " + rest[f.end:]
    return [w for w in re.findall(r"\w+", rest) if not w.isdigit() and w not in DATE_WORDS]


def parse_date(text: str, *, tz: str | tzinfo | None = "UTC",
               now: datetime | None = None) -> datetime | None:
    """The first date printed in ``text`` (a Gregorian date preferred to its Hijri twin), UTC."""
    found = find_dates(text, tz=tz, now=now)
    if not found:
        return None
    for f in found:
        if f.kind not in ("hijri", "month"):
            return f.value
    return found[0].value
