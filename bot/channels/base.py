"""Plumbing shared by the platform channels (the Channel port itself is bot.core.channel)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ApiStats:
    """Calls a platform client made, and how many the platform rate-limited, per method."""

    calls: Counter[str] = field(default_factory=Counter)
    limited: Counter[str] = field(default_factory=Counter)
