"""Channels: where prompts are shown and answers come from (console, Slack, Teams)."""
