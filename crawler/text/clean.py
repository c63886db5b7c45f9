"""Keep the story, all of it, and nothing else: line rules over trafilatura's text.

trafilatura (2.3.1, any precision/recall setting) keeps on Arabic pages: the headline again
as image captions, share bars ("شارك: فيسبوك تويتر واتساب"), "| Facebook" widgets, inline
"اقرأ أيضا:" links, stray " . " from the markup. Each rule below removes one such kind of
line and is written for many sites (Arabic and English cues), never for one page. Rules look
at normalised text (crawler.text.arabic.normalize) so spelling variants match, and most apply
only to short lines: a real paragraph that mentions Facebook or cookies is story.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Iterable, NamedTuple

from crawler.text.arabic import DATE_WORDS, arabic_ratio, find_dates, normalize, words_besides_dates
from crawler.text.learned import COUNT_WORDS, line_key

@lru_cache(maxsize=4096)
def _norm(text: str, keep_punct: bool = False) -> str:
    """normalize, remembered: every rule looks at the same line (the cache holds lines,
    not state; the result depends on the text alone)."""
    return normalize(text, keep_punct=keep_punct)


@lru_cache(maxsize=4096)
def _dates(text: str) -> tuple:
    return tuple(find_dates(text))


_WS = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZW = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# " . " left by markup inside an Arabic sentence ("مناقشات مستمرة . حول"): a dot with space
# on both sides between Arabic words (or after an Arabic comma). Latin text is not touched.
_STRAY_DOT = re.compile(r"(?<=[\u0600-\u06ff\u060c]) +\.(?= +[\u0600-\u06ff])")

# Social networks and share verbs, in normalised form.
_SOCIAL = {
    "فيسبوك", "فيس", "بوك", "فيسبوك", "تويتر", "واتساب", "واتس", "اب", "تلغرام", "تليغرام",
    "تيليغرام", "تليجرام", "تيليجرام", "تلجرام", "انستغرام", "انستجرام", "انستقرام", "يوتيوب",
    "لينكدان", "لينكد", "ان", "سناب", "شات", "تيك", "توك", "تيكتوك", "ماسنجر", "بينترست",
    "ريديت", "جوجل", "نيوز", "غوغل", "اكس", "x",
    "facebook", "twitter", "whatsapp", "telegram", "instagram", "youtube", "linkedin",
    "pinterest", "reddit", "messenger", "tiktok", "snapchat", "threads", "tumblr", "vk", "email",
}
_SHARE_WORDS = {
    "شارك", "شاركها", "شاركه", "شاركوا", "مشاركه", "المشاركه", "تابعونا", "تابعنا", "تابعوا",
    "تابع", "على", "علي", "عبر", "في", "و", "او", "عن", "طريق", "عبرنا", "الخبر", "المقال",
    "المقاله", "هذا", "هذه", "عل", "طباعه", "اطبع", "البريد", "الالكتروني", "نسخ", "الرابط",
    "ارسل", "لصديق", "حساباتنا", "الصفحه", "ارسال", "صفحتنا", "قناتنا", "منصات", "التواصل",
    "الاجتماعي",
    "share", "shares", "sharing", "tweet", "follow", "us", "on", "via", "print", "copy", "link",
    "and", "the", "this", "article", "story", "pin", "it", "mail", "send", "to", "a", "friend",
}
# Page tools printed next to the story: print, send to a friend, font size, save.
_TOOLS = {"طباعه", "اطبع", "لصديق", "ارسال", "تكبير", "تصغير", "الخط", "حفظ", "print", "email",
          "الطباعه", "نسخه", "للطباعه"}
_WEAK_SOCIAL = {"ان", "اب", "في", "x", "بوك", "نيوز", "شات", "توك", "فيس", "سناب", "تيك", "جوجل", "غوغل", "لينكد"}
_SHARE_LEAD = re.compile(
    r"^(?:شارك|شاركها|شارك الخبر|شارك المقال|مشاركه|المشاركه|تابعونا|تابعنا|تابعوا|share|share this|follow us)"
    r"(?:\s|$)"
)
_PIPE_SOCIAL = re.compile(r"\|\s*(?:facebook|twitter|instagram|youtube|linkedin|telegram|x|فيسبوك|تويتر|يوتيوب)\s*$", re.I)
# A promo line pointing to the site's channels: "تابعوا آخر الأخبار عبر قناتنا على تلغرام".
_CHANNEL_PROMO = re.compile(
    r"(?<!\w)(?:تابعوا|تابعونا|تابعنا|انضموا|انضم|اشترك|اشتركوا|للاشتراك|حملوا|حمل|نزلوا)(?!\w)"
    r".{0,80}(?<!\w)(?:تلغرام|تليغرام|تليجرام|واتساب|يوتيوب|فيسبوك|تويتر|انستغرام|جوجل نيوز|غوغل نيوز"
    r"|تطبيقنا|(?:ال)?تطبيق (?:الموقع|الصحيفه|الجريده|الرسمي|الخاص بنا))(?!\w)"
)

# "اقرأ أيضا: <title>" opens an inline link; the box headings stand alone on their line
# ("المزيد من القوات ستنتشر" is a sentence, "المزيد" alone is a heading).
_READ_VERBS = ("اقرا", "اقرئي", "اقراوا", "طالع", "طالعوا", "شاهد", "شاهدوا", "اطلع", "انظر")
_RELATED_NOUNS = ("مواضيع", "اخبار", "مقالات", "موضوعات", "روابط", "تقارير", "قصص")
_PICKED_FOR_YOU = ("قد يهمك", "قد يعجبك", "قد يعجبك ايضا", "اخترنا لك", "ننصحك بقراءه")
_READ_ALSO = re.compile(
    rf"^(?:{'|'.join(_READ_VERBS)})\s+(?:ايضا|كذلك|المزيد)(?!\w)"
    rf"|^(?:{'|'.join(_RELATED_NOUNS)}) ذات صله(?!\w)"
    rf"|^(?:{'|'.join(_PICKED_FOR_YOU)})\s*(?:$|:)"
)
# The first normalised word of any line _READ_ALSO matches (each alternative starts with one
# of these words, then a space): every other line is spared the regex and its punctuated form.
_READ_ALSO_FIRST_WORDS = frozenset(_READ_VERBS + _RELATED_NOUNS + tuple(p.split()[0] for p in _PICKED_FOR_YOU))
_READ_ALSO_HEADINGS = {"المزيد", "المزيد من الاخبار", "اقرا المزيد", "ذات صله", "الاكثر قراءه",
                       "الاكثر مشاهده", "الاكثر تداولا", "مقترحات", "موصي به", "قد يهمك ايضا"}
_READ_ALSO_EN = re.compile(r"^(?:read (?:more|also)|see also|related(?: articles| stories| news)?|also read)\s*:", re.I)

_COPYRIGHT = re.compile(
    r"©|\(c\)\s*\d{4}|جميع الحقوق محفوظه|كل الحقوق محفوظه|جميع حقوق|حقوق النشر|حقوق الطبع"
    r"|all rights reserved|copyright\s+(?:©|\d{4})",
    re.I,
)
_COOKIES = re.compile(
    r"ملفات تعريف الارتباط|ملفات الارتباط|الكوكيز|كوكيز|سياسه الخصوصيه.{0,40}(?:موافق|توافق|قبول)"
    r"|\bcookies?\b.{0,60}\b(?:use|accept|consent|agree|policy|continue)|\b(?:we|this site) uses? cookies",
    re.I,
)
# A newsletter box speaks to the reader ("اشترك", "بريدك"); "النشرة الإخبارية" alone is
# also a TV news bulletin, and "sign up for" is also said of soldiers.
_NEWSLETTER = re.compile(
    r"(?<!\w)(?:اشترك|اشتركوا|سجل|للاشتراك|انضم|انضموا)(?!\w).{0,40}(?:النشره|نشرتنا|القائمه البريديه)"
    r"|النشره البريديه|اشترك الان|اشترك مجانا|سجل بريدك|ادخل بريدك|بريدك الالكتروني"
    r"|(?:اشترك|اشتركوا|سجل) في (?:نشرتنا|قناتنا|خدمه|القائمه|موقعنا|تطبيق|صفحتنا|حسابنا)"
    r"|\bnewsletters?\b.{0,40}\b(?:sign up|subscribe|inbox|email)|\b(?:sign up|subscribe)\b.{0,40}\bnewsletters?\b"
    r"|\bsubscribe (?:now|today|to our)\b|\benter your email\b",
    re.I,
)
_AD_LABELS = {
    "اعلان", "اعلانات", "مساحه اعلانيه", "محتوي مدفوع", "محتوي برعايه", "برعايه", "اعلان ممول",
    "المحتوي برعايه", "المحتوي المدفوع", "محتوي ممول", "اعلان مدفوع", "محتوي اعلاني", "اعلان تجاري",
    "advertisement", "advertising", "ad", "ads", "sponsored", "sponsored content", "promoted",
    "scroll to continue with content", "continue reading below",
}
_COMMENT_HEADINGS = re.compile(
    r"^(?:(?:اضف|اضافه|اكتب|اترك|ارسل|شاركنا)\s+(?:تعليق|تعليقا|تعليقك|ردا|رايك)(?:\s+جديدا?)?"
    r"|التعليقات|تعليقات|اضف تعليق|اضف تعليقك|اضافه تعليق|اضافه تعليق جديد|اترك تعليقا|اترك ردا"
    r"|اكتب تعليقك|التعليق|عدد التعليقات|\d+ تعليق|تعليقات القراء|التعليقات \d+|comments?|leave a (?:comment|reply)"
    r"|add (?:a )?(?:new )?comment|\d+ comments?)$",
    re.I,
)
# The site's note on comments, told apart from a story about comments by its voice: it
# addresses the reader or speaks of "the site".
_COMMENT_POLICY = re.compile(r"الاراء الوارده.{0,40}لا تعبر|لا تعبر عن راي (?:الموقع|الصحيفه|الجريده|موقع)"
                             r"|(?:مراجعه|نشر) التعليقات|سياسه التعليقات|ارشادات الاستخدام")
# A form's own instructions: "the required fields are marked with an asterisk (*)".
_FORM_NOTE = re.compile(r"(?:الحقول|المعلومات|البيانات|الخانات)\s+(?:المطلوبه|الالزاميه|الاجباريه)"
                        r"|(?:مشار|المشار) اليها .{0,30}(?:النجمه|\*)|required fields|marked (?:with an? )?(?:asterisk|\*)", re.I)
_SITE_VOICE = re.compile(r"الموقع|موقع|الصحيفه|نرحب|ترحب|ننصحك|نحتفظ|يرجي|نرجو|تعليقك|تعليقاتكم|مشاركاتك")
_TAGS = re.compile(r"^(?:الوسوم|وسوم|كلمات مفتاحيه|الكلمات المفتاحيه|الكلمات الدلاليه|مواضيع|tags|topics)\s*[:：]")
# Labels that only ever introduce a date ("نشر" alone is also "deployed", "قبل" "before").
_DATE_LABEL = re.compile(
    r"^(?:تاريخ النشر|نشر في|نشر بتاريخ|اخر تحديث|تم التحديث|التاريخ|published|updated|posted on)"
    r"(?:\s|:|$)",
    re.I,
)
# "بقلم/بواسطة" open a byline; "كتب" (wrote), "تحرير" (editing; also "liberation"),
# "إعداد", "حوار" only with a colon or dash, or "كتب الرئيس رسالة" would go.
_BYLINE_LOOSE = re.compile(r"^(?:بقلم|بواسطه)\s")
_BYLINE_STRICT = re.compile(
    r"^(?:بقلم|بواسطه|كتب|كتبت|كتبه|اعداد|تحرير|حوار|تقرير|المحرر|المحرره|محرر|الكاتب|الكاتبه)\s*[:：\-–—]")
# Previous/next links and hit counters around the story.
_NAVIGATION = re.compile(
    r"^(?:المقال|الخبر|الموضوع|المقاله|التقرير) (?:السابق|التالي)(?!\w)|^(?:previous|next) (?:article|post|story)\b",
    re.I,
)
_COUNTER = re.compile(
    r"^(?:عدد )?(?:القراءات|المشاهدات|الزيارات|قراءات|مشاهدات|views?|reads?|hits?)\s*:?\s*\d[\d,.]*$"
    r"|^\d[\d,.]*\s*(?:قراءه|مشاهده|زياره|views?|reads?)$",
    re.I,
)


def fix_stray_dots(line: str) -> str:
    """'مناقشات مستمرة . حول' -> 'مناقشات مستمرة حول' (only between Arabic words)."""
    return _STRAY_DOT.sub("", line)


def _similar(a: str, b: str) -> bool:
    """Same headline up to spelling, punctuation and a few characters (normalised)."""
    if not a or not b:
        return False
    if a == b:
        return True
    if min(len(a), len(b)) / max(len(a), len(b)) < 0.8:
        return False
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.9


def is_headline_repeat(norm_line: str, norm_title: str, norm_site: str = "") -> bool:
    """A caption or bold line repeating the headline, possibly twice or with the site name."""
    if len(norm_title.split()) < 3 or not norm_line:
        return False
    if _similar(norm_line, norm_title):
        return True
    rest = norm_line
    while norm_title in rest:  # "title title", "title - site", "صورة: title"
        rest = rest.replace(norm_title, " ", 1)
    if rest != norm_line:
        rest_words = [w for w in rest.split() if not norm_site or w not in norm_site.split()]
        return len(rest_words) <= 2
    return False


def is_social(norm_line: str, raw_line: str = "") -> bool:
    """Share bars, print/send tools, follow-us lines and "Site | Facebook" widgets."""
    if raw_line and _PIPE_SOCIAL.search(raw_line):
        return True
    words = norm_line.split()
    if not words or len(words) > 16:
        return False
    signal = any(w in _SOCIAL or w in _TOOLS for w in words if w not in _WEAK_SOCIAL)
    if signal or (_SHARE_LEAD.match(norm_line) and len(words) <= 6):
        rest = [w for w in words if w not in _SOCIAL and w not in _SHARE_WORDS and w not in _TOOLS
                and not w.isdigit()]
        if len(rest) <= len(words) // 5:
            return True
    return bool(_CHANNEL_PROMO.search(norm_line)) and len(words) <= 20


def is_read_also(norm_line: str, raw_line: str) -> bool:
    """A related-links heading or an inline "اقرأ أيضا:" line; ``norm_line`` is
    ``normalize(raw_line)``."""
    return ((norm_line.split(" ", 1)[0] in _READ_ALSO_FIRST_WORDS
             and bool(_READ_ALSO.match(_norm(raw_line, keep_punct=True))))
            or norm_line in _READ_ALSO_HEADINGS or bool(_READ_ALSO_EN.match(raw_line.strip())))


def is_site_line(norm_line: str, norm_site: str) -> bool:
    """The site's name alone, or copyright/rights lines of a footer."""
    if norm_site and (norm_line == norm_site or norm_line in (f"{norm_site} {x}" for x in ("nav", "home"))):
        return True
    return len(norm_line.split()) <= 25 and bool(_COPYRIGHT.search(norm_line))  # a story paragraph: no search


