"""The store's Prometheus metrics, in the process-wide default registry that /metrics serves."""

from prometheus_client import Counter, Histogram

APPENDS = Counter(
    "campaign_store_appends_total", "Appends to the event store by outcome", ["outcome"]
)
APPENDS_OK = APPENDS.labels("ok")
EVENTS_APPENDED = Counter("campaign_store_events_appended_total", "Events appended")
APPEND_SECONDS = Histogram(
    "campaign_store_append_seconds",
    "Time to append one batch, including the database round trip",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
WAKE_UPS_SENT = Counter(
    "campaign_store_wakeups_sent_total", "NOTIFY signals sent after commits (coalesced)"
)
