"""The mail preferences form (the profile's mail page and PUT /me/notifications)."""

from __future__ import annotations

from typing import Any

from wtforms import BooleanField

from planner.core.forms import AppForm
from planner.notifications.kinds import (
    CATEGORY_LABELS,
    ESSENTIAL_LABELS,
    Category,
    Essential,
)


class PreferencesForm(AppForm):
    """One switch per category of optional mail; the essential ones are there to be refused
    by name when switched off (the page shows them ticked and disabled)."""

    reminders = BooleanField(CATEGORY_LABELS[Category.REMINDERS])
    changes = BooleanField(CATEGORY_LABELS[Category.CHANGES])
    messages = BooleanField(CATEGORY_LABELS[Category.MESSAGES])
    nudges = BooleanField(CATEGORY_LABELS[Category.NUDGES])
    feedback = BooleanField(CATEGORY_LABELS[Category.FEEDBACK])
    tickets = BooleanField(ESSENTIAL_LABELS[Essential.TICKETS])
    cancellations = BooleanField(ESSENTIAL_LABELS[Essential.CANCELLATIONS])
    account = BooleanField(ESSENTIAL_LABELS[Essential.ACCOUNT])

    def choices(self) -> dict[str, bool]:
        return {name: bool(self[name].data) for name in (*Category, *Essential)}

    def optional_fields(self) -> list[Any]:
        return [self[name] for name in Category]

    def essential_fields(self) -> list[Any]:
        return [self[name] for name in Essential]