def is_notice(norm_line: str) -> bool:
    """Cookie banners, newsletter boxes, comment-section headings and policy notes."""
    n = len(norm_line.split())
    if n <= 40 and _COOKIES.search(norm_line):
        return True
    if n <= 25 and _NEWSLETTER.search(norm_line):
        return True
    if n <= 6 and _COMMENT_HEADINGS.match(norm_line):
        return True
    if n <= 30 and _FORM_NOTE.search(norm_line):
        return True
    return n <= 80 and bool(_COMMENT_POLICY.search(norm_line)) and bool(_SITE_VOICE.search(norm_line))


def is_ad_label(norm_line: str) -> bool:
    return norm_line in _AD_LABELS


def is_navigation(norm_line: str, raw_line: str = "") -> bool:
    """"المقال السابق: ..." / "Next article" links and "عدد القراءات: 842" counters."""
    if len(norm_line.split()) > 20:
        return False
    return bool(_NAVIGATION.match(norm_line)) or bool(_COUNTER.match(_norm(raw_line or norm_line, keep_punct=True)))


def is_meta_line(norm_line: str, raw_line: str | None = None) -> bool:
    """A byline, dateline or tag list that trafilatura left at the edge of the story.

    A dateline is a short line made of a date and only date words (weekday, time, zone,
    "آخر تحديث"); a sub-heading that merely holds a date ("هجوم 7 أكتوبر") is kept.
    """
    words = norm_line.split()
    if not words or len(words) > 14:
        return False
    raw = raw_line if raw_line is not None else norm_line
    if (_BYLINE_STRICT.match(_norm(raw, keep_punct=True)) and len(words) <= 7) or (
            _BYLINE_LOOSE.match(norm_line) and len(words) <= 5):
        return True
    if _TAGS.match(_norm(raw, keep_punct=True)):
        return True
    found = [f for f in _dates(raw) if f.kind not in ("relative", "month")]
    if not found:
        return False
    left = words_besides_dates(raw, found)
    return not left or (bool(_DATE_LABEL.match(norm_line)) and len(left) <= 2)


