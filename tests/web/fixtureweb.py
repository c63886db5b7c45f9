"""The fixture web for end-to-end crawls: two Arabic news sites of different templates.

alpha (127.0.0.1): WordPress-like, UTF-8, RSS feed, sitemap index (posts + Google News),
paginated category listing, robots.txt that disallows /private/, a redirect, a 500-then-200
page, a 404, a PDF, an oversized page and a link carrying tracking parameters.
beta (127.0.0.2): an old table layout in windows-1256 (declared only by <meta charset>),
an Atom feed and a listing paginated by an "التالي" link.
offsite (127.0.0.3): linked from alpha, must never be fetched.

`EXPECTED` is the ground truth: every reachable article, stored exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import format_datetime
from datetime import datetime, timezone
from html import escape

from tests.web.server import Request, Resp, Site, Web


@dataclass(frozen=True)
class Article:
    key: str
    path: str  # where it is served (final URL path)
    title: str
    paragraphs: tuple[str, ...]
    published: datetime | None  # UTC, what must be stored
    author: str = ""


ALPHA_ARTICLES = [
    Article("a1", "/2023/09/russia-korea-drill/", "روسيا تبحث مناورة بحرية مع كوريا الشمالية", (
        "ذكرت وكالة يونهاب أن وزير الدفاع الروسي تحدث عن مناقشات مستمرة حول إجراء مناورات بحرية مشتركة مع كوريا الشمالية في بحر اليابان خلال الأشهر المقبلة.",
        "وأشار الوزير إلى أن بلاده أجرت دوريات مشتركة للقاذفات الاستراتيجية مع الصين، وأن التعاون العسكري مع الجيران يبقى أولوية في العقيدة الدفاعية الجديدة.",
        "ويرى محللون أن التدريبات المقترحة قد تشمل سفنا حربية وغواصات، في رسالة موجهة إلى الولايات المتحدة وحلفائها في المنطقة.",
    ), datetime(2023, 9, 5, 7, 0, tzinfo=timezone.utc), "هيئة التحرير"),
    Article("a2", "/2023/09/egypt-frigate/", "مصر تتسلم فرقاطة جديدة من طراز فريم", (
        "تسلمت القوات البحرية المصرية فرقاطة متعددة المهام من طراز فريم في ميناء لوريان الفرنسي، بحضور قائد القوات البحرية وعدد من كبار الضباط.",
        "وتتميز الفرقاطة بمنظومة دفاع جوي متطورة وصواريخ مضادة للسفن، كما تحمل مروحية للحرب المضادة للغواصات.",
        "وتعد هذه الصفقة جزءا من برنامج تحديث الأسطول الذي بدأ قبل عقد، ويهدف إلى تأمين الممرات الملاحية في البحرين الأحمر والمتوسط.",
    ), datetime(2023, 9, 6, 9, 30, tzinfo=timezone.utc)),
    Article("a3", "/2023/09/saudi-air-defense/", "السعودية تعلن اعتراض طائرات مسيرة فوق المنطقة الشرقية", (
        "أعلنت وزارة الدفاع السعودية أن منظومات الدفاع الجوي اعترضت ثلاث طائرات مسيرة مفخخة أطلقت باتجاه منشآت نفطية في المنطقة الشرقية فجر اليوم.",
        "وقال المتحدث باسم الوزارة إن عمليات الاعتراض تمت دون وقوع إصابات، وإن فرق الهندسة تعاملت مع الحطام المتساقط في مناطق غير مأهولة.",
        "وتأتي هذه الهجمات بعد أسابيع من الهدوء النسبي، وسط تحذيرات من تصعيد جديد على الحدود الجنوبية للمملكة.",
    ), datetime(2023, 9, 7, 3, 15, tzinfo=timezone.utc)),
    Article("a4", "/2023/09/turkey-drone-export/", "تركيا توقع عقدا لتصدير مسيرات قتالية إلى دولة أفريقية", (
        "وقعت شركة صناعات دفاعية تركية عقدا لتصدير طائرات مسيرة قتالية متوسطة الارتفاع إلى إحدى دول غرب أفريقيا، وفق بيان صادر عن رئاسة الصناعات الدفاعية.",
        "ويشمل العقد محطات تحكم أرضية وبرنامج تدريب للطيارين والفنيين يمتد عامين، إضافة إلى ذخائر موجهة بالليزر.",
        "وارتفعت صادرات أنقرة الدفاعية خلال العام الماضي إلى مستويات قياسية مدفوعة بالطلب على الطائرات المسيرة.",
    ), datetime(2023, 9, 8, 11, 0, tzinfo=timezone.utc)),
    Article("a5", "/2023/09/jordan-border/", "الجيش الأردني يحبط محاولة تهريب على الحدود الشمالية", (
        "أحبطت المنطقة العسكرية الشمالية في الجيش الأردني محاولة تسلل وتهريب كميات كبيرة من المواد المخدرة قادمة من الأراضي السورية.",
        "وأوضح مصدر عسكري أن قوات حرس الحدود طبقت قواعد الاشتباك، ما أدى إلى تراجع المهربين إلى العمق السوري بعد اشتباك قصير.",
        "وضبطت القوات المضبوطات وسلمتها إلى الجهات المختصة، مؤكدة أنها ستتعامل بحزم مع أي تهديد يمس أمن الحدود.",
    ), datetime(2023, 9, 9, 18, 45, tzinfo=timezone.utc)),
    Article("a6", "/2023/09/uae-exercise/", "الإمارات تختتم تمرينا عسكريا مشتركا مع فرنسا", (
        "اختتمت القوات المسلحة الإماراتية تمرينا مشتركا مع القوات الفرنسية استمر أسبوعين في المنطقة الغربية، بمشاركة وحدات مدرعة ومروحيات هجومية.",
        "وركز التمرين على عمليات الإنزال الجوي والقتال في المناطق المبنية وتبادل الخبرات في مجال القيادة والسيطرة.",
        "وقال قائد التمرين إن التدريب رفع مستوى الجاهزية القتالية وعزز التوافق العملياتي بين القوتين.",
    ), datetime(2023, 9, 10, 6, 0, tzinfo=timezone.utc)),
    Article("a7", "/2023/09/iraq-operation/", "القوات العراقية تطلق عملية تمشيط في صحراء الأنبار", (
        "أطلقت قيادة العمليات المشتركة في العراق عملية واسعة لتمشيط صحراء الأنبار بحثا عن خلايا متبقية لتنظيم داعش.",
        "وتشارك في العملية قطعات من الجيش والحشد وطيران الجيش، بإسناد من طائرات استطلاع تابعة للتحالف الدولي.",
        "وأفاد بيان القيادة بتدمير عدد من المضافات والعثور على أسلحة وعبوات ناسفة معدة للتفجير.",
    ), datetime(2023, 9, 11, 8, 20, tzinfo=timezone.utc)),
    Article("a8", "/2023/09/morocco-helicopters/", "المغرب يتسلم الدفعة الأولى من مروحيات أباتشي", (
        "تسلمت القوات المسلحة الملكية المغربية الدفعة الأولى من مروحيات أباتشي الهجومية في إطار صفقة أبرمت مع الولايات المتحدة.",
        "وتضم الصفقة أربعا وعشرين مروحية مع صواريخ هيلفاير ومنظومات رؤية ليلية وقطع غيار لعدة سنوات.",
        "وتعزز المروحيات الجديدة قدرات الدعم الجوي القريب ومكافحة الدروع لدى الجيش المغربي.",
    ), datetime(2023, 9, 12, 13, 10, tzinfo=timezone.utc)),
    Article("a9", "/2023/08/kuwait-tanks/", "الكويت تحدث أسطول دباباتها القتالية", (
        "وقعت وزارة الدفاع الكويتية اتفاقية لتحديث دبابات القتال الرئيسية بأنظمة إدارة نيران جديدة ومحركات أكثر قوة.",
        "وتنفذ أعمال التحديث على مراحل داخل ورش الجيش الكويتي بمشاركة خبراء من الشركة المصنعة.",
        "ويأتي البرنامج ضمن خطة لإطالة العمر التشغيلي للمدرعات حتى منتصف العقد المقبل.",
    ), datetime(2023, 8, 28, 10, 0, tzinfo=timezone.utc)),
]

BETA_ARTICLES = [
    Article("b1", "/news.php?id=1", "اليمن: قوات خفر السواحل تضبط شحنة أسلحة", (
        "ضبطت قوات خفر السواحل اليمنية قاربا يحمل شحنة من الأسلحة والذخائر قبالة سواحل محافظة المهرة.",
        "وأوضح مصدر أمني أن الشحنة تضمنت بنادق قنص وقذائف مضادة للدروع ومناظير ليلية كانت في طريقها إلى جهات مسلحة.",
        "وأحيل طاقم القارب إلى التحقيق لكشف الجهات التي تقف وراء عملية التهريب.",
    ), datetime(2023, 9, 4, 12, 0, tzinfo=timezone.utc)),
    Article("b2", "/news.php?id=2", "ليبيا: توحيد المؤسسة العسكرية على طاولة لجنة خمسة زائد خمسة", (
        "عقدت اللجنة العسكرية المشتركة الليبية اجتماعا جديدا في مدينة سرت لبحث خطوات توحيد المؤسسة العسكرية.",
        "وناقش المجتمعون ملف إخراج المرتزقة والقوات الأجنبية وآليات مراقبة وقف إطلاق النار على خطوط التماس.",
        "وأعربت البعثة الأممية عن دعمها لعمل اللجنة ودعت الأطراف إلى الالتزام بالجدول الزمني المتفق عليه.",
    ), datetime(2023, 9, 3, 16, 30, tzinfo=timezone.utc)),
    Article("b3", "/news.php?id=3", "الجزائر تجري مناورات بالذخيرة الحية في الجنوب", (
        "نفذت وحدات من الجيش الوطني الشعبي الجزائري تمرينا تكتيكيا بالذخيرة الحية في الناحية العسكرية الرابعة بحضور رئيس الأركان.",
        "وشمل التمرين رمايات للمدفعية والدبابات وتدخل الطيران الحربي لضرب أهداف معادية افتراضية في عمق الصحراء.",
        "وأكد رئيس الأركان في كلمة للمشاركين أهمية التدريب المستمر للحفاظ على الجاهزية وحماية الحدود الواسعة.",
    ), datetime(2023, 9, 5, 6, 30, tzinfo=timezone.utc)),  # printed: الثلاثاء، 5 أيلول 2023 09:30 (Cairo, UTC+3)
    Article("b4", "/news.php?id=4", "تونس تستلم زوارق دورية لمراقبة السواحل", (
        "تسلم جيش البحر التونسي زوارق دورية سريعة لتعزيز قدرات مراقبة السواحل ومكافحة الهجرة غير النظامية والتهريب.",
        "وجرى تسليم الزوارق في ميناء بنزرت خلال حفل حضره وزير الدفاع وعدد من الملحقين العسكريين.",
        "وتندرج هذه الخطوة في إطار برنامج تعاون يشمل التدريب والصيانة على مدى ثلاث سنوات.",
    ), datetime(2023, 8, 30, 9, 0, tzinfo=timezone.utc)),  # printed: ٣٠ آب ٢٠٢٣ 12:00 (Cairo, UTC+3)
]

# On beta (a general outlet, relevance_filter: true): not defense news, must be rejected.
SPORT = Article("b5", "/news.php?id=5", "الجيش الملكي يفوز على الوداد في قمة الدوري المغربي", (
    "حقق فريق الجيش الملكي فوزا ثمينا على ضيفه الوداد بهدفين مقابل هدف في قمة الجولة العاشرة من الدوري المغربي لكرة القدم.",
    "وسجل مهاجم الفريق العسكري الهدف الثاني في الدقائق الأخيرة من المباراة وسط فرحة كبيرة للجماهير في المدرجات.",
    "وبهذا الفوز يرتقي الجيش الملكي إلى صدارة الترتيب مؤقتا في انتظار نتائج باقي مباريات الجولة.",
), datetime(2023, 9, 2, 20, 0, tzinfo=timezone.utc))

ALPHA_SITE_NAME = "موقع ألفا الدفاعي"
BETA_SITE_NAME = "بوابة بيتا"


def wp_page(a: Article, site_url: str, *, canonical: bool = True, filler: int = 0) -> str:
    """WordPress-like article page with share bar, related box and footer."""
    paras = "\n".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
    pub = a.published.isoformat() if a.published else ""
    canon = f'<link rel="canonical" href="{site_url}{a.path}">' if canonical else ""
    pad = "<!-- " + ("x" * filler) + " -->" if filler else ""
    return f"""<!DOCTYPE html>
