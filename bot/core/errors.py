"""The project's error tree; edges map vendor errors onto it with ``raise ... from exc``.

GoalnudgeError
├── ConfigError            a setting is missing or malformed (names the variable)
│   └── NotSetUp           no organisation imported yet (chats answer with the admin's step)
├── OrgFileError           the org file is invalid (carries every problem with its place)
├── NotFound               an unknown person, team or key result
├── NotAllowed             someone acting on goals that are not theirs to touch
├── InvalidInput           a value a person typed cannot be used (inline message per field)
├── DatabaseUnavailable    the database cannot be reached (waiting may help)
└── IntegrationError       an external system failed
    ├── TransientError     worth retrying: timeouts, 5xx, 429 (with retry_after)
    │   └── Unconfirmed    a send the platform may have delivered: looked up, never resent
    └── AuthError          credentials refused: retrying will not help
"""

from __future__ import annotations

from collections.abc import Mapping


class GoalnudgeError(Exception):
    """Base of every error goalnudge raises on purpose."""


class ConfigError(GoalnudgeError):
    pass


class NotSetUp(ConfigError):
    pass


class DatabaseUnavailable(GoalnudgeError):
    pass


class OrgFileError(GoalnudgeError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class NotFound(GoalnudgeError):
    pass


class NotAllowed(GoalnudgeError):
    pass


class InvalidInput(GoalnudgeError):
    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(self.errors.values()))


class IntegrationError(GoalnudgeError):
    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"{source}: {message}")


class TransientError(IntegrationError):
    def __init__(self, source: str, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(source, message)


class Unconfirmed(TransientError):
    """A send cut off after the platform may have received it (a timeout, a 5xx, a reset)."""


class AuthError(IntegrationError):
    pass
