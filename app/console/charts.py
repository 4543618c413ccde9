"""Server-rendered SVG charts: geometry only, for the reports template to draw.

Coordinates are in a fixed ``viewBox`` that CSS scales to the page's width; the
colours come from classes in console.css (the Content-Security-Policy allows
no inline style). Every chart sits beside a table of its numbers, which is
what a screen reader reads: the SVG is one labelled image.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 600, 220
LEFT, BOTTOM, TOP = 48, 28, 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    label: str
    kind: str


@dataclass(frozen=True)
class Line:
    kind: str
    points: str  # "x,y x,y ..." for <polyline>
    dots: list[tuple[float, float, float]]  # x, y, value


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    lines: list[Line]
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT


def _scale(top: float) -> float:
    """A round upper bound at or above ``top`` (1, 2 or 5 times a power of ten)."""
    if top <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= top:
        magnitude *= 10
    while magnitude > top:
        magnitude /= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= top:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _y(value: float, top: float) -> float:
    return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top), 2)


def _ticks(top: float, unit: str) -> list[tuple[float, str]]:
    return [(_y(top * k / 4, top), f"{top * k / 4:g}{unit}") for k in range(5)]


def bars(groups: list[tuple[str, list[tuple[str, float]]]], unit: str = "") -> Chart:
    """Grouped bars: each group (an x label) has bars of kinds (one per series)."""
    top = _scale(max((v for _, series in groups for _, v in series), default=0))
    plot = WIDTH - LEFT
    slot = plot / max(len(groups), 1)
    found: list[Bar] = []
    labels: list[tuple[float, str]] = []
    for g, (label, series) in enumerate(groups):
        inner = slot * 0.8 / max(len(series), 1)
        for s, (kind, value) in enumerate(series):
            x = LEFT + g * slot + slot * 0.1 + s * inner
            y = _y(value, top)
            found.append(
                Bar(
                    round(x, 2),
                    y,
                    round(inner, 2),
                    round(HEIGHT - BOTTOM - y, 2),
                    value,
                    label,
                    kind,
                )
            )
        labels.append((round(LEFT + g * slot + slot / 2, 2), label))
    return Chart(found, [], labels, _ticks(top, unit))


def lines(
    x_labels: list[str], series: list[tuple[str, list[float | None]]], unit: str = ""
) -> Chart:
    """A line per series over the x labels; a missing value breaks no line, it is skipped."""
    top = _scale(max((v for _, values in series for v in values if v is not None), default=0))
    plot = WIDTH - LEFT - 10
    step = plot / max(len(x_labels) - 1, 1)
    drawn: list[Line] = []
    for kind, values in series:
        dots = [
            (round(LEFT + i * step, 2), _y(v, top), v)
            for i, v in enumerate(values)
            if v is not None
        ]
        drawn.append(Line(kind, " ".join(f"{x},{y}" for x, y, _ in dots), dots))
    labels = [(round(LEFT + i * step, 2), label) for i, label in enumerate(x_labels)]
    return Chart([], drawn, labels, _ticks(top, unit))
