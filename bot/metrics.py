"""Prometheus metrics. One registry per application, so tests can build many."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "poruch_updates_total",
            "Incoming events handled, by platform and kind",
            ["platform", "kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "poruch_handler_seconds",
            "Time from an incoming event to its replies, inside the engine",
            ["platform"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.dialog_errors = Counter(
            "poruch_dialog_errors_total",
            "Unexpected errors inside dialogs (the person got an apology and the menu)",
            registry=self.registry,
        )
        self.sends = Counter(
            "poruch_sends_total",
            "Outgoing messages by platform and result",
            ["platform", "result"],
            registry=self.registry,
        )
        self.send_errors = Counter(
            "poruch_send_errors_total",
            "Errors answered by the messenger APIs, by platform and code",
            ["platform", "code"],
            registry=self.registry,
        )
        self.active_dialogs = Gauge(
            "poruch_active_dialogs",
            "People in a dialog other than the main menu",
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "poruch_outbox_depth",
            "Outgoing messages waiting in the outbox",
            registry=self.registry,
        )
        self.db_statements = Counter(
            "poruch_db_statements",
            "Statements sent to SQLite (only with DB_COUNT_STATEMENTS=1)",
            registry=self.registry,
        )
        self._statements_reported = 0
        self.scheduler_lag = Gauge(
            "poruch_scheduler_lag_seconds",
            "How late the last scheduled job ran",
            registry=self.registry,
        )

    def count_statements(self, total: int) -> None:
        """Bring the counter up to the database's own count (read at each scrape)."""
        if total > self._statements_reported:
            self.db_statements.inc(total - self._statements_reported)
            self._statements_reported = total

    def render(self) -> bytes:
        return generate_latest(self.registry)
