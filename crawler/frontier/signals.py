"""Signals the frontier sends to the rest of the crawl (Scrapy signal objects)."""

#: This worker found nothing to take: whatever the pipeline holds should be stored now,
#: because its leases keep other workers waiting until it is.
starved = object()
