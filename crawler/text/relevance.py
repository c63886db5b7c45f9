"""Is this story defense news? A weighted Arabic lexicon, for general-news sources.

Sources with ``relevance_filter: true`` publish everything (sport, culture, economy); only
stories that score at least THRESHOLD are kept. Terms are matched on normalised text with
Arabic clitics allowed in front (و ف ب ل ك ال لل) and short suffixes behind, so "والصواريخ",
"بالدبابات" and "للجيش" all count. The title weighs more than the body; the body is scored
by density so that one passing mention in a long story is not enough. Negative cues catch
sport and cinema, which borrow military words: "الجيش الملكي" is a Moroccan football club,
"هجوم" and "دفاع" are also football positions, and a war film is not a war.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache

from crawler.text.arabic import normalize

THRESHOLD = 0.5

# term -> weight. Written as printed; normalised when compiled.
_TERMS: dict[str, float] = {
    # forces and institutions
    "الجيش": 1.5, "الجيوش": 1.5, "القوات المسلحة": 3, "وزارة الدفاع": 3, "وزير الدفاع": 3,
    "رئيس الأركان": 3, "هيئة الأركان": 3, "البنتاغون": 3, "البنتاجون": 3, "حلف الناتو": 3,
    "الناتو": 2, "حلف شمال الأطلسي": 3, "القوات الجوية": 3, "سلاح الجو": 3, "القوات البحرية": 3,
    "البحرية": 1.5, "الحرس الثوري": 2.5, "الحرس الوطني": 2, "مشاة البحرية": 3,
    "القوات الخاصة": 2.5, "الدفاع الجوي": 3, "الصناعات الدفاعية": 3, "الصناعات العسكرية": 3,
    "عسكري": 2, "عسكرية": 2, "العسكري": 2, "العسكرية": 2, "عسكريا": 2, "العسكريين": 2,
    "جنود": 1.5, "الجنود": 1.5, "جندي": 1.5, "ضابط": 1.5, "ضباط": 1.5, "لواء": 1, "كتيبة": 2,
    "فرقة مدرعة": 3, "الاستخبارات": 1.5, "الأمن القومي": 1.5, "مجلس الأمن": 1,
    # weapons and platforms
    "صاروخ": 2, "صواريخ": 2.5, "صاروخية": 2.5, "باليستي": 3, "باليستية": 3, "كروز": 1.5,
    "فرط صوتي": 3, "فرط صوتية": 3, "دبابة": 3, "دبابات": 3, "مدرعة": 2.5, "مدرعات": 2.5,
    "مقاتلة": 2, "مقاتلات": 2.5, "طائرة مسيرة": 3, "طائرات مسيرة": 3, "مسيرة": 1.5,
    "مسيرات": 2.5, "درون": 2, "المسيرات": 2.5, "قاذفة": 2.5, "قاذفات": 2.5, "مروحية": 1.5,
    "مروحيات": 1.5, "فرقاطة": 3, "فرقاطات": 3, "غواصة": 3, "غواصات": 3, "حاملة طائرات": 3,
    "حاملة الطائرات": 3, "مدمرة": 2.5, "كورفيت": 3, "بارجة": 3, "منظومة": 1.5, "منظومات": 1.5,
    "رادار": 2, "ذخيرة": 2.5, "ذخائر": 2.5, "قذائف": 2.5, "مدفعية": 3, "راجمات": 3,
    "أسلحة": 2, "السلاح": 1.5, "تسليح": 2.5, "التسليح": 2.5, "أسلحة نووية": 3, "رأس حربي": 3,
    "إف-35": 3, "إف-16": 3, "سوخوي": 3, "ميغ": 2, "رافال": 3, "باتريوت": 3, "إس-400": 3,
    "هيمارس": 3, "بيرقدار": 3, "أباتشي": 3, "ستينغر": 3, "جافلين": 3, "تي-90": 3, "أبرامز": 3,
    "ليوبارد": 3, "القبة الحديدية": 3, "ثاد": 2,
    # operations and events
    "مناورة": 2.5, "مناورات": 2.5, "تدريبات عسكرية": 3, "تمرين عسكري": 3, "غارة": 2.5,
    "غارات": 2.5, "قصف": 2, "اشتباكات": 2, "معارك": 2, "هجوم صاروخي": 3, "عملية عسكرية": 3,
    "ضربة جوية": 3, "ضربات جوية": 3, "هدنة": 1.5, "وقف إطلاق النار": 2, "الحرب": 1,
    "حرب": 1, "النزاع المسلح": 2.5, "مسلحين": 1.5, "مسلحة": 1.5, "فصائل": 1.5,
    "صفقة أسلحة": 3, "صفقة سلاح": 3, "معرض دفاعي": 3, "آيدكس": 3, "الدفاع": 1, "دفاعية": 2,
    "الأمن": 0.5, "أمنية": 1, "إرهابي": 1.5, "الإرهاب": 1.5, "الحدود": 0.5, "اعتراض": 1.5,
    "عتاد": 2.5, "العتاد": 2.5, "ترسانة": 2.5, "تسلح": 2.5, "هجوم": 1, "دفاع": 1,
}

# Cues that the military words are sport or entertainment. Weight is subtracted.
# "الجيش الملكي" cancels its "الجيش": the phrase names the Rabat club as well as armies, so the
# sport words around it decide.
_NEGATIVE: dict[str, float] = {
    "الجيش الملكي": 1.5, "نادي": 2.5, "النادي": 2.5, "الدوري": 3, "البطولة": 2, "بطولة": 2,
    "مباراة": 3, "المباراة": 3, "مباريات": 3, "كرة القدم": 3, "كرة السلة": 3, "المنتخب": 2,
    "المدرب": 1.5, "اللاعب": 2.5, "لاعب": 2, "لاعبي": 2, "اللاعبين": 2, "هدف": 1,
    "الهدف الأول": 2, "ركلة": 3, "ركلات": 3, "الشوط": 3, "شوط": 2.5, "الملعب": 2,
    "جماهير": 2, "الجماهير": 2, "المهاجم": 2.5, "حارس المرمى": 3, "الكأس": 2, "كأس": 1.5,
    "ديربي": 3, "الوداد": 3, "الرجاء": 3, "الأهلي": 2, "الزمالك": 3, "الترجي": 3,
    "فيلم": 3, "الفيلم": 3, "أفلام": 3, "مسلسل": 3, "المسلسل": 3, "سينما": 3, "السينما": 3,
    "السينمائي": 3, "شباك التذاكر": 3, "الممثل": 2.5, "الممثلة": 2.5, "بطولة النجم": 3,
    "المخرج": 2, "مهرجان": 2, "عرض أول": 2, "النجمة": 2, "النجم": 1.5, "لعبة فيديو": 3,
    "ألعاب الفيديو": 3, "بلايستيشن": 3, "رواية": 1.5, "حلقة": 1.5, "الموسم": 1.5,
}


_PREFIXES = [(p1 + p2 + p3, p3 != "") for p1 in ("", "و", "ف") for p2 in ("", "ب", "ك", "ل")
             for p3 in ("", "ال") if not (p2 == "ل" and p3 == "ال")] + [
             (p1 + "لل", True) for p1 in ("", "و", "ف")]
_SUFFIXES = ("", "ات", "ين", "ون", "ه", "ها", "هم", "يه", "يا", "ي")

Term = tuple[tuple[str, ...], bool, float]  # (words after the first, first word needs ال, weight)


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, list[Term]], dict[str, list[Term]]]:
    """Terms keyed by the bare form of their first word (without "ال")."""

    def build(terms: dict[str, float]) -> dict[str, list[Term]]:
        index: dict[str, list[Term]] = {}
        for term, weight in terms.items():
            words = normalize(term).split()
            first, needs_al = (words[0][2:], True) if words[0].startswith("ال") else (words[0], False)
            index.setdefault(first, []).append((tuple(words[1:]), needs_al, weight))
        return index

    return build(_TERMS), build(_NEGATIVE)


@lru_cache(maxsize=1 << 16)
def _cores(token: str) -> tuple[tuple[str, bool, bool], ...]:
    """(core, an article was stripped, a suffix was stripped) for every clitic reading.

    Cached: news vocabulary repeats, and this is the hot loop of scoring (pure, so safe)."""
    out = []
    for prefix, has_al in _PREFIXES:
        if token.startswith(prefix) and len(token) - len(prefix) >= 2:
            rest = token[len(prefix):]
            for suffix in _SUFFIXES:
                if not suffix:
                    out.append((rest, has_al, False))
                elif rest.endswith(suffix) and len(rest) - len(suffix) >= 2:
                    out.append((rest[: -len(suffix)], has_al, True))
    return tuple(out)


def _weighted(text: str, index: dict[str, list[Term]], cap: int = 3) -> float:
    """Sum of weights of the terms found in normalised ``text``, each counted at most ``cap`` times."""
    tokens = text.split()
    counts: Counter = Counter()
    for i, token in enumerate(tokens):
        seen = set()
        for core, has_al, suffixed in _cores(token):
            for rest, needs_al, weight in index.get(core, ()):
                if needs_al and not has_al:
                    continue
                if rest:
                    if suffixed:  # a suffix belongs to the last word of a phrase
                        continue
                    nxt = tokens[i + 1: i + 1 + len(rest)]
                    if len(nxt) < len(rest) or list(nxt[:-1]) != list(rest[:-1]) or not any(
                            nxt[-1] == rest[-1] + sfx for sfx in _SUFFIXES):
                        continue
                key = (core, rest, needs_al)
                if key not in seen:  # one reading of a token counts once
                    seen.add(key)
                    counts[key] += 1
    return sum(weight * min(cap, n) for (core, rest, needs_al), n in counts.items()
               for r, na, weight in index[core] if r == rest and na == needs_al)


def score(title: str, text: str) -> float:
    """Defense relevance in [0, 1): 0 for no military vocabulary, above THRESHOLD for defense news."""
    return score_normalized(normalize(title or ""), normalize(text or ""))


def score_normalized(t: str, b: str) -> float:
    """score() of a title and text already normalised (crawler.text.arabic.normalize):
    the worker has them from cleaning and does not normalise the story again."""
    pos, neg = _index()
    words = max(1, len(b.split()))
    # Body counts per 300 words so a long story needs more than one passing mention.
    density = 300 / max(300, words)
    raw = 2.5 * _weighted(t, pos, cap=2) + density * _weighted(b, pos)
    raw -= 2.5 * _weighted(t, neg, cap=2) + density * _weighted(b, neg)
    if raw <= 0:
        return 0.0
    return round(1 - math.exp(-raw / 10), 4)


def is_relevant(title: str, text: str, threshold: float = THRESHOLD) -> bool:
    return score(title, text) >= threshold