# ---------------------------------------------------------------------- metadata lines
# A line under the headline is often several facts joined by separators: "كتب: فلان |
# الأحد 5 نوفمبر 2023 | المشاهدات: 532". Each segment is judged by what it is made of; the
# line goes when every segment is metadata and one of them is unmistakable (a date, a
# counter, a labelled byline). A counter or a date changing from page to page does not
# matter: the shape is judged, not the string.
_SEGMENT_SPLIT = re.compile(r"\s+[|•·\-–—/]\s+|\s*\|\s*|\s*[•·]\s*")
_COUNT_WORDS = COUNT_WORDS
_COUNTER_SEGMENT = re.compile(  # a number with a count word: "المشاهدات: 532", "قراءة 532 مرات", "1523 مشاهدة"
    rf"^(?:عدد\s+)?(?:قرا|قراه|شوهد|{_COUNT_WORDS})\s*:?\s*\(?\d[\d,.٬]*\)?(?:\s*{_COUNT_WORDS})?$"
    rf"|^\(?\d[\d,.٬]*\)?\s*{_COUNT_WORDS}$",
    re.I,
)
_READING_TIME = re.compile(r"^(?:مده القراءه\s*:?\s*)?(?:\d+\s+)?(?:دقيقه|دقيقتان|دقيقتين|دقائق)(?:\s+واحده)?(?:\s+(?:للقراءه|قراءه))?$"
                           r"|^\d+\s+min(?:ute)?s?(?: read)?$", re.I)
