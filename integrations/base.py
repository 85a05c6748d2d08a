"""Shared plumbing for integrations; the source protocols themselves live in the core."""

from __future__ import annotations

from bot.core.errors import AuthError, IntegrationError, TransientError
from bot.core.ports import CrmSource, TrackerSource

__all__ = ["AuthError", "CrmSource", "IntegrationError", "TrackerSource", "TransientError"]
