"""What one delivery call did: the value that send_digest, send_alerts, retry_pending return."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    kind: str  # "digest" | "alert" | "retry"
    sent: int = 0  # messages accepted by an SMTP server
    written: int = 0  # messages delivered to the outbox folder (no [email] configured)
    notified: int = 0  # chat messages accepted by a webhook
    failed: int = 0  # deliveries that failed now; kept and retried with backoff
    errors: tuple[str, ...] = ()
    stories: int = 0  # stories in the messages made by this call
    items: int = 0  # items carried by those messages
    events: int = 0  # source health events carried
    paths: tuple[Path, ...] = field(default_factory=tuple)  # files written (.eml, .html)
    dry_run: bool = False
    nothing_to_report: bool = False

    @property
    def ok(self) -> bool:
        return self.failed == 0

    @property
    def preview(self) -> Path | None:
        """The first HTML file written, if any."""
        return next((p for p in self.paths if p.suffix == ".html"), None)

    def merge(self, other: DeliveryReport) -> DeliveryReport:
        return replace(
            self,
            sent=self.sent + other.sent,
            written=self.written + other.written,
            notified=self.notified + other.notified,
            failed=self.failed + other.failed,
            errors=self.errors + other.errors,
            stories=self.stories + other.stories,
            items=self.items + other.items,
            events=self.events + other.events,
            paths=self.paths + other.paths,
            nothing_to_report=self.nothing_to_report and other.nothing_to_report,
        )

    def summary(self) -> str:
        """A few lines for the operator."""
        if self.dry_run:
            lines = [f"{self.kind} dry run: nothing sent, nothing marked delivered"]
            lines += [f"  wrote {p}" for p in self.paths]
            return "\n".join(lines)
        if self.nothing_to_report and not (self.sent or self.written or self.failed):
            return "Nothing to report, nothing sent."
        what = f"{self.stories} stories, {self.items} items"
        if self.events:
            what += f", {self.events} source events"
        parts = []
        if self.sent:
            parts.append(f"{self.sent} sent")
        if self.written:
            parts.append(f"{self.written} written to the outbox")
        if self.notified:
            parts.append(f"{self.notified} chat messages")
        if self.failed:
            parts.append(f"{self.failed} failed (kept, retried later)")
        lines = [f"{self.kind}: {', '.join(parts) or 'nothing sent'} ({what})"]
        lines += [f"  wrote {p}" for p in self.paths]
        lines += [f"  error: {e}" for e in self.errors]
        return "\n".join(lines)