_BYLINE_WORDS = re.compile(r"^(?:بقلم|بواسطه|كتب|كتبت|كتبه|اعداد|تحرير|المحرر|محرر|الكاتب|(?:نشر|نشرت|ارسلت|ارسل) بواسطه"
                           r"|by|posted by|written by)(?:\s|:|$)", re.I)
_ANY_DIGIT = re.compile(r"\d")
_CLOCK = re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?:ص|م|صباحا|مساء|am|pm)(?!\w))?", re.I)
_EXPLICIT_SEPARATOR = re.compile(r"\s[|•·\-–—]\s|\||[•·]")


def _is_date_segment(seg: str, norm: str) -> bool:
    found = [f for f in _dates(seg) if f.kind != "month"]
    if not found:
        return False
    rest = words_besides_dates(seg, found)
    return len(rest) <= 1 or (bool(_DATE_LABEL.match(norm)) and len(rest) <= 3)


def segment_kind(seg: str) -> str:
    """'date', 'counter', 'byline', 'reading-time', 'name' (a short label or name that only
    counts beside the others) or '' (not metadata: the line is kept)."""
    norm = _norm(seg)
    if not norm:
        return "name"
    if _is_date_segment(seg, norm):
        return "date"
    if _COUNTER_SEGMENT.match(_norm(seg, keep_punct=True).replace("(", "").replace(")", "").strip()):
        return "counter"
    if _READING_TIME.match(norm):
        return "reading-time"
    words = norm.split()
    if _BYLINE_WORDS.match(norm) and len(words) <= 6 and not any(w.isdigit() for w in words):
        return "byline"
    if len(words) <= 3 and not any(w.isdigit() for w in words):
        return "name"
    return ""


