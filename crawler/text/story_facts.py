"""The facts of a story that tell two template-written stories apart: pure functions.

Agencies and ministries write many stories from one set of sentence templates: the same
opening formula, headline pattern and closing lines, with other numbers, countries, days
and months in the slots. Such stories share most of their shingles (estimated Jaccard
0.4-0.77 on tests/fixtures/dedup/templated.jsonl, above the merge threshold) and are
still different stories. A rewrite of one story, however freely worded, keeps its facts.

So a story's facts are read from its text by closed word classes that need no language
model: numbers, countries (names and nationality adjectives folded to one key), weekdays
and months. Two stories whose facts of one class are both present and mostly different
are not merged (crawler.text.fingerprints.is_same_story). Subsets agree: a version that drops a
paragraph drops facts without contradicting the others.
"""

from __future__ import annotations

import re
from typing import Iterable

from crawler.text.arabic import normalize

# Country -> the ways Arabic news names it (as printed; normalised when the table is built).
_COUNTRIES: dict[str, tuple[str, ...]] = {
    "eg": ("مصر", "المصرية", "المصري", "القاهرة"), "sa": ("السعودية", "السعودي", "الرياض"),
    "ae": ("الإمارات", "الإماراتية", "الإماراتي", "أبوظبي"), "qa": ("قطر", "القطرية", "القطري", "الدوحة"),
    "kw": ("الكويت", "الكويتية", "الكويتي"), "bh": ("البحرين", "البحرينية", "البحريني"),
    "om": ("سلطنة", "العمانية", "العماني", "مسقط"), "ye": ("اليمن", "اليمنية", "اليمني", "صنعاء"),
    "iq": ("العراق", "العراقية", "العراقي", "بغداد"), "sy": ("سوريا", "سورية", "السورية", "السوري", "دمشق"),
    "lb": ("لبنان", "اللبنانية", "اللبناني", "بيروت"), "jo": ("الأردن", "الأردنية", "الأردني"),
    "ps": ("فلسطين", "الفلسطينية", "الفلسطيني", "غزة"), "il": ("إسرائيل", "الإسرائيلية", "الإسرائيلي"),
    "ly": ("ليبيا", "الليبية", "الليبي", "طرابلس"), "tn": ("تونس", "التونسية", "التونسي"),
    "dz": ("الجزائر", "الجزائرية", "الجزائري"), "ma": ("المغرب", "المغربية", "المغربي", "الرباط"),
    "sd": ("السودان", "السودانية", "السوداني", "الخرطوم"), "so": ("الصومال", "الصومالية", "الصومالي"),
    "mr": ("موريتانيا", "الموريتانية", "الموريتاني"), "tr": ("تركيا", "التركية", "التركي", "أنقرة"),
    "ir": ("إيران", "الإيرانية", "الإيراني", "طهران"), "ru": ("روسيا", "الروسية", "الروسي", "موسكو"),
    "cn": ("الصين", "الصينية", "الصيني", "بكين"), "in": ("الهند", "الهندية", "الهندي"),
    "pk": ("باكستان", "الباكستانية", "الباكستاني"), "fr": ("فرنسا", "الفرنسية", "الفرنسي", "باريس"),
    "gb": ("بريطانيا", "البريطانية", "البريطاني", "لندن"), "de": ("ألمانيا", "الألمانية", "الألماني", "برلين"),
    "it": ("إيطاليا", "الإيطالية", "الإيطالي"), "es": ("إسبانيا", "الإسبانية", "الإسباني"),
    "ua": ("أوكرانيا", "الأوكرانية", "الأوكراني", "كييف"), "us": ("الولايات", "الأمريكية", "الأمريكي", "أمريكا", "واشنطن", "الأميركية", "الأميركي"),
    "kr": ("كوريا", "الكورية", "الكوري"), "jp": ("اليابان", "اليابانية", "الياباني"),
    "et": ("إثيوبيا", "الإثيوبية", "الإثيوبي"), "gr": ("اليونان", "اليونانية", "اليوناني"),
    "pl": ("بولندا", "البولندية", "البولندي"), "af": ("أفغانستان", "الأفغانية", "الأفغاني"),
    "az": ("أذربيجان", "الأذربيجانية", "الأذربيجاني"), "am": ("أرمينيا", "الأرمينية", "الأرميني"),
    "br": ("البرازيل", "البرازيلية", "البرازيلي"), "ng": ("نيجيريا", "النيجيرية", "النيجيري"),
    "td": ("تشاد", "التشادية", "التشادي"),
}
_WEEKDAYS = ("الأحد", "الاثنين", "الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت")
_MONTHS: dict[str, int] = {
    "يناير": 1, "فبراير": 2, "مارس": 3, "أبريل": 4, "إبريل": 4, "مايو": 5, "يونيو": 6, "يوليو": 7,
    "أغسطس": 8, "سبتمبر": 9, "أكتوبر": 10, "نوفمبر": 11, "ديسمبر": 12, "شباط": 2, "آذار": 3,
    "نيسان": 4, "حزيران": 6, "تموز": 7, "أيلول": 9, "تشرين": 10, "كانون": 12,
}


def _table() -> dict[str, str]:
    out: dict[str, str] = {}
    for key, names in _COUNTRIES.items():
        for n in names:
            out[normalize(n)] = f"c:{key}"
    for d in _WEEKDAYS:
        out[normalize(d)] = f"d:{normalize(d)}"
    for m, n in _MONTHS.items():
        out[normalize(m)] = f"m:{n}"
    return out


_FACT_WORDS = _table()
_WORD = re.compile(r"\w+")
#: At most this share of one class's facts may be missing from the other story.
MIN_FACT_OVERLAP = 0.5


def story_facts(text: str) -> frozenset[str]:
    """Facts of a story: ``n:<number>``, ``c:<country>``, ``d:<weekday>``, ``m:<month>``."""
    return facts_of_words(_WORD.findall(normalize(text)))


def facts_of_words(tokens: Iterable[str]) -> frozenset[str]:
    """story_facts of a story already cut into normalised words (the dedup keys have them).

    Each distinct word is read as itself, then without a leading clitic (و ف, then ب ل ك;
    لل read as ال), the first reading found in the table winning; inline, not a generator
    per word: this runs on every kept story, and the generator cost more than the lookups."""
    out: set[str] = set()
    get = _FACT_WORDS.get
    for token in set(tokens):  # a set of facts: each distinct word is read once
        if token.isdecimal():  # what ^\d+$ matches (Unicode decimal digits; int() reads them)
            out.add(f"n:{int(token)}")
            continue
        fact = get(token)
        if fact is None and len(token) > 3:
            t = token
            if t[0] in ("و", "ف"):
                t = t[1:]
                fact = get(t)
            if fact is None and t[:1] in ("ب", "ل", "ك") and len(t) > 3:
                fact = get(t[1:])
            if fact is None and t.startswith("لل") and len(t) > 4:
                fact = get("ال" + t[2:])
        if fact is not None:
            out.add(fact)
    return frozenset(out)


def facts_conflict(a: Iterable[str], b: Iterable[str], min_overlap: float = MIN_FACT_OVERLAP) -> bool:
    """True when, for one class of facts present in both stories, less than ``min_overlap``
    of the smaller side is shared: the stories report other numbers, countries or days."""
    sa, sb = set(a), set(b)
    for cls in ("n:", "c:", "d:", "m:"):
        ca = {f for f in sa if f.startswith(cls)}
        cb = {f for f in sb if f.startswith(cls)}
        if ca and cb and len(ca & cb) / min(len(ca), len(cb)) < min_overlap:
            return True
    return False
