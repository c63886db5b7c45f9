"""crawler/text/arabic.py: normalisation for matching and Arabic dates as sites print them."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from crawler.text.arabic import arabic_ratio, find_dates, hijri_to_gregorian, normalize, parse_date, to_ascii_digits

UTC = timezone.utc
NOW = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("a, b", [
    ("الصَّوَارِيخُ", "الصواريخ"),            # diacritics
    ("الجيـــش", "الجيش"),                   # tatweel
    ("أسلحة إيرانية آلية", "اسلحه ايرانيه اليه"),  # alef/hamza forms, taa marbuta
    ("مستشفى", "مستشفي"),                   # alef maqsura
    ("مؤتمر", "موتمر"), ("رئيس", "رييس"),      # hamza on waw / yaa
    ("عام ٢٠٢٣", "عام 2023"), ("۱۴۰۲", "1402"),  # Arabic-Indic and Persian digits
    ("قال: «نعم»، ثم غادر!", "قال نعم ثم غادر"),    # punctuation
])
def test_normalize_folds_variants(a, b):
    assert normalize(a) == normalize(b)


def test_normalize_keeps_distinct_words_distinct():
    assert normalize("جيش") != normalize("جيوش")


def test_ascii_digits_only():
    assert to_ascii_digits("٥ سبتمبر ٢٠٢٣") == "5 سبتمبر 2023"


def test_arabic_ratio():
    assert arabic_ratio("الجيش المصري") == 1.0
    assert arabic_ratio("The army") == 0.0


@pytest.mark.parametrize("text, tz, expected", [
    # weekday + Levantine month (dateparser 1.5 returns None)
    ("الثلاثاء، 5 أيلول 2023", "Asia/Beirut", datetime(2023, 9, 5, tzinfo=UTC)),  # day only: 00:00 UTC
    ("15 كانون 2 2024", "Asia/Beirut", datetime(2024, 1, 15, tzinfo=UTC)),
    ("1 كانون الثاني 2024", "UTC", datetime(2024, 1, 1, tzinfo=UTC)),
    ("3 تشرين الأول 2023", "UTC", datetime(2023, 10, 3, tzinfo=UTC)),
    ("5 سبتمبر 2023", "UTC", datetime(2023, 9, 5, tzinfo=UTC)),
    ("12 شتنبر 2023", "UTC", datetime(2023, 9, 12, tzinfo=UTC)),          # Morocco
    ("3 جويلية 2023", "UTC", datetime(2023, 7, 3, tzinfo=UTC)),           # Algeria
    ("٥ سبتمبر ٢٠٢٣", "UTC", datetime(2023, 9, 5, tzinfo=UTC)),           # Arabic-Indic
    ("28 آب/اغسطس 2013", "UTC", datetime(2013, 8, 28, tzinfo=UTC)),       # both names
    ("كانون الثاني 15، 2024", "UTC", datetime(2024, 1, 15, tzinfo=UTC)),  # month first
    ("2023-09-05", "Asia/Riyadh", datetime(2023, 9, 5, tzinfo=UTC)),
    ("05/09/2023", "UTC", datetime(2023, 9, 5, tzinfo=UTC)),              # day first
])
def test_dates(text, tz, expected):
    assert parse_date(text, tz=tz) == expected


@pytest.mark.parametrize("text, expected", [
    ("٥ سبتمبر ٢٠٢٣ - ٠٣:٤٥ م", datetime(2023, 9, 5, 12, 45, tzinfo=UTC)),    # 12-hour, PM
    ("5 سبتمبر 2023 - 11:30 ص", datetime(2023, 9, 5, 8, 30, tzinfo=UTC)),
    ("5 سبتمبر 2023 - 12:10 ص", datetime(2023, 9, 4, 21, 10, tzinfo=UTC)),    # just after midnight
    ("5 سبتمبر 2023 الساعة 14:00", datetime(2023, 9, 5, 11, 0, tzinfo=UTC)),
])
def test_times_read_in_source_zone(text, expected):
    assert parse_date(text, tz="Asia/Riyadh") == expected


def test_printed_zone_wins_over_source_zone():
    text = "الأربعاء، 28 آب/اغسطس 2013، آخر تحديث 14:00 (GMT+0400)"
    assert parse_date(text, tz="UTC") == datetime(2013, 8, 28, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("text, expected", [
    ("منذ 3 ساعات", datetime(2024, 1, 10, 9, 0, tzinfo=UTC)),
    ("منذ ساعتين", datetime(2024, 1, 10, 10, 0, tzinfo=UTC)),
    ("منذ ساعة", datetime(2024, 1, 10, 11, 0, tzinfo=UTC)),
    ("قبل 20 دقيقة", datetime(2024, 1, 10, 11, 40, tzinfo=UTC)),
    ("منذ يومين", datetime(2024, 1, 8, 12, 0, tzinfo=UTC)),
    ("منذ ٣ أيام", datetime(2024, 1, 7, 12, 0, tzinfo=UTC)),
])
def test_relative_dates_against_fetch_time(text, expected):
    assert parse_date(text, now=NOW) == expected


def test_relative_dates_need_a_fetch_time():
    assert parse_date("منذ 3 ساعات") is None


def test_hijri_dates():
    assert hijri_to_gregorian(1445, 1, 1).isoformat() == "2023-07-19"
    d = parse_date("الأحد 12 رمضان 1444 هـ", tz="UTC")
    assert d is not None and abs((d.date() - datetime(2023, 4, 3).date()).days) <= 1


def test_gregorian_preferred_to_its_hijri_twin():
    text = "الثلاثاء 20 صفر 1445 هـ الموافق 5 سبتمبر 2023"
    assert parse_date(text) == datetime(2023, 9, 5, tzinfo=UTC)


def test_month_without_day_is_marked():
    found = find_dates("كانون 2 2024")
    assert [f.kind for f in found] == ["month"]
    assert found[0].value == datetime(2024, 1, 1, tzinfo=UTC)


def test_no_date_no_guess():
    assert parse_date("أكدت وزارة الدفاع أن المناورات ستستمر ثلاثة أيام") is None
    assert parse_date("في عام 2023 وقعت الصفقة") is None
    assert parse_date("31 فبراير 2023") is None  # no such day


# language (crawler/text/language.py)
from crawler.text.language import detect_language, is_arabic  # noqa: E402


@pytest.mark.parametrize("text, lang", [
    ("تسلمت القوات البحرية المصرية اليوم فرقاطة جديدة متعددة المهام في احتفال أقيم بميناء الإسكندرية.", "ar"),
    ("The Egyptian Navy took delivery of a new multi-mission frigate in Alexandria today.", "en"),
    ("La marine égyptienne a reçu aujourd'hui une nouvelle frégate multi-missions à Alexandrie.", "fr"),
    ("نیروی دریایی مصر امروز یک ناوچه چندمنظوره جدید را در بندر اسکندریه تحویل گرفت و این یک گام است.", "fa"),
    ("", ""),
])
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_is_arabic():
    assert is_arabic("تسلمت القوات البحرية المصرية اليوم فرقاطة جديدة متعددة المهام.")
    assert not is_arabic("The Egyptian Navy took delivery of a new frigate today in Alexandria.")


def _normalize_step_by_step(text: str, keep_punct: bool) -> str:
    """normalize as its docstring defines it, one step after the other (the form it had
    before the steps were fused into one translation table)."""
    import re
    text = re.sub("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]", "", text)
    text = re.sub("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]", "", text)
    text = text.translate(str.maketrans({
        "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ٲ": "ا", "ٳ": "ا",
        "ى": "ي", "ی": "ي", "ئ": "ي", "ؤ": "و", "ة": "ه", "ۀ": "ه", "ک": "ك", "ڪ": "ك",
    })).translate(str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")).lower()
    if not keep_punct:
        text = re.sub(r"[^\w\s]|_", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("keep_punct", [False, True])
def test_normalize_is_the_step_by_step_definition(keep_punct):
    """The one-table normalize gives what the six steps give, character by character
    (every code point of the BMP and a sample beyond) and on mixed text."""
    chars = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF] + ["😀", "𝐀", "\U000e0041"]
    samples = ["".join(chars[i:i + 50]) for i in range(0, len(chars), 50)]
    samples += ["أَهْلاً\u200b وَسَهْلاً ـــ ١٢٣ İstanbul ΣΑΣ _x_ ، ؛ !", "a😀b\u00a0c\u2028d", "ﻻ ﷲ ﴿ ﴾", "   "]
    for text in samples:
        for piece in (text, text[:200]):  # the remembered (short) path and the long one
            assert normalize(piece, keep_punct=keep_punct) == _normalize_step_by_step(piece, keep_punct), repr(piece)


def test_detect_language_reads_any_text():
    # CLD2 refuses control characters and lone surrogates: they are skipped, not fatal.
    text = "The Egyptian Navy\x00 took delivery\x85 of a new frigate\ud800 today in Alexandria.\x7f"
    assert detect_language(text) == "en"
    # ISO 639-1 codes, not CLD2's own ("iw").
    assert detect_language("נחתו היום בבסיס חיל האוויר מטוסי קרב חדשים שהגיעו מארצות הברית") == "he"
