"""Slack: a Bolt app mounted on goalnudge's aiohttp server (or Socket Mode)."""

PLATFORM = "slack"  # the kind of a person's Slack id, of inbox rows, of message references