<html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>{escape(a.title)} | {ALPHA_SITE_NAME}</title>
<meta property="og:title" content="{escape(a.title)}">
<meta property="og:site_name" content="{ALPHA_SITE_NAME}">
<meta property="article:published_time" content="{pub}">
{canon}
</head><body>
<header><nav><a href="/">الرئيسية</a> <a href="/category/defense/">دفاع</a></nav></header>
<main><article class="post">
<h1 class="entry-title">{escape(a.title)}</h1>
<div class="entry-meta">بواسطة {escape(a.author or "المحرر")}</div>
<div class="entry-content">
{paras}
</div>
<div class="share">شارك: فيسبوك تويتر واتساب</div>
</article>
<aside class="related"><h3>اقرأ أيضا</h3><ul><li><a href="/2023/01/old/">خبر قديم</a></li></ul></aside>
</main>
<footer>جميع الحقوق محفوظة © {ALPHA_SITE_NAME}</footer>
{pad}
</body></html>"""


def table_page(a: Article, printed_date: str) -> bytes:
    """Old table layout, windows-1256, charset declared only in <meta>."""
    paras = "".join(f"<p>{escape(p)}</p>\n" for p in a.paragraphs)
    html = f"""<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">
<title>{escape(a.title)} - {BETA_SITE_NAME}</title></head>
<body><table width="100%"><tr><td class="menu"><a href="/archive.php">الأرشيف</a></td></tr>
<tr><td class="content"><h1>{escape(a.title)}</h1>
<span class="date">{printed_date}</span>
{paras}
</td></tr><tr><td class="footer">{BETA_SITE_NAME} - جميع الحقوق محفوظة</td></tr></table></body></html>"""
    return html.encode("windows-1256", errors="xmlcharrefreplace")


def rss(items: list[tuple[str, Article]], site_url: str) -> str:
    entries = "".join(
        f"""<item><title>{escape(a.title)}</title><link>{escape(link)}</link>
