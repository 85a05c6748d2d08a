"""POST /slack/events at the door: size, then signature, then parsing; refusals cheap and quiet."""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import StreamReader, web
from aiohttp.typedefs import Handler
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.logs import Throttled

log = logging.getLogger("goalnudge.slack")
# Slack's largest payloads (a view submission of a 100-block modal) are tens of KB.
MAX_BODY = 1024 * 1024
SOURCE = "goalnudge_source"  # the request's source, in the Bolt context, for refusals
refusals = Throttled(log)


def refuse(status: int, source: str, why: str, size: int | None) -> web.Response:
    """A refused request: its size and source are logged (throttled), never its body."""
    refusals.warning(
        source, "Slack request from %s refused (%s): %s, %s bytes", source, status, why, size
    )
    return web.Response(status=status, text=why)


async def read_at_most(content: StreamReader, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past `limit` (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await content.readany():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def signed(verifier: SignatureVerifier, body: bytes, request: web.Request) -> bool:
    try:
        return verifier.is_valid_request(body, request.headers)
    except ValueError:  # a timestamp that is not an integer ("abc", "1e9999"), or not UTF-8
        return False


def parse(body: bytes, request: web.Request, source: str) -> AsyncBoltRequest | None:
    """Bolt's request for a signed body, or None when the body is not one Slack sends."""
    try:
        made = AsyncBoltRequest(
            body=body.decode(),
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]  # Bolt reads any mapping; its hint says dict
            context={SOURCE: source},
        )
    # Bolt parses and reads the body's fields in its constructor, assuming Slack's shapes: any
    # other shape (a list, null, a string, truncated JSON) fails in one of these ways.
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        return None
    return made if isinstance(made.body, dict) and made.body else None


def handler(app: AsyncApp, signing_secret: str) -> Handler:
    """POST /slack/events: nothing reads a body that is too large or not signed by Slack; Bolt
    does not verify again (and so never logs a refused body)."""
    verifier = SignatureVerifier(signing_secret)

    async def slack_events(request: web.Request) -> web.StreamResponse:
        source = request.remote or "unknown"
        declared = request.content_length
        if declared is not None and declared > MAX_BODY:
            return refuse(413, source, f"larger than {MAX_BODY} bytes", declared)
        body = await read_at_most(request.content, MAX_BODY)
        if body is None:
            return refuse(413, source, f"larger than {MAX_BODY} bytes", declared)
        if not signed(verifier, body, request):
            return refuse(401, source, "no valid Slack signature", len(body))
        parsed = parse(body, request, source)
        if parsed is None:
            return refuse(400, source, "not a Slack payload", len(body))
        return await to_aiohttp_response(await app.async_dispatch(parsed))

    return slack_events


async def unhandled(
    error: Exception, request: AsyncBoltRequest, response: BoltResponse | None
) -> BoltResponse | None:
    """Bolt's error handler: a signed request no listener takes is answered 400 (an event 200,
    so Slack does not retry one we do not subscribe to), with no body in the log; any other
    error is a bug, logged as Bolt would."""
    source = str(request.context.get(SOURCE, "socket mode"))
    if (
        isinstance(error, aiohttp.ClientError | TimeoutError)
        and not request.context.authorize_result
    ):
        # Bolt refuses a workspace with no installation by posting to the response_url; when
        # that is out of reach the refusal stands all the same.
        refusals.warning(source, "Slack request from %s refused: workspace not installed", source)
        return BoltResponse(status=200, body="")
    if not isinstance(error, BoltUnhandledRequestError):
        log.exception("Slack listener failed: %s", type(error).__name__)
        return None
    if request.body.get("type") == "event_callback":
        return BoltResponse(status=200, body="")
    refusals.warning(
        source,
        "Slack request from %s refused (400): no listener for it, %s bytes",
        source,
        len(request.raw_body),
    )
    return BoltResponse(status=400, body="not a request goalnudge handles")
