"""Logging: JSON lines when not on a terminal, a request or round id on each, secrets masked."""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, TextIO

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler
from pythonjsonlogger.json import JsonFormatter

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
MASK = "[redacted]"
# Token shapes worth masking even when nobody configured them here (a user pasting one, a
# library echoing a header): Slack tokens, bearer/basic credentials, Salesforce session ids.
PATTERNS = re.compile(
    r"xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+"
    r"|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]+"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"
)
FIELDS = {"asctime": "time", "levelname": "level", "name": "logger"}
QUIET_LIBRARIES = ("alembic", "slack_bolt", "slack_sdk", "botbuilder", "msrest", "msal",
                   "apscheduler", "asyncio", "urllib3", "jira", "simple_salesforce",
                   "gql")  # fmt: skip


class Redactor:
    """Masks every configured secret value and anything shaped like a token."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a secret containing another is masked whole; short values (a port,
        # "true") would mask ordinary words, and no real credential is that short.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return PATTERNS.sub(MASK, text)


class RedactingJson(JsonFormatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__("{asctime}{levelname}{name}{message}", style="{", rename_fields=FIELDS)
        self.redact = redact

    def add_fields(
        self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record["request_id"] = getattr(record, "request_id", None) or request_id.get()

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class RedactingText(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", None) or request_id.get()
        return self.redact(super().format(record))


def setup(
    secrets: Iterable[str | None] = (),
    level: str = "INFO",
    style: str = "auto",
    stream: TextIO | None = None,
) -> None:
    """`style`: json, text, or auto (text on a terminal, JSON otherwise)."""
    stream = stream or sys.stderr
    redact = Redactor(secrets)
    json_lines = style == "json" or (style == "auto" and not stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingJson(redact) if json_lines else RedactingText(redact))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


@web.middleware
async def with_request_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every log line a request causes carries its id; the caller may send X-Request-Id."""
    given = request.headers.get("X-Request-Id", "")
    rid = given if re.fullmatch(r"[A-Za-z0-9._-]{1,64}", given) else uuid.uuid4().hex[:16]
    request_id.set(rid)
    response = await handler(request)
    response.headers["X-Request-Id"] = rid
    return response


class AccessLog(AbstractAccessLogger):
    """Method, path (never the query: OAuth codes travel there), status and time."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, elapsed: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status,
            elapsed * 1000,
            extra={"request_id": response.headers.get("X-Request-Id", "-")},
        )


def new_round_id() -> str:
    """An id for one scheduler round, so its lines can be told from a request's."""
    rid = f"round-{time.strftime('%H%M%S')}-{uuid.uuid4().hex[:6]}"
    request_id.set(rid)
    return rid


class Throttled:
    """One WARNING line per key (a request's source) per `every` seconds at most; the lines held
    back are counted into the next one, so a flood of refusals costs the log almost nothing."""

    def __init__(self, logger: logging.Logger, every: float = 60.0, keys: int = 10_000) -> None:
        self.logger = logger
        self.every = every
        self.keys = keys  # bounded: many sources cannot grow this without limit
        self.seen: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def warning(self, key: str, message: str, *args: object) -> bool:
        """Log `message % args` unless `key` was logged within the last `every` seconds."""
        now = time.monotonic()
        last, held = self.seen.get(key, (-self.every, 0))
        if now - last < self.every:
            self.seen[key] = (last, held + 1)
            return False
        self.seen[key] = (now, 0)
        self.seen.move_to_end(key)
        while len(self.seen) > self.keys:
            self.seen.popitem(last=False)
        more = f" ({held} more like it held back)" if held else ""
        self.logger.warning(message + more, *args)
        return True
