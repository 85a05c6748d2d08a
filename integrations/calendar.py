"""Public holidays per country, from the `holidays` package."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=256)
def _year(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


class PublicHolidays:
    def name(self, country: str, day: date) -> str | None:
        found = _year(country.upper(), day.year).get(day)
        return str(found) if found else None


def supported(country: str) -> bool:
    return country.upper() in holidays.list_supported_countries()
