"""Defaults of the shared Redis frontier (folded into crawler/defaults.py after the layout move)."""

#: A worker is dead when it has not renewed its liveness key for this long (seconds). Its
#: leases are then handed back to the queue. A thread renews it every TTL/8, so a busy
#: reactor cannot make a live worker look dead; a SIGKILLed one is noticed within TTL.
WORKER_TTL = 8.0
#: How often (seconds) each worker reaps dead workers' leases and wakes its engine when
#: work appears in the shared queue (Scrapy itself only polls every 5 s).
POLL_INTERVAL = 0.5
#: A run (and its seen-set and seed claim) outlives its last worker by this long (seconds),
#: so `defnews workers` can still show it; the next run starts afresh anyway.
RUN_TTL = 6 * 3600
#: How long (seconds) Redis may stay unreachable before a worker gives up the crawl.
REDIS_OUTAGE = 30.0
#: How long (seconds) a joining worker waits for the run's creator to record the run in SQL.
RUN_RECORD_WAIT = 15.0
