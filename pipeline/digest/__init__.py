"""The email side: daily digest, immediate alerts, delivery that loses nothing.

select   what goes in (flagged and not yet delivered, per-reader filters, window)
cluster  near-duplicate items -> one story, most authoritative source first
views    cleaned, length-capped view objects; render: jinja2 templates -> text + HTML
message  MIME building; send: SMTP / outbox; notify: apprise webhooks (optional)
deliver  record -> send -> mark, with retries (store.deliveries holds the records)
facts    the entry's facts line (stage, dates, repeals) and the 日程 rows
remind   the 日程 of a digest and the reminders due (``send_reminders`` sends them)
"""

from pipeline.digest.deliver import retry_pending, send_alerts, send_digest, send_reminders
from pipeline.digest.report import DeliveryReport

__all__ = ["DeliveryReport", "retry_pending", "send_alerts", "send_digest", "send_reminders"]
