"""CRM metrics whichever CRM reads them: what each figure is (its Measure), and their arithmetic."""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.model import Measure, Reads

MEASURES: dict[str, Measure] = {
    "closed_won_amount": Measure(),
    "closed_won_count": Measure(),
    "opportunities_created": Measure(Reads.COUNT, "new opportunities"),
    "meetings_held": Measure(Reads.COUNT),  # in the key result's unit: "demos", "calls"
    "win_rate": Measure(Reads.LEVEL, "win rate"),
    "sales_cycle_days": Measure(Reads.LEVEL, "average sales cycle", "deals won"),
}
LEVELS = {m for m, measure in MEASURES.items() if measure.reads is Reads.LEVEL}


def average_days(days: Iterable[int]) -> float:
    """A sales cycle: the mean of the won deals' days from created to closed, to a tenth."""
    spans = list(days)
    return round(sum(spans) / len(spans), 1)
