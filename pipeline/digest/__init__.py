"""The email side: daily digest, immediate alerts, delivery that loses nothing.

select   what goes in (flagged and not yet delivered, per-reader filters, window)
cluster  near-duplicate items -> one story, most authoritative source first
views    cleaned, length-capped view objects; render: jinja2 templates -> text + HTML
message  MIME building; send: SMTP / outbox; notify: apprise webhooks (optional)
deliver  record -> send -> mark, with retries (store.deliveries holds the records)
"""

from pipeline.digest.deliver import retry_pending, send_alerts, send_digest
from pipeline.digest.report import DeliveryReport

__all__ = ["DeliveryReport", "retry_pending", "send_alerts", "send_digest"]
