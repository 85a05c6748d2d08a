"""Wire-level HTTPS fake of Salesforce login + REST query APIs for the real simple-salesforce."""

from __future__ import annotations

import asyncio
import itertools
import operator
import re
import secrets
import ssl
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jwt
import requests
import trustme
from aiohttp import web

__all__ = ["FakeSalesforce", "SoqlError"]

Json = dict[str, Any]
SCHEMA = {
    "Opportunity": {"Id", "Name", "Amount", "CloseDate", "CreatedDate", "IsWon", "IsClosed",
                    "StageName", "OwnerId", "Type", "CurrencyIsoCode", "RecordTypeId",
                    "RecordType.DeveloperName", "RecordType.Name"},
    "Event": {"Id", "OwnerId", "Type", "ActivityDate", "Subject", "IsChild"},
    "Task": {"Id", "OwnerId", "Type", "ActivityDate", "Subject", "Status", "IsClosed",
             "CompletedDateTime"},
    "User": {"Id", "Email", "Name", "Username", "IsActive"},
}  # fmt: skip
DATE_FIELDS, DATETIME_FIELDS = {"CloseDate", "ActivityDate"}, {"CreatedDate", "CompletedDateTime"}
NUMBER_FIELDS = {"Amount"}  # what SUM and AVG take (numbers and currencies only)
UNGROUPABLE = {"Amount", "CreatedDate", "CompletedDateTime", "Subject"}  # per the object reference
MAX_AGGREGATE_ROWS, ORG_ID = 2000, "00D000000000001AAA"
TOO_MANY_GROUPS = "Aggregate query does not support queryMore(), use LIMIT to restrict the results "
TOO_MANY_GROUPS += "to a single batch"
ERROR_CODES = {401: "INVALID_SESSION_ID", 403: "REQUEST_LIMIT_EXCEEDED", 404: "NOT_FOUND",
               429: "REQUEST_LIMIT_EXCEEDED", 503: "SERVER_UNAVAILABLE"}  # fmt: skip
_SOQL = re.compile(
    r"\s*SELECT\s+(?P<select>.+?)\s+FROM\s+(?P<obj>\w+)(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+GROUP\s+BY\s+(?P<group>[\w.]+(?:\s*,\s*[\w.]+)*))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>[\w.]+(?:\(\s*[\w.]*\s*\))?)(?:\s+(?P<dir>ASC|DESC))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*",
    re.I | re.S,
)
_QUERY_PATH = r"/services/data/v([\d.]+)/query(?:All)?/?(?:(01g\w+)-(\d+))?"
_STR = r"'(?:[^'\\]|\\.)*'"
_COND = re.compile(
    rf"\s*([\w.]+)\s*(=|!=|<=|>=|<|>|IN\b)\s*({_STR}|\((?:{_STR}|[^)'])*\)|[\w:.+-]+)\s*(AND\b|$)",
    re.I | re.S,
)
_KEYWORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
_AGG = re.compile(r"(SUM|COUNT|AVG|MIN|MAX)\(\s*([\w.]*)\s*\)(?:\s+(\w+))?", re.I)
_OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}  # fmt: skip
_SOAP = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns="urn:partner.soap.sforce.com" '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:sf="urn:fault.partner.soap.sforce.com" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{}</soapenv:Body>'
    "</soapenv:Envelope>"
)
_LOGIN_OK = (
    "<loginResponse><result><metadataServerUrl>{url}/services/Soap/m/{v}/{org}</metadataServerUrl>"
    "<passwordExpired>false</passwordExpired><sandbox>false</sandbox><serverUrl>{url}/services/"
    "Soap/u/{v}/{org}</serverUrl><sessionId>{sid}</sessionId><userId>{uid}</userId></result>"
    "</loginResponse>"
)
_BAD = "Invalid username, password, security token; or user locked out."
_LOGIN_FAULT = (
    f"<soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: {_BAD}"
    '</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN'
    f"</sf:exceptionCode><sf:exceptionMessage>{_BAD}</sf:exceptionMessage></sf:LoginFault>"
    "</detail></soapenv:Fault>"
)


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _raw(record: Json, field: str) -> Any:
    value: Any = record
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _comparable(field: str, value: Any) -> Any:
    if isinstance(value, str) and field.rsplit(".", 1)[-1] in DATETIME_FIELDS:
        return datetime.fromisoformat(value)
    return value.casefold() if isinstance(value, str) else value  # SOQL text '=' ignores case


