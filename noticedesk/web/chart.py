"""Rates over time as an SVG drawn on the server: no script, no library, readable as it comes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

from noticedesk.feedback.history import RateSeries
from noticedesk.notices.levels import SesLevel

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 150, 30, 34
COLOURS = ("#1f4fa3", "#1e6b3a", "#8a3ffc", "#b25e00", "#00739a", "#6b4e16")


def rate_chart(
    series: Sequence[RateSeries],
    metric: str,
    level: SesLevel,
    *,
    start: datetime,
    days: int,
    level_words: tuple[str, str],
    title: str,
) -> Markup:
    """One line per series of ``metric`` (``bounce`` | ``complaint``) over ``days`` from ``start``,
    AWS's review and pause levels as dashed lines."""
    values = [float(getattr(point, f"{metric}_rate")) for item in series for point in item.days]
    top = max([level.pause * 1.15, *(value * 1.1 for value in values)])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: datetime) -> float:
        return LEFT + plot_w * ((day - start) / timedelta(days=1)) / max(days - 1, 1)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label={quoteattr(title)}>',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="bold" fill="#1d2330">{escape(title)}</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafbfc" stroke="#d9dde5"/>',
    ]
    for step in range(5):  # the y axis: five gridlines with their percentages
        value = top * step / 4
        parts.append(
            _hline(LEFT, LEFT + plot_w, y(value), 'stroke="#eceef2"')
            + f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" font-size="11" text-anchor="end" fill="#5b6475">'
            f"{value:.2%}</text>"
        )
    for index in range(0, days, max(days // 7, 1)):  # the x axis: about a week's worth of dates
        day = start + timedelta(days=index)
        parts.append(
            f'<text x="{x(day):.1f}" y="{HEIGHT - 12}" font-size="11" text-anchor="middle" fill="#5b6475">'
            f"{day:%m-%d}</text>"
        )
    for value, word, colour in (
        (level.review, level_words[0], "#b25e00"),
        (level.pause, level_words[1], "#b3261e"),
    ):
        parts.append(
            _hline(
                LEFT, LEFT + plot_w, y(value), f'stroke="{colour}" stroke-dasharray="6 4" stroke-width="1.5"'
            )
            + f'<text x="{LEFT + plot_w + 6}" y="{y(value) + 4:.1f}" font-size="11" fill="{colour}">'
            f"AWS {escape(word)} {value:.1%}</text>"
        )
    for index, item in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        points = " ".join(f"{x(p.day):.1f},{y(getattr(p, f'{metric}_rate')):.1f}" for p in item.days)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for point in item.days:
            rate = getattr(point, f"{metric}_rate")
            parts.append(
                f'<circle cx="{x(point.day):.1f}" cy="{y(rate):.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(item.key)} {point.day:%Y-%m-%d}: {rate:.3%}</title></circle>"
            )
        parts.append(
            f'<text x="{LEFT + plot_w + 6}" y="{TOP + 14 + 14 * index}" font-size="11" fill="{colour}">'
            f"{escape(item.key[:22])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _hline(x1: float, x2: float, y: float, paint: str) -> str:
    return f'<line x1="{x1}" x2="{x2}" y1="{y:.1f}" y2="{y:.1f}" {paint}/>'
