"""Tickets: the QR code carries a short, versioned payload around the random ticket code."""

from __future__ import annotations

import io

import segno

PAYLOAD_PREFIX = "JH1:"  # bump the version if the payload ever changes shape


def payload(ticket_code: str) -> str:
    return PAYLOAD_PREFIX + ticket_code


def code_from_payload(text: str) -> str | None:
    """The ticket code in a scanned payload (or a bare code typed by a USB scanner)."""
    text = text.strip()
    if text.startswith(PAYLOAD_PREFIX):
        return text[len(PAYLOAD_PREFIX):] or None
    return text if text and ":" not in text else None


def qr_svg(ticket_code: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(payload(ticket_code), error="m", micro=False).save(
        buffer, kind="svg", scale=8, border=2, xmldecl=False, svgns=True)
    return buffer.getvalue()


def qr_png(ticket_code: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(payload(ticket_code), error="m", micro=False).save(
        buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()