def is_meta_composite(raw_line: str) -> bool:
    """A line made only of metadata segments (byline, date, counter, reading time, a name)
    with at least one date, counter or labelled byline among them.

    Segments are split at separators ("|", " - ", "•") and around each date, so a date
    and a counter printed side by side in two <span>s are two segments."""
    if len(raw_line) > 200 or raw_line.startswith("|") or raw_line.count(" ") > 30:
        return False  # a paragraph, or a table row ("| 1 | Kyle Busch | 5040 |")
    norm = _norm(raw_line, keep_punct=True)
    found = [f for f in _dates(raw_line) if f.kind != "month"] if _ANY_DIGIT.search(norm) else []
    for f in sorted(found, key=lambda f: -f.start):
        norm = norm[:f.start] + " | " + norm[f.end:]
    kinds = ["date"] * len(found)
    norm = _CLOCK.sub(" | ", norm)  # "09:15 م" beside the date belongs to it
    segments = [seg for seg in (s.strip(" -|،,:") for s in _SEGMENT_SPLIT.split(norm)) if seg]
    if not found and len(segments) == 1 and len(segments[0].split()) > 8:
        return False  # one segment can only be a counter or a reading time, a few words: a sentence
    for seg in segments:
        if all(w in DATE_WORDS for w in _norm(seg).split()):  # "الأحد،", "تاريخ النشر:"
            kinds.append("date-word")
            continue
        kind = segment_kind(seg)
        if not kind:
            return False  # a segment that is not metadata keeps the line, whatever follows
        kinds.append(kind)
    strong = [k for k in kinds if k in ("date", "counter", "byline", "reading-time")]
    if "name" in kinds and not _EXPLICIT_SEPARATOR.search(raw_line):
        return False  # "هجوم 7 أكتوبر 2023 وتداعياته": words around a date, a sentence
    if len(kinds) == 1:  # one segment: a counter alone ("قراءة 532 مرات"); a date alone is is_meta_line's
        return kinds[0] in ("counter", "reading-time")
    return all(kinds) and bool(strong) and sum(k == "name" for k in kinds) <= 2


