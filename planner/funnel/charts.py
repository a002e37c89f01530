"""Charts drawn on the server as SVG markup: no JavaScript and no third-party library, so they
work under the strict Content-Security-Policy, without scripts, and on paper. Colours and sizes
come from classes styled in static/css/site.css (no style attributes); every chart has a title
for screen readers and prints its figures as text beside the bars.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 640
LABEL_WIDTH = 150
VALUE_WIDTH = 60
ROW = 34
BAR = 22
PLOT_HEIGHT = 160
AXIS = 40


def _svg(width: int, height: int, title: str, body: list[str], css: str) -> Markup:
    return Markup(
        f'<svg class="chart {css}" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        + "".join(body) + "</svg>")


def bars(rows: Sequence[tuple[str, int | None]], title: str) -> Markup:
    """Horizontal bars, one per row, as long as its value relative to the largest (a funnel)."""
    largest = max((value or 0 for _label, value in rows), default=0) or 1
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    body = []
    for index, (label, value) in enumerate(rows):
        y = index * ROW
        length = round(room * (value or 0) / largest)
        body.append(
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{y + BAR - 6}" '
            f'text-anchor="end">{escape(label)}</text>'
            f'<rect class="chart-bar chart-bar-{index}" x="{LABEL_WIDTH}" y="{y}" '
            f'width="{length}" height="{BAR}"/>'
            f'<text class="chart-value" x="{LABEL_WIDTH + length + 6}" y="{y + BAR - 6}">'
            f'{"—" if value is None else value}</text>')
    return _svg(WIDTH, max(len(rows), 1) * ROW, title, body, "chart-bars")


def columns(months: Sequence[tuple[str, Sequence[int]]], series: Sequence[str],
            title: str) -> Markup:
    """Side-by-side columns per month, one per series (e.g. registered and attended), with the
    month below and the values above the columns, and a legend."""
    largest = max((value for _month, values in months for value in values), default=0) or 1
    slot = WIDTH / max(len(months), 1)
    width = max(4.0, slot * 0.8 / max(len(series), 1))
    body = []
    for index, (month, values) in enumerate(months):
        left = index * slot + slot * 0.1
        for number, value in enumerate(values):
            height = round(PLOT_HEIGHT * value / largest)
            x, y = left + number * width, AXIS / 2 + PLOT_HEIGHT - height
            body.append(
                f'<rect class="chart-bar chart-bar-{number}" x="{x:.1f}" y="{y}" '
                f'width="{width:.1f}" height="{height}"/>'
                f'<text class="chart-value chart-small" x="{x + width / 2:.1f}" y="{y - 3}" '
                f'text-anchor="middle">{value}</text>')
        body.append(
            f'<text class="chart-label chart-small" x="{index * slot + slot / 2:.1f}" '
            f'y="{AXIS / 2 + PLOT_HEIGHT + 16}" text-anchor="middle">{escape(month)}</text>')
    legend_y = AXIS / 2 + PLOT_HEIGHT + AXIS
    for number, name in enumerate(series):
        x = number * 160
        body.append(
            f'<rect class="chart-bar chart-bar-{number}" x="{x}" y="{legend_y - 10}" '
            f'width="12" height="12"/><text class="chart-label" x="{x + 18}" '
            f'y="{legend_y}">{escape(name)}</text>')
    return _svg(WIDTH, int(legend_y + 8), title, body, "chart-columns")
