"""QR codes of invite links for printed posters (segno, as for tickets)."""

from __future__ import annotations

import io

import segno


def svg(url: str) -> str:
    """An inline SVG of the link; 'q' error correction survives a creased or dirty poster."""
    buffer = io.BytesIO()
    segno.make(url, error="q", micro=False).save(
        buffer, kind="svg", scale=10, border=2, xmldecl=False, svgns=True, omitsize=True)
    return buffer.getvalue().decode("utf-8")