# ---------------------------------------------------------------------- credits, captions
# A photo credit or archive note outside <figcaption>: short, and made of a photo word
# ("صورة أرشيفية", "تصوير:", "الصورة:") with at most a few names after it, or a short
# parenthesised agency sign standing alone ("(أ ف ب)", "(و.م.ع)", "(واس)"). A story's own
# dateline "القاهرة (أ ف ب) -" sits inside a long paragraph and is never alone.
# Plural "صور"/"الصور" (pictures) opens headings and sentences too: only with a colon.
_PHOTO_WORD = re.compile(
    r"^(?:(?:صوره|الصوره|تصوير|بعدسه|عدسه|ارشيفيه|ارشيف|من الارشيف|photo|image|picture|credit|file photo)(?:\s|:|$)"
    r"|(?:صور|الصور|photos)\s*:)", re.I)
_SOURCE_LABEL = re.compile(r"^(?:المصدر|مصدر|source)\s*[:：]", re.I)
_PARENTHESISED = re.compile(r"^[(\[]([^()\[\]]{1,30})[)\]][.،]?$")


def is_credit(raw_line: str) -> bool:
    """Photo credit, archive-photo note or a lone agency sign (by shape and length)."""
    line = raw_line.strip()
    norm = _norm(line)
    words = norm.split()
    if not words or len(words) > 8:
        return False
    if _PARENTHESISED.match(line) and len(words) <= 4:
        return True
    if _PHOTO_WORD.match(_norm(line, keep_punct=True)) and len(words) <= 6:
        return True
    return bool(_SOURCE_LABEL.match(_norm(line, keep_punct=True))) and len(words) <= 3


# ---------------------------------------------------------------------- Latin-script furniture
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_FURNITURE_MARK = re.compile(r"[|©®™]|all rights|rights reserved|tous droits|powered by|copyright", re.I)


def is_latin_furniture(raw_line: str, arabic_page: bool) -> bool:
    """On an Arabic page, a Latin-script line of navigation, credit or copyright ("About us",
    "Qui sommes-nous | Contact", "© 1997-2024 … All rights reserved", "Getty Images").

    Only when the story around it is Arabic, and only short lines or lines that carry a
    menu/copyright mark: a Latin sentence quoted in the story is long and has neither.
    """
    if not arabic_page or arabic_ratio(raw_line) > 0.1 or not _LATIN.search(raw_line):
        return False
    if raw_line.startswith("|") and re.search(r"\|\s*[\d.,%]+\s*\|", raw_line):
        return False  # a row of a data table ("| F-16 Block 72 | 25 |"), not a menu
    words = raw_line.split()
    return len(words) <= 8 or (len(words) <= 40 and bool(_FURNITURE_MARK.search(raw_line)))


def _tidy(line: str) -> str:
    line = _ZW.sub("", line)
    return _WS.sub(" ", line).strip()


class Verdict(NamedTuple):
    """One line of trafilatura's text and what cleaning did with it: ``rule`` is empty
    for a kept line, else the name of the rule that dropped it (shown by --explain)."""

    line: str
    rule: str = ""


