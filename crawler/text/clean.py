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
from typing import Iterable

from crawler.text.arabic import find_dates, normalize, words_besides_dates
from crawler.text.learned import line_key

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
_READ_ALSO = re.compile(
    r"^(?:اقرا|اقرئي|اقراوا|طالع|طالعوا|شاهد|شاهدوا|اطلع|انظر)\s+(?:ايضا|كذلك|المزيد)(?!\w)"
    r"|^(?:مواضيع|اخبار|مقالات|موضوعات|روابط|تقارير|قصص) ذات صله(?!\w)"
    r"|^(?:قد يهمك|قد يعجبك|قد يعجبك ايضا|اخترنا لك|ننصحك بقراءه)\s*(?:$|:)"
)
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
    r"^(?:التعليقات|تعليقات|اضف تعليق|اضف تعليقك|اضافه تعليق|اضافه تعليق جديد|اترك تعليقا|اترك ردا"
    r"|اكتب تعليقك|التعليق|عدد التعليقات|\d+ تعليق|تعليقات القراء|التعليقات \d+|comments?|leave a (?:comment|reply)"
    r"|add (?:a )?(?:new )?comment|\d+ comments?)$",
    re.I,
)
# The site's note on comments, told apart from a story about comments by its voice: it
# addresses the reader or speaks of "the site".
_COMMENT_POLICY = re.compile(r"الاراء الوارده.{0,40}لا تعبر|لا تعبر عن راي (?:الموقع|الصحيفه|الجريده|موقع)"
                             r"|(?:مراجعه|نشر) التعليقات|سياسه التعليقات|ارشادات الاستخدام")
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
    return (bool(_READ_ALSO.match(normalize(raw_line, keep_punct=True))) or norm_line in _READ_ALSO_HEADINGS
            or bool(_READ_ALSO_EN.match(raw_line.strip())))


def is_site_line(norm_line: str, norm_site: str) -> bool:
    """The site's name alone, or copyright/rights lines of a footer."""
    if norm_site and (norm_line == norm_site or norm_line in (f"{norm_site} {x}" for x in ("nav", "home"))):
        return True
    return bool(_COPYRIGHT.search(norm_line)) and len(norm_line.split()) <= 25


def is_notice(norm_line: str) -> bool:
    """Cookie banners, newsletter boxes, comment-section headings and policy notes."""
    n = len(norm_line.split())
    if n <= 40 and _COOKIES.search(norm_line):
        return True
    if n <= 25 and _NEWSLETTER.search(norm_line):
        return True
    if n <= 6 and _COMMENT_HEADINGS.match(norm_line):
        return True
    return n <= 80 and bool(_COMMENT_POLICY.search(norm_line)) and bool(_SITE_VOICE.search(norm_line))


def is_ad_label(norm_line: str) -> bool:
    return norm_line in _AD_LABELS


def is_navigation(norm_line: str, raw_line: str = "") -> bool:
    """"المقال السابق: ..." / "Next article" links and "عدد القراءات: 842" counters."""
    if len(norm_line.split()) > 20:
        return False
    return bool(_NAVIGATION.match(norm_line)) or bool(_COUNTER.match(normalize(raw_line or norm_line, keep_punct=True)))


def is_meta_line(norm_line: str, raw_line: str | None = None) -> bool:
    """A byline, dateline or tag list that trafilatura left at the edge of the story.

    A dateline is a short line made of a date and only date words (weekday, time, zone,
    "آخر تحديث"); a sub-heading that merely holds a date ("هجوم 7 أكتوبر") is kept.
    """
    words = norm_line.split()
    if not words or len(words) > 14:
        return False
    raw = raw_line if raw_line is not None else norm_line
    if (_BYLINE_STRICT.match(normalize(raw, keep_punct=True)) and len(words) <= 7) or (
            _BYLINE_LOOSE.match(norm_line) and len(words) <= 5):
        return True
    if _TAGS.match(normalize(raw, keep_punct=True)):
        return True
    found = [f for f in find_dates(raw) if f.kind not in ("relative", "month")]
    if not found:
        return False
    left = words_besides_dates(raw, found)
    return not left or (bool(_DATE_LABEL.match(norm_line)) and len(left) <= 2)


def _tidy(line: str) -> str:
    line = _ZW.sub("", line)
    return _WS.sub(" ", line).strip()


def clean_text(text: str, *, title: str = "", site_name: str = "",
               patterns: Iterable[str | re.Pattern] = (),
               learned: Iterable[str] = frozenset()) -> str:
    """The story's paragraphs, separated by a blank line, without the page's furniture.

    ``patterns`` are the source's `boilerplate` regexes (searched in each line);
    ``learned`` are lines found verbatim in many stories of the source (crawler.text.learned).
    """
    return "\n\n".join(line for line, _ in clean_lines(text, title=title, site_name=site_name,
                                                        patterns=patterns, learned=learned))


def clean_lines(text: str, *, title: str = "", site_name: str = "",
                patterns: Iterable[str | re.Pattern] = (),
                learned: Iterable[str] = frozenset()) -> list[tuple[str, str]]:
    """clean_text's paragraphs as (paragraph, its normalised form): the form every later
    step (relevance, dedup keys, learned lines) would otherwise compute again."""
    compiled = [p if isinstance(p, re.Pattern) else re.compile(p) for p in patterns]
    learned_keys = {line_key(x) for x in learned}
    norm_title = normalize(title)
    norm_site = normalize(site_name)
    lines = [_tidy(x) for x in text.splitlines()]
    out: list[tuple[str, str]] = []
    for line in lines:
        if not line:
            continue
        norm = normalize(line)
        if not norm:  # a line of punctuation or a lone dot
            continue
        if is_read_also(norm, line):
            # The heading or an inline "اقرأ أيضا: <title>" line. The links under a heading
            # are removed on the tree (crawler.text.extract.drop_related_boxes): in plain text
            # they cannot be told from the sub-heading that may follow.
            continue
        if (is_headline_repeat(norm, norm_title, norm_site) or is_social(norm, line)
                or is_site_line(norm, norm_site) or is_notice(norm) or is_ad_label(norm)
                or is_meta_line(norm, line) or is_navigation(norm, line)):
            continue
        if line_key(line) in learned_keys or any(p.search(line) for p in compiled):
            continue
        line = fix_stray_dots(line)
        if out and out[-1][1] == norm:  # the same paragraph twice in a row
            continue
        out.append((line, norm))
    return out
