"""Slack: a Bolt app mounted on goalnudge's aiohttp server (or Socket Mode)."""
