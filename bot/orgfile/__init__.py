"""The org file: YAML that declares people, teams, objectives and key results."""

from bot.orgfile.export import dump
from bot.orgfile.loader import Loaded, load_file, load_text

__all__ = ["Loaded", "dump", "load_file", "load_text"]
