"""The daily volume chart: stacked bars per UTC day and wallet, as inline SVG built on the server.

No JavaScript and no inline styles: colours and font sizes come from classes in dashboard.css
(`swatch-0..3` match the legend's swatches). The SVG scales to its container through its viewBox.
ElementTree writes it, so every text and attribute is escaped. The same figures go into an HTML
table beside it, for screen readers and keyboards (the SVG is one labelled image to them).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

from kopek.money import CURRENCY_EXPONENTS, Money
from kopek.store.volume import DailyVolume

WIDTH, HEIGHT = 480, 240
LEFT, RIGHT, TOP, BOTTOM = 80, 24, 12, 30      # room for the axes' labels, even at a phone's font size
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
BAR_SHARE = 0.7                                # of a day's slot; the rest is the gap between bars
MAX_DAY_LABELS = 5                             # so each has room at a phone's font size
Y_TICKS = 4
SWATCHES = 4


@dataclass(frozen=True)
class Series:
    """One currency's volume: an amount (minor units) per day and wallet, zero where none."""

    currency: str
    days: list[date]
    wallets: list[str]                        # legend order, which fixes the colours
    amounts: dict[tuple[date, str], int]

    def amount(self, day: date, wallet: str) -> int:
        return self.amounts.get((day, wallet), 0)

    def day_total(self, day: date) -> int:
        return sum(self.amount(day, wallet) for wallet in self.wallets)

    def wallet_total(self, wallet: str) -> int:
        return sum(self.amount(day, wallet) for day in self.days)

    @property
    def total(self) -> int:
        return sum(self.amounts.values())

    @property
    def busy_days(self) -> list[date]:
        return [day for day in self.days if self.day_total(day)]


def volume_series(rows: list[DailyVolume], days: list[date], wallet_order: list[str]) -> list[Series]:
    """One series per currency, the largest volume first; wallets in `wallet_order`, then others."""
    series = []
    for currency in {row.currency for row in rows}:
        mine = [row for row in rows if row.currency == currency]
        used = {row.wallet for row in mine}
        wallets = [w for w in wallet_order if w in used] + sorted(used - set(wallet_order))
        amounts = {(date.fromisoformat(row.day), row.wallet): row.amount for row in mine}
        series.append(Series(currency, days, wallets, amounts))
    return sorted(series, key=lambda s: (-s.total, s.currency))


def swatch(wallet: str, wallet_order: list[str]) -> int:
    """A wallet keeps its colour on every chart: its place among all wallets."""
    place = wallet_order.index(wallet) if wallet in wallet_order else len(wallet_order)
    return place % SWATCHES


def nice_step(largest: int, ticks: int = Y_TICKS) -> int:
    """The grid step in minor units: 1, 2 or 5 times a power of ten, so at most `ticks` steps
    reach `largest`."""
    raw = max(1, -(-largest // ticks))
    magnitude = 10 ** (len(str(raw)) - 1)
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


@dataclass(frozen=True)
class ChartText:
    """The words on a chart, in the reader's language."""

    title: str
    desc: str
    wallet_names: dict[str, str]


def volume_svg(series: Series, wallet_order: list[str], chart_id: str, text: ChartText) -> Markup:
    """The chart of a series with some volume, named by its <title> and <desc> (ids from `chart_id`)."""
    largest = max(series.day_total(day) for day in series.days)
    step = nice_step(largest)
    drawing = _Drawing(series, wallet_order, text.wallet_names, top=step * -(-largest // step))
    svg = ET.Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {WIDTH} {HEIGHT}", "width": "100%",
        "role": "img", "aria-labelledby": f"{chart_id}-title {chart_id}-desc", "focusable": "false",
        "id": chart_id})
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = text.title
    ET.SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = text.desc
    drawing.y_axis(ET.SubElement(svg, "g", {"class": "y-axis"}), step)
    drawing.x_axis(ET.SubElement(svg, "g", {"class": "x-axis"}))
    drawing.bars(ET.SubElement(svg, "g", {"class": "bars"}))
    return Markup(ET.tostring(svg, encoding="unicode"))


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class _Drawing:
    series: Series
    wallet_order: list[str]
    names: dict[str, str]
    top: int                                   # the amount at the top of the plot, in minor units

    def y(self, amount: int) -> float:
        return TOP + PLOT_H - amount * PLOT_H / self.top

    def slot(self, index: int) -> tuple[float, float]:
        """The left edge and the width of a day's bar."""
        slot = PLOT_W / len(self.series.days)
        return LEFT + index * slot + slot * (1 - BAR_SHARE) / 2, slot * BAR_SHARE

    def y_axis(self, group: ET.Element, step: int) -> None:
        for amount in range(0, self.top + 1, step):
            y = _num(self.y(amount))
            ET.SubElement(group, "line", {"class": "gridline", "x1": str(LEFT), "x2": str(WIDTH - RIGHT),
                                          "y1": y, "y2": y})
            ET.SubElement(group, "text", {"x": str(LEFT - 6), "y": y, "text-anchor": "end",
                                          "dominant-baseline": "middle"}).text = self.tick(amount, step)

    def x_axis(self, group: ET.Element) -> None:
        days, bottom = self.series.days, str(TOP + PLOT_H)
        ET.SubElement(group, "line", {"class": "axis", "x1": str(LEFT), "x2": str(WIDTH - RIGHT),
                                      "y1": bottom, "y2": bottom})
        every = -(-len(days) // MAX_DAY_LABELS)
        for index, day in enumerate(days):
            if (len(days) - 1 - index) % every == 0:   # the latest day always has its label
                x, width = self.slot(index)
                ET.SubElement(group, "text", {"x": _num(x + width / 2), "y": str(HEIGHT - 8),
                                              "text-anchor": "middle"}).text = day.strftime("%m-%d")

    def bars(self, group: ET.Element) -> None:
        for index, day in enumerate(self.series.days):
            base = 0
            for wallet in self.series.wallets:
                amount = self.series.amount(day, wallet)
                if amount:
                    self.segment(group, index, wallet, base, amount)
                    base += amount

    def segment(self, group: ET.Element, index: int, wallet: str, base: int, amount: int) -> None:
        """One wallet's part of a day's bar, stacked on the parts below it (`base`)."""
        x, width = self.slot(index)
        day = self.series.days[index]
        rect = ET.SubElement(group, "rect", {
            "class": f"bar swatch-{swatch(wallet, self.wallet_order)}", "x": _num(x),
            "y": _num(self.y(base + amount)), "width": _num(width), "height": _num(amount * PLOT_H / self.top),
            "data-day": day.isoformat(), "data-wallet": wallet, "data-amount": str(amount)})
        name = self.names.get(wallet, wallet)
        ET.SubElement(rect, "title").text = f"{day.isoformat()} · {name}: {self.major(amount)} {self.series.currency}"

    def major(self, amount: int) -> str:
        return Money(self.series.currency, amount).decimal_string()

    def tick(self, amount: int, step: int) -> str:
        """Whole major units while the grid steps by whole units (150, not 150.00): narrow labels."""
        unit = 10 ** CURRENCY_EXPONENTS[self.series.currency]
        return str(amount // unit) if step % unit == 0 else self.major(amount)