def _nulls_first(value: Any) -> tuple[bool, Any]:
    return value is not None, value


class FakeSalesforce:
    """Serves on its own thread and event loop, since simple-salesforce blocks."""

    def __init__(
        self, users_login: dict[str, tuple[str, str]] | None = None, session_id: str | None = None
    ) -> None:
        self.users_login = dict(users_login or {})  # username -> (password, security token)
        self.opportunities: list[Json] = []
        self.events: list[Json] = []
        self.tasks: list[Json] = []
        self.users: list[Json] = []
        self.schema = {obj: set(fields) for obj, fields in SCHEMA.items()}
        self.page_size, self.api_limit, self.api_calls = 2000, 15000, 0
        self.calls: list[tuple[str, str]] = []  # (path, soql) per REST call; "" for query-more
        self.logins: list[tuple[str, str]] = []  # ("password" | "jwt", username), accepted ones
        self.sessions: set[str] = {session_id} if session_id else set()
        self._failures: deque[tuple[int, int | None]] = deque()
        self._cursors: dict[str, list[Json]] = {}
        self._ids = itertools.count(1)
        self._ca = trustme.CA()
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-salesforce-")
        self.ca_bundle = str(Path(self._tmp.name) / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_bundle)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0

    def start(self) -> FakeSalesforce:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._loop = self._thread = self._runner = None

    def __enter__(self) -> FakeSalesforce:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=ctx).start()
        self._port = self._runner.addresses[0][1]

    @property
    def instance_url(self) -> str:
        return f"https://127.0.0.1:{self._port}"

    @property
    def login_domain(self) -> str:
        """simple-salesforce's `domain=`: it builds https://{domain}.salesforce.com/services/..."""
        return f"127.0.0.1:{self._port}/login"

    def requests_session(self) -> requests.Session:
        """Trusts the CA. trust_env=False, since REQUESTS_CA_BUNDLE would override `.verify`."""
        session = requests.Session()
        session.verify, session.trust_env = self.ca_bundle, False
        return session

    def expire_sessions(self) -> None:
        """Every session issued so far (and a preset one) now answers 401 INVALID_SESSION_ID."""
        self.sessions.clear()

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """The next `times` REST calls answer `status` (with Retry-After if given)."""
        self._failures.extend([(status, retry_after)] * times)

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):015d}"

    def _add(self, rows: list[Json], obj: str, record: Json) -> Json:
        self.schema[obj].update(k for k, v in record.items() if not isinstance(v, dict))
        rows.append(record)
        return record

    def add_user(self, user_id: str, email: str, name: str | None = None, **extra: Any) -> Json:
        name = name or email.split("@")[0]
        user = {"Id": user_id, "Email": email, "Username": email, "Name": name, "IsActive": True}
        return self._add(self.users, "User", user | extra)

    def add_opportunity(
        self, owner_id: str, amount: float | None, close_date: str | date, *, is_won: bool = True,
        is_closed: bool | None = None,
        name: str | None = None, opp_type: str | None = "New Business", currency: str = "USD",
        record_type: str | None = None, created_date: str | datetime | None = None,
        record_id: str | None = None, **extra: Any,
    ) -> Json:  # fmt: skip
        created = created_date or datetime.now(UTC)
        if isinstance(created, datetime):
            created = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        rtype = record_type and {"Id": self._id("012"), "DeveloperName": record_type,
                                 "Name": record_type}  # fmt: skip
        record_id = record_id or self._id("006")
        return self._add(self.opportunities, "Opportunity", {
            "Id": record_id, "Name": name or f"Opportunity {record_id}", "Amount": amount,
            "CloseDate": str(close_date), "CreatedDate": created, "IsWon": is_won,
            "IsClosed": is_won if is_closed is None else is_closed or is_won,
            "StageName": "Closed Won" if is_won else "Closed Lost" if is_closed else "Prospecting",
            "OwnerId": owner_id, "Type": opp_type, "CurrencyIsoCode": currency,
            "RecordTypeId": rtype and rtype["Id"], "RecordType": rtype or None,
        } | extra)  # fmt: skip

    def add_event(
        self, owner_id: str, activity_date: str | date, *, event_type: str = "Meeting",
        record_id: str | None = None, **extra: Any,
    ) -> Json:  # fmt: skip
        event = {"Id": record_id or self._id("00U"), "OwnerId": owner_id, "Type": event_type,
                 "ActivityDate": str(activity_date), "Subject": event_type,
                 "IsChild": False}  # fmt: skip
        return self._add(self.events, "Event", event | extra)

    def add_task(
        self, owner_id: str, completed: datetime | None, *, task_type: str = "Call",
        due: str | date | None = None, record_id: str | None = None, **extra: Any,
    ) -> Json:  # fmt: skip
        """A task, closed (Status Completed) when `completed` says when."""
        done = completed and completed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        task = {"Id": record_id or self._id("00T"), "OwnerId": owner_id, "Type": task_type,
                "ActivityDate": due and str(due), "Subject": task_type, "IsClosed": bool(done),
                "Status": "Completed" if done else "Not Started",
                "CompletedDateTime": done}  # fmt: skip
        return self._add(self.tasks, "Task", task | extra)

    # -- HTTP --------------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        login = r"/(?:login|test)\.salesforce\.com/services/(?:Soap/u/([\d.]+)|oauth2/token)"
        if request.method == "POST" and (m := re.fullmatch(login, request.path)):
            return await (self._soap(request, m[1]) if m[1] else self._token(request))
        if request.path.startswith("/services/data/"):
            return self._data(request)
        return web.Response(status=404, text="Not Found")

    def _session(self, mode: str, username: str) -> str:
        sid = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        self.sessions.add(sid)
        self.logins.append((mode, username))
        return sid

    async def _soap(self, request: web.Request, version: str) -> web.Response:
        try:
            tree = ET.fromstring(await request.text()).iter()
            fields = {e.tag.rpartition("}")[2]: e.text or "" for e in tree}
        except ET.ParseError:
            fields = {}
        user, creds = fields.get("username", ""), self.users_login.get(fields.get("username", ""))
        if creds is None or fields.get("password") != creds[0] + creds[1]:
            fault = _SOAP.format(_LOGIN_FAULT)
            return web.Response(status=500, text=fault, content_type="text/xml")
        sid, uid = self._session("password", user), self._id("005")
        body = _LOGIN_OK.format(url=self.instance_url, v=version, org=ORG_ID, sid=sid, uid=uid)
        return web.Response(text=_SOAP.format(body), content_type="text/xml")

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            error = {"error": "unsupported_grant_type", "error_description": "unsupported"}
            return web.json_response(error, status=400)
        try:
            claims = jwt.decode(str(form.get("assertion", "")), options={"verify_signature": False})
            ok = claims.get("sub") in self.users_login and bool(claims.get("iss"))
            ok = ok and str(claims.get("aud")).endswith(".salesforce.com")
            ok = ok and float(claims["exp"]) > time.time()
        except (jwt.PyJWTError, KeyError, ValueError):
            ok = False
        if not ok:
            error = {"error": "invalid_grant", "error_description": "invalid assertion"}
            return web.json_response(error, status=400)
        sid, uid = self._session("jwt", claims["sub"]), self._id("005")
        return web.json_response({
            "access_token": sid, "scope": "api", "instance_url": self.instance_url,
            "id": f"https://login.salesforce.com/id/{ORG_ID}/{uid}", "token_type": "Bearer",
        })  # fmt: skip

    def _data(self, request: web.Request) -> web.Response:
        soql = request.query.get("q", "")
        self.calls.append((request.path, soql))
        self.api_calls += 1
        headers = {"Sforce-Limit-Info": f"api-usage={self.api_calls}/{self.api_limit}"}
        status, code, message = 400, "", ""
        route = re.fullmatch(_QUERY_PATH, request.path)
        if self._failures:
            status, retry_after = self._failures.popleft()
            headers |= {"Retry-After": str(retry_after)} if retry_after is not None else {}
            code, message = ERROR_CODES.get(status, "UNKNOWN_EXCEPTION"), f"Injected HTTP {status}"
        elif request.headers.get("Authorization", "").partition(" ")[2] not in self.sessions:
            status, code, message = 401, "INVALID_SESSION_ID", "Session expired or invalid"
        elif not route:
            status, code, message = 404, "NOT_FOUND", "The requested resource does not exist"
        else:
            try:
                if route[2]:
                    body = self._page(route[2], int(route[3]), route[1])
                elif not soql:
                    raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
                else:
                    body = self._query(soql, route[1])
                return web.json_response(body, headers=headers)
            except SoqlError as exc:
                code, message = exc.code, exc.message
        error = [{"message": message, "errorCode": code}]
        return web.json_response(error, status=status, headers=headers)

    # -- SOQL --------------------------------------------------------------------------------
    def _query(self, soql: str, version: str) -> Json:
        rows, aggregate = self._run(soql, version)
        if aggregate:
            if len(rows) > MAX_AGGREGATE_ROWS:
                raise SoqlError("EXCEEDED_ID_LIMIT", TOO_MANY_GROUPS)
            return {"totalSize": len(rows), "done": True, "records": rows}
        self._cursors[locator := f"01g{secrets.token_hex(6).upper()}AAA"] = rows
        return self._page(locator, 0, version)

    def _page(self, locator: str, offset: int, version: str) -> Json:
        if (rows := self._cursors.get(locator)) is None:
            raise SoqlError("INVALID_QUERY_LOCATOR", "invalid query locator")
        end = offset + self.page_size
        page: Json = {"totalSize": len(rows), "done": end >= len(rows)}
        if end < len(rows):
            page["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        return page | {"records": rows[offset:end]}

    def _field(self, obj: str, name: str) -> str:
        known = {f.lower(): f for f in self.schema[obj]}
        if name.lower() not in known:
            raise SoqlError("INVALID_FIELD", f"No such column '{name}' on entity '{obj}'.")
        return known[name.lower()]

    def _literal(self, field: str, raw: str) -> Any:
        kind, value = "other", _KEYWORDS.get(raw.lower(), raw)
        if raw.startswith("'"):
            kind, value = "string", re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif re.fullmatch(r"\d{4}-\d\d-\d\d(T[\d:.]+(Z|[+-]\d\d:?\d\d))?", raw):
            kind = "dateTime" if "T" in raw else "date"
        elif value == raw:
            try:
                value = float(raw)
            except ValueError:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{raw}'") from None
        base = field.rsplit(".", 1)[-1]
        want = "date" if base in DATE_FIELDS else "dateTime" if base in DATETIME_FIELDS else kind
        if kind != want and value is not None:
            raise SoqlError("INVALID_FIELD", f"value of filter criterion for field '{field}' must "
                            f"be of type {want} and should not be enclosed in quotes")  # fmt: skip
        return _comparable(field, value)

    def _where(self, obj: str, where: str) -> list[tuple[str, str, Any]]:
        conds, pos = [], 0
        while pos < len(where):
            if not (m := _COND.match(where, pos)):
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{where[pos:].strip()}'")
            field, op, pos = self._field(obj, m[1]), m[2].upper(), m.end()
            items = re.findall(rf"{_STR}|[^,\s()]+", m[3]) if op == "IN" else [m[3]]
            values = [self._literal(field, item) for item in items]
            conds.append((field, op, values if op == "IN" else values[0]))
        return conds

    def _run(self, soql: str, version: str) -> tuple[list[Json], bool]:
        if not (m := _SOQL.fullmatch(soql)):
            raise SoqlError("MALFORMED_QUERY", f"\n{soql}\n^\nERROR at Row:1:Column:1\nunexpected")
        obj = {o.lower(): o for o in self.schema}.get(m["obj"].lower())
        if obj is None:
            raise SoqlError("INVALID_TYPE", f"sObject type '{m['obj']}' is not supported.")
        conds = self._where(obj, m["where"]) if m["where"] else []
        source = {"Opportunity": self.opportunities, "Event": self.events, "Task": self.tasks,
                  "User": self.users}[obj]  # fmt: skip
        rows = [r for r in list(source) if all(self._test(r, c) for c in conds)]
        items = [item.strip() for item in m["select"].split(",")]
        if aggregate := bool(m["group"]) or any(_AGG.fullmatch(item) for item in items):
            out = self._aggregate(obj, rows, items, m["group"], m["order"])
        else:
            fields = [self._field(obj, item) for item in items]
            if m["order"]:
                key = self._field(obj, m["order"])
                rows.sort(key=lambda r: _nulls_first(_comparable(key, _raw(r, key))))
            out = [self._row(obj, r, fields, version) for r in rows]
        if (m["dir"] or "").upper() == "DESC":
            out.reverse()
        return (out[: int(m["limit"])] if m["limit"] else out), aggregate

    @staticmethod
    def _test(record: Json, cond: tuple[str, str, Any]) -> bool:
        field, op, want = cond
        value = _comparable(field, _raw(record, field))
        if op == "IN":
            return value in want
        if value is None or want is None:
            return op in ("=", "!=") and _OPS[op](value, want)
        try:
            return bool(_OPS[op](value, want))
        except TypeError:
            return False

    def _aggregate(
        self, obj: str, rows: list[Json], items: list[str], group: str | None, order: str | None
    ) -> list[Json]:
        groups_by = [self._groupable(obj, g.strip()) for g in group.split(",")] if group else []
        specs: list[tuple[str, str, str | None]] = []  # (output key, function or "", field)
        for item in items:
            if agg := _AGG.fullmatch(item):
                alias = agg[3] or f"expr{sum(1 for s in specs if s[1])}"
                field = self._field(obj, agg[2]) if agg[2] else None
                if agg[1].upper() in ("SUM", "AVG") and field not in NUMBER_FIELDS:
                    raise SoqlError("INVALID_FIELD", f"field {field} does not support aggregate "
                                    f"operator {agg[1].upper()}")  # fmt: skip
                specs.append((alias, agg[1].upper(), field))
            elif (field := self._field(obj, item)) in groups_by:
                specs.append((field.rsplit(".", 1)[-1], "", field))
            else:
                raise SoqlError("MALFORMED_QUERY", f"Field must be grouped or aggregated: {field}")
        groups: dict[tuple[Any, ...], list[Json]] = {(): rows} if not groups_by else {}
        for r in rows if groups_by else ():
            groups.setdefault(tuple(_raw(r, g) for g in groups_by), []).append(r)
        out = []
        for key, members in groups.items():
            row: Json = {"attributes": {"type": "AggregateResult"}}
            for name, func, field in specs:
                vals = [v for r in members if (v := _raw(r, field) if field else 1) is not None]
                if not func:
                    row[name] = key[groups_by.index(field)]
                elif func == "COUNT" or not vals:
                    row[name] = len(vals) if func == "COUNT" else None
                else:
                    row[name] = {"SUM": float(sum(vals)), "AVG": sum(vals) / len(vals),
                                 "MIN": min(vals), "MAX": max(vals)}[func]  # fmt: skip
            out.append(row)
        if order:
            agg = _AGG.fullmatch(order)
            field = self._field(obj, agg[2] if agg else order) if not agg or agg[2] else None
            want = (agg[1].upper() if agg else "", field)
            name = next((s[0] for s in specs if (s[1], s[2]) == want), None)
            if name is None:
                raise SoqlError("MALFORMED_QUERY", f"ORDER BY {order}: not grouped or aggregated")
            out.sort(key=lambda r: _nulls_first(r[name]))
        return out

    def _groupable(self, obj: str, name: str) -> str:
        field = self._field(obj, name)
        if field in UNGROUPABLE:
            raise SoqlError("INVALID_FIELD", f"field '{field}' can not be grouped in a query call")
        return field

    @staticmethod
    def _row(obj: str, record: Json, fields: list[str], version: str) -> Json:
        base = f"/services/data/v{version}/sobjects"
        row: Json = {"attributes": {"type": obj, "url": f"{base}/{obj}/{record.get('Id')}"}}
        for field in fields:
            head, _, tail = field.partition(".")
            if not tail:
                row[field] = record.get(field)
            elif (rel := record.get(head)) is None:
                row[head] = None
            else:
                kind = {"Owner": "User"}.get(head, head)
                attrs = {"type": kind, "url": f"{base}/{kind}/{rel.get('Id')}"}
                row.setdefault(head, {"attributes": attrs})[tail] = rel.get(tail)
        return row
