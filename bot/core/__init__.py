"""The platform-neutral goal core: standard library only."""
