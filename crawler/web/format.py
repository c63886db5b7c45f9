"""How the reader prints times and counts in Arabic. Pure functions: no I/O, no clock
(the caller passes ``now``)."""

from __future__ import annotations

from datetime import datetime

_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
# unit: (seconds, one, two, 3-10, 11+)
_UNITS = (
    (365 * 86400, "سنة", "سنتين", "سنوات", "سنة"),
    (30 * 86400, "شهر", "شهرين", "أشهر", "شهرًا"),
    (7 * 86400, "أسبوع", "أسبوعين", "أسابيع", "أسبوعًا"),
    (86400, "يوم", "يومين", "أيام", "يومًا"),
    (3600, "ساعة", "ساعتين", "ساعات", "ساعة"),
    (60, "دقيقة", "دقيقتين", "دقائق", "دقيقة"),
)


def indic(value: int | str) -> str:
    """Arabic-Indic digits (٣ rather than 3), as Arabic news pages print them."""
    return str(value).translate(_INDIC)


def count_phrase(n: int, one: str, two: str, few: str, many: str) -> str:
    """An Arabic counted noun: 1 and 2 are said by the noun alone (singular, dual),
    3-10 take the plural, 11 and more the singular."""
    if n == 1:
        return one
    if n == 2:
        return two
    return f"{indic(n)} {few if 3 <= n % 100 <= 10 else many}"


def relative_ar(when: datetime | None, now: datetime) -> str:
    """"منذ ٣ ساعات": how long ago, in the largest whole unit; "الآن" under a minute,
    and the plain date for times in the future (a wrong clock on the site)."""
    if when is None:
        return ""
    seconds = (now - when).total_seconds()
    if seconds < 0:
        return ""
    for size, *names in _UNITS:
        if seconds >= size:
            return "منذ " + count_phrase(int(seconds // size), *names)
    return "الآن"


def utc_label(when: datetime | None) -> str:
    """The time printed for readers without JavaScript (the script rewrites it into the
    reader's own time zone): "2026-11-30 09:00 UTC"."""
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else ""


def copies_label(n_sources: int) -> str:
    """"نُشر أيضًا في ٣ مصادر" for the river's copies toggle."""
    return "نُشر أيضًا في " + count_phrase(n_sources, "مصدر آخر", "مصدرين آخرين", "مصادر", "مصدرًا")