def judge_lines(text: str, *, title: str = "", site_name: str = "",
                patterns: Iterable[str | re.Pattern] = (),
                learned: Iterable[str] = frozenset()) -> list[Verdict]:
    """Every non-empty line of ``text`` with the rule that drops it, or "" when kept.

    ``patterns`` are the source's `boilerplate` regexes (searched in each line);
    ``learned`` are lines found in many stories of the source (crawler.text.learned),
    compared by shape.
    """
    compiled = [p if isinstance(p, re.Pattern) else re.compile(p) for p in patterns]
    learned_keys = {line_key(x) for x in learned}
    norm_title = _norm(title)
    norm_site = _norm(site_name)
    lines = [_tidy(x) for x in text.splitlines()]
    arabic_page = arabic_ratio(text[:1500]) >= 0.6  # the opening is enough to know the script
    out: list[Verdict] = []
    last_kept = ""
    for line in lines:
        if not line:
            continue
        rule = line_rule(line, norm_title=norm_title, norm_site=norm_site, arabic_page=arabic_page)
        if not rule and (compiled and any(p.search(line) for p in compiled)):
            rule = "source-pattern"
        if not rule and learned_keys and line_key(line) in learned_keys:
            rule = "learned"
        if not rule:
            fixed = fix_stray_dots(line)
            if last_kept and _norm(last_kept) == _norm(line):
                rule = "repeat"
            else:
                out.append(Verdict(fixed))
                last_kept = fixed
                continue
        out.append(Verdict(line, rule))
    return out


_BULLET = re.compile(r"^(?:[-•*·▪►▼]\s+)+")


def line_rule(line: str, *, norm_title: str = "", norm_site: str = "", arabic_page: bool = False) -> str:
    """The name of the first rule that makes ``line`` furniture, or "" (story).

    A list bullet trafilatura prints ("- ", "• ") is not part of what the line is."""
    line = _BULLET.sub("", line) or line
    norm = _norm(line)
    if not norm:  # a line of punctuation or a lone dot
        return "empty"
    if is_read_also(norm, line):
        # The heading or an inline "اقرأ أيضا: <title>" line. The links under a heading
        # are removed on the tree (crawler.text.extract.drop_related_boxes): in plain text
        # they cannot be told from the sub-heading that may follow.
        return "read-also"
    for name, hit in (
        ("headline-repeat", lambda: is_headline_repeat(norm, norm_title, norm_site)),
        ("social", lambda: is_social(norm, line)),
        ("site-footer", lambda: is_site_line(norm, norm_site)),
        ("notice", lambda: is_notice(norm)),
        ("ad-label", lambda: is_ad_label(norm)),
        ("meta-line", lambda: is_meta_line(norm, line) or is_meta_composite(line)),
        ("navigation", lambda: is_navigation(norm, line)),
        ("credit", lambda: is_credit(line)),
        ("latin-furniture", lambda: is_latin_furniture(line, arabic_page)),
    ):
        if hit():
            return name
    return ""


def clean_text(text: str, *, title: str = "", site_name: str = "",
               patterns: Iterable[str | re.Pattern] = (),
               learned: Iterable[str] = frozenset()) -> str:
    """The story's paragraphs, separated by a blank line, without the page's furniture."""
    return "\n\n".join(line for line, _ in clean_lines(text, title=title, site_name=site_name,
                                                        patterns=patterns, learned=learned))


def kept_lines(verdicts: Iterable[Verdict]) -> list[tuple[str, str]]:
    """The kept lines of a judgement as (paragraph, its normalised form): the form every
    later step (relevance, dedup keys, learned lines) would otherwise compute again."""
    return [(v.line, _norm(v.line)) for v in verdicts if not v.rule]


def clean_lines(text: str, *, title: str = "", site_name: str = "",
                patterns: Iterable[str | re.Pattern] = (),
                learned: Iterable[str] = frozenset()) -> list[tuple[str, str]]:
    """clean_text's paragraphs as (paragraph, its normalised form)."""
    return kept_lines(judge_lines(text, title=title, site_name=site_name, patterns=patterns,
                                  learned=learned))


def format_verdicts(verdicts: list[Verdict], width: int = 100) -> list[str]:
    """One printable row per line: "keep" or "drop <rule>", then the line (cut to width)."""
    rows = []
    for v in verdicts:
        text = v.line if len(v.line) <= width else v.line[: width - 1] + "…"
        rows.append(f"{'keep' if not v.rule else 'drop':<5}{v.rule:<17}{text}")
    return rows
