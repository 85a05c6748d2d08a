"""What the org-file options of every tracker kind share: an epic or a query, exactly one."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, model_validator


class TrackerBinding(BaseModel):
    """A tracker kind's options: subclasses declare `epic` (validated their way) and the query
    field named by `QUERY`, in their own language."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    QUERY: ClassVar[str] = "query"

    @model_validator(mode="after")
    def one(self) -> TrackerBinding:
        if (getattr(self, "epic", None) is None) == (getattr(self, self.QUERY, None) is None):
            raise ValueError(f"give exactly one of epic or {self.QUERY}")
        return self
