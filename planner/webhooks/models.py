"""A branch's webhook endpoints, the deliveries queued for them and every attempt made.

A delivery is written in the transaction of the change it reports and holds the JSON body it
will send, so the worker sends exactly what was true then, and a retry sends the same bytes."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.core.db import created_at, instant, intpk, optional_instant, str_enum
from planner.core.extensions import Model


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up: still failing a day after it was queued


class WebhookEndpoint(Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[intpk]
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"),
                                           index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # "whsec_" + base64 of the key, as Standard Webhooks write it.
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[str] = mapped_column(String(500))  # space-separated event names
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Failed attempts in a row; reset by a success. Paused once it reaches PAUSE_AFTER.
    failures_in_a_row: Mapped[int] = mapped_column(default=0)
    paused_at: Mapped[optional_instant]
    created_at: Mapped[created_at]

    @property
    def event_names(self) -> list[str]:
        return self.events.split()


class WebhookDelivery(Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[intpk]
    # The webhook-id header: the same for every attempt, so a receiver can drop repeats.
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "webhook_delivery_status"), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[instant]
    delivered_at: Mapped[optional_instant]
    created_at: Mapped[created_at]

    endpoint: Mapped[WebhookEndpoint] = relationship()
    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        order_by="WebhookAttempt.id", back_populates="delivery", passive_deletes=True)


class WebhookAttempt(Model):
    """One POST of a delivery: the receiver's status (None when it never answered), how long it
    took, and the error if any."""

    __tablename__ = "webhook_attempts"

    id: Mapped[intpk]
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    status_code: Mapped[int | None]
    duration_ms: Mapped[int]
    error: Mapped[str] = mapped_column(String(500), default="")
    attempted_at: Mapped[instant]

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempt_log")

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