<guid isPermaLink="false">alpha-{a.key}</guid>
<pubDate>{format_datetime(a.published) if a.published else ''}</pubDate>
<dc:creator>{escape(a.author)}</dc:creator>
<description>{escape(a.paragraphs[0])}</description></item>"""
        for link, a in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>{ALPHA_SITE_NAME}</title><link>{site_url}/</link><description>أخبار</description>
{entries}</channel></rss>"""


def atom(items: list[Article], site_url: str) -> str:
    entries = "".join(
        f"""<entry><title>{escape(a.title)}</title><link href="{site_url}{escape(a.path)}"/>
<id>tag:beta,2023:{a.key}</id><updated>{a.published.isoformat()}</updated>
<published>{a.published.isoformat()}</published><summary>{escape(a.paragraphs[0])}</summary></entry>"""
        for a in items
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>{BETA_SITE_NAME}</title>
<id>tag:beta,2023:feed</id><updated>2023-09-05T00:00:00Z</updated>{entries}</feed>"""


def urlset(urls: list[str]) -> str:
    locs = "".join(f"<url><loc>{escape(u)}</loc></url>" for u in urls)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'


def news_sitemap(entries: list[tuple[str, Article]]) -> str:
    items = "".join(
        f"""<url><loc>{escape(u)}</loc><news:news><news:publication><news:name>Alpha</news:name>
<news:language>ar</news:language></news:publication>
<news:publication_date>{a.published.isoformat()}</news:publication_date>
<news:title>{escape(a.title)}</news:title></news:news></url>"""
        for u, a in entries
    )
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{items}</urlset>')


def listing(links: list[str], next_href: str | None, *, next_text: str | None = None) -> str:
    lis = "".join(f'<li><a href="{escape(u)}">خبر</a></li>' for u in links)
    head_next = f'<link rel="next" href="{next_href}">' if next_href and not next_text else ""
    body_next = f'<a href="{next_href}">{next_text}</a>' if next_href and next_text else ""
    return (f'<html lang="ar"><head><meta charset="utf-8"><title>قسم</title>{head_next}</head><body>'
            f'<ul class="posts">{lis}</ul><div class="pages">{body_next}</div></body></html>')


def build_web() -> tuple[Web, dict[str, Site]]:
    """Create (not start) the web; URLs that need ports are filled in by `start_web`."""
    alpha, beta, offsite = Site("127.0.0.1"), Site("127.0.0.2"), Site("127.0.0.3")
    return Web(alpha, beta, offsite), {"alpha": alpha, "beta": beta, "offsite": offsite}


def start_web() -> tuple[Web, dict[str, Site]]:
    web, sites = build_web()
    web.start()
    alpha, beta, offsite = sites["alpha"], sites["beta"], sites["offsite"]
    A = {a.key: a for a in ALPHA_ARTICLES}
    B = {b.key: b for b in BETA_ARTICLES}
    au, bu = alpha.base, beta.base

    for a in ALPHA_ARTICLES:
        alpha.routes[a.path] = Resp(wp_page(a, au, canonical=a.key != "a2"))

    def flaky(req: Request) -> Resp:  # 500 first, then the page
        if req.count == 1:
            return Resp("<html><body>error</body></html>", status=500)
        return Resp(wp_page(A["a8"], au))

    alpha.routes[A["a8"].path] = flaky
    alpha.routes["/go/a3"] = Resp("", status=301, headers={"Location": A["a3"].path})
    alpha.routes["/robots.txt"] = Resp("User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    alpha.routes["/private/secret-plan/"] = Resp(wp_page(Article("p", "/private/secret-plan/", "سري", ("نص سري",) * 3, None), au))
    alpha.routes["/feed/"] = Resp(rss([
        (au + A["a1"].path, A["a1"]),
        (au + A["a2"].path + "?utm_source=rss&utm_medium=feed&fbclid=abc", A["a2"]),
        (au + "/go/a3", A["a3"]),
        (au + "/2023/09/missing/", Article("gone", "/2023/09/missing/", "خبر محذوف", ("x",), A["a1"].published)),
    ], au), content_type="application/rss+xml; charset=utf-8")
    alpha.routes["/sitemap_index.xml"] = Resp(
        f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{au}/sitemap-posts.xml</loc></sitemap><sitemap><loc>{au}/news-sitemap.xml.gz</loc></sitemap>"
        f"</sitemapindex>", content_type="application/xml")
    alpha.routes["/sitemap-posts.xml"] = Resp(urlset([
        au + A["a4"].path, au + A["a5"].path, au + "/2023/09/report.pdf", au + "/2023/09/huge-gallery/",
    ]), content_type="application/xml")
    alpha.routes["/news-sitemap.xml.gz"] = Resp(news_sitemap([(au + A["a6"].path, A["a6"])]).encode(),
                                                content_type="application/x-gzip", gzip=False)
    import gzip as _gz

    alpha.routes["/news-sitemap.xml.gz"].body = _gz.compress(alpha.routes["/news-sitemap.xml.gz"].payload())
    alpha.routes["/2023/09/report.pdf"] = Resp(b"%PDF-1.4 not a page", content_type="application/pdf")
    huge = Article("huge", "/2023/09/huge-gallery/", "معرض صور ضخم", ("صورة",) * 3, None)
    alpha.routes["/2023/09/huge-gallery/"] = Resp(wp_page(huge, au, filler=400_000))
    alpha.routes["/category/defense/"] = Resp(listing([
        A["a7"].path, A["a8"].path, A["a5"].path, "/private/secret-plan/",
        offsite.url("/2023/09/offsite-story/"), "/tag/navy/",
    ], "/category/defense/page/2/"))
    alpha.routes["/category/defense/page/2/"] = Resp(listing([A["a9"].path], "/category/defense/page/3/"))
    alpha.routes["/category/defense/page/3/"] = Resp(listing([A["a1"].path], None))
    offsite.routes["/2023/09/offsite-story/"] = Resp(wp_page(Article("o", "/2023/09/offsite-story/", "خارجي", ("نص",) * 3, None), offsite.base))

    beta_dates = {"b1": "", "b2": "", "b3": "الثلاثاء، 5 أيلول 2023 09:30", "b4": "٣٠ آب ٢٠٢٣ 12:00",
                  "b5": "السبت، 2 أيلول 2023"}
    for b in [*BETA_ARTICLES, SPORT]:
        beta.routes[b.path] = Resp(table_page(b, beta_dates[b.key]), content_type="text/html")
    beta.routes["/robots.txt"] = Resp("User-agent: *\nAllow: /\n", content_type="text/plain")
    beta.routes["/atom.xml"] = Resp(atom([B["b1"], B["b2"]], bu), content_type="application/atom+xml")
    beta.routes["/archive.php"] = Resp(listing(["/news.php?id=3", "/news.php?id=1"], "/archive.php?page=2",
                                               next_text="التالي"))
    beta.routes["/archive.php?page=2"] = Resp(listing(["/news.php?id=4", SPORT.path], None))
    return web, sites


def expected(sites: dict[str, Site]) -> dict[str, Article]:
    """Canonical URL -> article, for every article a crawl must store."""
    out = {sites["alpha"].base + a.path: a for a in ALPHA_ARTICLES}
    out.update({sites["beta"].base + b.path: b for b in BETA_ARTICLES})
    return out


def config_yaml(sites: dict[str, Site], db_url: str, *, max_listing_pages: int = 5) -> str:
    au, bu = sites["alpha"].base, sites["beta"].base
    return f"""database: {db_url}
crawl:
  obey_robots: true
  concurrency: 8
  per_domain_concurrency: 4
  max_listing_pages: {max_listing_pages}
  download_delay: 0
  timeout: 10
  max_page_bytes: 200000
sources:
  - name: alpha
    url: {au}/
    feeds: [{au}/feed/]
    sitemaps: [{au}/sitemap_index.xml]
    start_urls: [{au}/category/defense/]
    article_pattern: '/20\\d\\d/\\d\\d/'
    timezone: Asia/Riyadh
  - name: beta
    url: {bu}/
    feeds: [{bu}/atom.xml]
    start_urls: [{bu}/archive.php]
    article_pattern: 'news\\.php\\?id=\\d+'
    timezone: Africa/Cairo
    relevance_filter: true
"""
