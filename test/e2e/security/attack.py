"""Black-box security checks of a generated FastAPI service (auth, ownership, limits, logs, browsers).

Every case prints one line:  HELD name | BROKEN name: detail | SKIP name: why
and the run ends with        tried=N held=M broken=K skipped=S   (exit 1 when anything broke).

Run (the service must already be running, with its log written to LOG_FILE):
  uv run --with httpx --with websockets --with pyjwt --with cryptography python attack.py

Environment
  BASE_URL          http://127.0.0.1:8000
  AUTH_KIND         jwt | apikey | oidc
  LOG_FILE          the server's log file (stdout+stderr); searched for every credential at the end
  ADMIN_SCOPE       the scope the server was given as its admin scope (empty: admin cases skipped)
  PRODUCTION        1 when the server runs with ENVIRONMENT=production (docs off, HSTS, no Server header)
  ALLOWED_ORIGIN    an origin in the server's CORS_ORIGINS (default http://localhost:3000)
  RATE_LIMIT        the server's RATE_LIMIT, e.g. 100/minute (sizes the rate-limit probes)
  MAX_TIMEOUT_SECONDS  the server's AGENT_MAX_TIMEOUT_SECONDS (default 600)
  LEEWAY_SECONDS    clock skew the server tolerates on exp (JWT_LEEWAY_SECONDS/OIDC_LEEWAY_SECONDS, default 30)
  BODY_PROBE_BYTES / HEADER_PROBE_BYTES / TOKEN_PROBE_BYTES   sizes of the over-limit probes
                    (defaults 2000000 / 12000 / 12000: above any sensible limit, below uvicorn's own)
  TICKET_PATH       the ticket endpoint, when openapi.json is off (else found in openapi.json)
  EVENTS_SOURCE_URL tier 2/3: a service whose POST /items publishes an event that BASE_URL receives
  TICKET_TTL        seconds a browser ticket lives, if the ticket endpoint does not say (default 60)
  jwt:    JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, ALGORITHM (HS256; RS*/ES* need JWT_PRIVATE_KEY, a PEM)
          optional LOGIN_USER / LOGIN_PASSWORD (a stored user, for /auth/token) and DEACTIVATE_CMD
          (a shell command that deletes or deactivates LOGIN_USER; its token must stop working at once)
  apikey: API_KEY_A, API_KEY_B (two clients), optional API_KEY_C (a third, for the WebSocket rate limit),
          API_KEY_ADMIN (a key whose principal holds the admin scope), API_KEY_HEADER (X-API-Key)
  oidc:   IDP_URL (fake_idp.py, whose key signs the tokens; it is the issuer), OIDC_AUDIENCE
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

warnings.filterwarnings("ignore", category=DeprecationWarning)
E = os.environ.get
BASE = E("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
WS_BASE = "ws" + BASE[4:] if BASE.startswith("http") else BASE
KIND = E("AUTH_KIND", "jwt")
LOG_FILE = E("LOG_FILE", "")
ADMIN_SCOPE = E("ADMIN_SCOPE", "")
PRODUCTION = E("PRODUCTION", "0") in ("1", "true", "yes")
ALLOWED_ORIGIN = E("ALLOWED_ORIGIN", "http://localhost:3000")
RATE_N = int(re.match(r"\s*(\d+)", E("RATE_LIMIT", "100/minute")).group(1))  # type: ignore[union-attr]
MAX_TIMEOUT = float(E("MAX_TIMEOUT_SECONDS", "600"))
LEEWAY = int(E("LEEWAY_SECONDS", "30"))
BODY_PROBE = int(E("BODY_PROBE_BYTES", "2000000"))
HEADER_PROBE = int(E("HEADER_PROBE_BYTES", "12000"))
TOKEN_PROBE = int(E("TOKEN_PROBE_BYTES", "12000"))
TICKET_TTL = int(E("TICKET_TTL", "60"))
RUN = uuid.uuid4().hex[:8]

SECRETS: dict[str, str] = {}  # label -> secret value that must never appear in LOG_FILE
RESULTS = {"tried": 0, "held": 0, "broken": 0, "skipped": 0}
FIVE_XX: list[httpx.Response] = []  # every 5xx seen during the run (their headers are checked too)


def _seen(r: httpx.Response) -> None:
    if r.status_code >= 500 and len(FIVE_XX) < 50:
        FIVE_XX.append(r)


client = httpx.Client(base_url=BASE, timeout=20.0, event_hooks={"response": [_seen]})


class Skip(Exception):
    pass


class Broken(Exception):
    pass


def case(name: str, fn: Callable[[], None]) -> None:
    RESULTS["tried"] += 1
    try:
        fn()
    except Skip as exc:
        RESULTS["skipped"] += 1
        print(f"SKIP {name}: {exc}", flush=True)
    except Broken as exc:
        RESULTS["broken"] += 1
        print(f"BROKEN {name}: {exc}", flush=True)
    except AssertionError as exc:
        RESULTS["broken"] += 1
        print(f"BROKEN {name}: {exc}", flush=True)
    except Exception as exc:  # an unexpected failure of the probe is a finding too
        RESULTS["broken"] += 1
        print(f"BROKEN {name}: probe failed: {type(exc).__name__}: {str(exc)[:300]}", flush=True)
    else:
        RESULTS["held"] += 1
        print(f"HELD {name}", flush=True)


def need(cond: bool, detail: str) -> None:
    if not cond:
        raise Broken(detail)


def short(r: httpx.Response) -> str:
    return f"{r.status_code} {r.text[:200]!r}"


def error_shape(r: httpx.Response) -> bool:
    try:
        body = r.json()
    except ValueError:
        return False
    return isinstance(body, dict) and {"code", "message", "request_id"} <= body.keys()


# --------------------------------------------------------------------------------------------------
# credentials
# --------------------------------------------------------------------------------------------------
class Creds:
    """Credentials of named users: a, b (ownership), c (rate limits), admin."""

    header_name = "Authorization"

    def headers(self, user: str) -> dict[str, str]:
        raise NotImplementedError

    def value(self, user: str) -> str:
        return self.headers(user)[self.header_name]

    def has_tokens(self) -> bool:
        return False


class TokenCreds(Creds):
    def __init__(self) -> None:
        self.cache: dict[str, str] = {}

    def has_tokens(self) -> bool:
        return True

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        raise NotImplementedError

    def base_claims(self) -> dict[str, Any]:
        raise NotImplementedError

    def token(self, sub: str | None = "alice", ttl: int = 600, **over: Any) -> str:
        now = int(time.time())
        claims = self.base_claims()
        claims.update({"iat": now, "exp": now + ttl})
        if sub is not None:
            claims["sub"] = sub
        claims.update(over)
        claims = {k: v for k, v in claims.items() if v is not None}
        tok = self.sign(claims)
        SECRETS[f"token(sub={sub!r})#{len(SECRETS)}"] = tok
        return tok

    def headers(self, user: str) -> dict[str, str]:
        if user not in self.cache:
            sub = {"a": f"alice-{RUN}", "b": f"bob-{RUN}", "c": f"carol-{RUN}", "d": f"dave-{RUN}"}.get(user)
            if user == "admin":
                if not ADMIN_SCOPE:
                    raise Skip("ADMIN_SCOPE not set")
                self.cache[user] = self.token(f"admin-{RUN}", scope=ADMIN_SCOPE)
            else:
                self.cache[user] = self.token(sub or f"{user}-{RUN}")
        return {"Authorization": f"Bearer {self.cache[user]}"}


class JwtCreds(TokenCreds):
    def __init__(self) -> None:
        super().__init__()
        self.secret = E("JWT_SECRET", "")
        self.alg = E("ALGORITHM", "HS256")
        self.key: Any = self.secret
        if not self.alg.startswith("HS"):
            pem = E("JWT_PRIVATE_KEY", "").replace("\\n", "\n").encode()
            self.key = serialization.load_pem_private_key(pem, password=None)
        if self.secret:
            SECRETS["JWT_SECRET"] = self.secret

    def base_claims(self) -> dict[str, Any]:
        c: dict[str, Any] = {"iss": E("JWT_ISSUER", "")}
        if E("JWT_AUDIENCE"):
            c["aud"] = E("JWT_AUDIENCE")
        return c

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(claims, self.key, algorithm=self.alg, headers=headers)

    def forge(self, claims: dict[str, Any]) -> str:
        if self.alg.startswith("HS"):
            return jwt.encode(claims, "not-the-secret-" + "x" * 40, algorithm=self.alg)
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(claims, other, algorithm="RS256")


class OidcCreds(TokenCreds):
    def __init__(self) -> None:
        super().__init__()
        self.idp = E("IDP_URL", "").rstrip("/")
        if not self.idp:
            raise SystemExit("AUTH_KIND=oidc needs IDP_URL (run fake_idp.py)")
        disc = httpx.get(f"{self.idp}/.well-known/openid-configuration", timeout=10).json()
        self.issuer = disc["issuer"]
        self.jwks = httpx.get(disc["jwks_uri"], timeout=10).json()
        self.kid = self.jwks["keys"][0].get("kid")

    def base_claims(self) -> dict[str, Any]:
        c: dict[str, Any] = {"iss": self.issuer}
        if E("OIDC_AUDIENCE"):
            c["aud"] = E("OIDC_AUDIENCE")
        return c

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        body = {"claims": {**claims, **{k: None for k in ("iss", "iat", "exp") if k not in claims}}}
        if headers:
            body["headers"] = headers
        return httpx.post(f"{self.idp}/mint", json=body, timeout=10).json()["token"]

    def forge(self, claims: dict[str, Any]) -> str:
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(claims, other, algorithm="RS256", headers={"kid": self.kid})


class ApiKeyCreds(Creds):
    def __init__(self) -> None:
        self.header_name = E("API_KEY_HEADER", "X-API-Key")
        self.keys = {"a": E("API_KEY_A", ""), "b": E("API_KEY_B", ""), "c": E("API_KEY_C", ""),
                     "admin": E("API_KEY_ADMIN", "")}
        if not self.keys["a"] or not self.keys["b"]:
            raise SystemExit("AUTH_KIND=apikey needs API_KEY_A and API_KEY_B")
        for k, v in self.keys.items():
            if v:
                SECRETS[f"API_KEY_{k.upper()}"] = v

    def headers(self, user: str) -> dict[str, str]:
        key = self.keys.get(user, "")
        if not key:
            if user == "c":
                key = self.keys["b"]
            else:
                raise Skip(f"no API key given for user {user!r} (API_KEY_{user.upper()})")
        return {self.header_name: key}


CREDS: Creds = {"jwt": JwtCreds, "oidc": OidcCreds, "apikey": ApiKeyCreds}[KIND]()


def H(user: str, **extra: str) -> dict[str, str]:
    return {**CREDS.headers(user), **extra}


# --------------------------------------------------------------------------------------------------
# OpenAPI and agent request helpers
# --------------------------------------------------------------------------------------------------
OPENAPI: dict[str, Any] | None = None


def openapi() -> dict[str, Any]:
    global OPENAPI
    if OPENAPI is None:
        r = client.get("/openapi.json")
        if r.status_code == 401:
            r = client.get("/openapi.json", headers=H("a"))
        if r.status_code != 200:
            raise Skip(f"/openapi.json answers {r.status_code} (docs off?)")
        OPENAPI = r.json()
    return OPENAPI


def paths() -> set[str]:
    try:
        return set(openapi().get("paths", {}))
    except Skip:
        return {"/agents/run", "/agents/run/async", "/agents/run/stream", "/agents/jobs", "/agents/jobs/{job_id}"}


def need_agents() -> None:
    if "/agents/run/async" not in paths():
        raise Skip("no agent endpoints in this project")


def submit_job(user: str, words: int = 3) -> str:
    text = " ".join(["lorem"] * words)
    r = client.post("/agents/run/async", json={"input": text}, headers=H(user))
    need(r.status_code == 202, f"POST /agents/run/async as {user}: {short(r)}")
    return r.json()["job_id"]


def wait_done(user: str, job: str, limit: float = 30) -> dict[str, Any]:
    end = time.time() + limit
    body: dict[str, Any] = {}
    while time.time() < end:
        r = client.get(f"/agents/jobs/{job}", headers=H(user))
        if r.status_code == 200:
            body = r.json()
            if body.get("status") not in ("queued", "running"):
                return body
        time.sleep(0.3)
    return body


def sse_events(url: str, headers: dict[str, str], limit: float = 15, max_events: int = 500) -> tuple[int, list[dict[str, str]], str]:
    """GET an SSE URL; return (status, events, raw body prefix for non-200)."""
    events: list[dict[str, str]] = []
    with client.stream("GET", url, headers={"Accept": "text/event-stream", **headers}, timeout=limit) as r:
        if r.status_code != 200:
            r.read()
            return r.status_code, [], r.text[:300]
        cur: dict[str, str] = {}
        end = time.time() + limit
        try:
            for line in r.iter_lines():
                if line == "":
                    if cur:
                        events.append(cur)
                        if cur.get("event") in ("result", "error") or len(events) >= max_events:
                            break
                    cur = {}
                elif ":" in line and not line.startswith(":"):
                    k, _, v = line.partition(":")
                    cur[k] = cur.get(k, "") + v.lstrip(" ")
                if time.time() > end:
                    break
        except httpx.ReadTimeout:
            pass
        return 200, events, ""


def ws_open(headers: dict[str, str] | None, query: str = "", **kw: Any) -> Any:
    return ws_connect(f"{WS_BASE}/agents/ws{query}", additional_headers=headers or {}, open_timeout=10,
                      max_size=2**22, **kw)


def ws_recv_json(ws: Any, timeout: float = 5) -> dict[str, Any] | None:
    try:
        msg = ws.recv(timeout=timeout)
    except TimeoutError:
        return None
    try:
        return json.loads(msg)
    except ValueError:
        return {"raw": msg}


def ws_refused(headers: dict[str, str] | None, query: str = "") -> str | None:
    """None when the WebSocket handshake (or the first exchange) is refused; else what happened."""
    try:
        ws = ws_open(headers, query)
    except InvalidStatus as exc:
        return None if exc.response.status_code in (401, 403, 404) else f"handshake {exc.response.status_code}"
    except (ConnectionClosed, OSError):
        return None
    try:
        ws.send(json.dumps({"type": "ping"}))
        m = ws_recv_json(ws, 5)
        if m is None:
            return "socket open, no answer to ping"
        if m.get("type") == "error" and m.get("code") in ("unauthorized", "forbidden"):
            return None
        return f"socket accepted and answered {m}"
    except ConnectionClosed as exc:
        if exc.rcvd is not None and exc.rcvd.code in (1008, 3000, 3003) or (exc.rcvd and 4000 <= exc.rcvd.code < 5000):
            return None
        return f"closed with {exc.rcvd.code if exc.rcvd else 'no close frame'}"
    finally:
        try:
            ws.close()
        except Exception:
            pass


# --------------------------------------------------------------------------------------------------
# cases: OpenAPI
# --------------------------------------------------------------------------------------------------
PUBLIC = ("/health", "/health/ready", "/auth/token", "/docs", "/redoc", "/openapi.json", "/metrics")
METHODS = ("get", "post", "put", "patch", "delete")


def ops() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for p, item in openapi().get("paths", {}).items():
        for m, op in item.items():
            if m in METHODS:
                yield p, m, op


def c_security_schemes() -> None:
    schemes = openapi().get("components", {}).get("securitySchemes") or {}
    need(bool(schemes), "openapi.json declares no securitySchemes")
    types = {(s.get("type"), s.get("scheme", "").lower(), s.get("in")) for s in schemes.values()}
    if KIND == "jwt":
        need(any(t == "oauth2" or (t == "http" and sc == "bearer") for t, sc, _ in types), f"no bearer/oauth2 scheme: {schemes}")
        oauth = [s for s in schemes.values() if s.get("type") == "oauth2"]
        if oauth and "/auth/token" in paths():
            flow = oauth[0].get("flows", {}).get("password", {})
            need(flow.get("tokenUrl", "").rstrip("/").removeprefix("/").endswith("auth/token"), f"oauth2 password tokenUrl is {flow}")
    elif KIND == "apikey":
        keys = [s for s in schemes.values() if s.get("type") == "apiKey"]
        need(bool(keys), f"no apiKey scheme: {schemes}")
        need(keys[0].get("in") == "header" and keys[0].get("name", "").lower() == CREDS.header_name.lower(),
             f"apiKey scheme is {keys[0]}, expected header {CREDS.header_name}")
    else:
        need(any(t == "openIdConnect" for t, _, _ in types), f"no openIdConnect scheme: {schemes}")
        oidc = [s for s in schemes.values() if s.get("type") == "openIdConnect"][0]
        need(oidc.get("openIdConnectUrl", "").endswith("/.well-known/openid-configuration"), f"openIdConnectUrl {oidc}")


def c_operation_security() -> None:
    glob = openapi().get("security")
    missing = []
    for p, m, op in ops():
        if p in PUBLIC:
            continue
        sec = op.get("security", glob)
        if not sec:
            missing.append(f"{m.upper()} {p}")
    need(not missing, f"{len(missing)} protected operations declare no security: {', '.join(missing[:6])}")


def c_public_routes_public() -> None:
    bad = []
    glob = openapi().get("security")
    for p, m, op in ops():
        if p in PUBLIC and op.get("security", glob):
            bad.append(f"{m.upper()} {p} declares security {op.get('security', glob)}")
    for p in ("/health", "/health/ready"):
        r = client.get(p)
        if r.status_code in (401, 403):
            bad.append(f"GET {p} without credentials: {r.status_code}")
    if "/auth/token" in paths():
        r = client.post("/auth/token", data={"username": "nobody", "password": "x"})
        if r.status_code == 401 and "bearer" in r.text.lower() and "missing" in r.text.lower():
            bad.append("POST /auth/token asks for a bearer token")
    need(not bad, "; ".join(bad))


def c_operation_ids() -> None:
    ugly = [op.get("operationId", "?") for _, _, op in ops()
            if re.search(r"_(get|post|put|patch|delete)$", op.get("operationId", "")) or "__" in op.get("operationId", "")]
    need(not ugly, f"{len(ugly)} generated operation ids, e.g. {ugly[:4]}")


def c_docs_offline() -> None:
    r = client.get("/docs")
    if r.status_code != 200:
        raise Skip(f"/docs answers {r.status_code}")
    cdn = re.findall(r"https?://(?:cdn\.jsdelivr\.net|unpkg\.com|cdnjs\.cloudflare\.com|fastapi\.tiangolo\.com)[^\"' ]*", r.text)
    r2 = client.get("/redoc")
    if r2.status_code == 200:
        cdn += re.findall(r"https?://(?:cdn\.jsdelivr\.net|unpkg\.com|cdn\.redoc\.ly|fonts\.googleapis\.com)[^\"' ]*", r2.text)
    need(not cdn, f"docs load assets from outside: {sorted(set(cdn))[:4]}")


# --------------------------------------------------------------------------------------------------
# cases: ownership
# --------------------------------------------------------------------------------------------------
STATE: dict[str, Any] = {}


def a_job() -> str:
    if "job" not in STATE:
        need_agents()
        STATE["job"] = submit_job("a", 4)
        body = wait_done("a", STATE["job"])
        need(body.get("status") == "succeeded", f"A's own job did not succeed: {body}")
    return STATE["job"]


def c_owner_sees_own() -> None:
    job = a_job()
    r = client.get(f"/agents/jobs/{job}", headers=H("a"))
    need(r.status_code == 200, f"owner GET own job: {short(r)}")
    r = client.get("/agents/jobs", headers=H("a"), params={"limit": 100})
    need(r.status_code == 200 and job in r.text, f"owner's list lacks own job: {short(r)}")


def c_other_list() -> None:
    job = a_job()
    r = client.get("/agents/jobs", headers=H("b"), params={"limit": 100})
    need(r.status_code == 200, f"B lists jobs: {short(r)}")
    need(job not in r.text, "A's job appears in B's GET /agents/jobs")
    # also a status filter and pages
    r = client.get("/agents/jobs", headers=H("b"), params={"limit": 100, "status": "succeeded"})
    need(job not in r.text, "A's job appears in B's GET /agents/jobs?status=succeeded")


def c_other_get() -> None:
    job = a_job()
    r = client.get(f"/agents/jobs/{job}", headers=H("b"))
    need(r.status_code == 404, f"B GET A's job: {short(r)}")


def c_other_get_run() -> None:
    need_agents()
    r = client.post("/agents/run", json={"input": "secret plans"}, headers=H("a"))
    need(r.status_code == 200, f"A POST /agents/run: {short(r)}")
    rid = r.json().get("run_id")
    r = client.get(f"/agents/jobs/{rid}", headers=H("b"))
    need(r.status_code == 404, f"B GET A's run record: {short(r)}")


def c_other_sse_follow() -> None:
    job = a_job()
    st, ev, raw = sse_events(f"/agents/run/stream?job_id={job}", H("b"), 8)
    need(st == 404, f"B follows A's job over SSE: {st} {raw or ev[:2]}")


def c_other_sse_resume() -> None:
    job = a_job()
    st, ev, raw = sse_events(f"/agents/run/stream?job_id={job}", H("b", **{"Last-Event-ID": "1"}), 8)
    need(st == 404, f"B resumes A's job with Last-Event-ID: {st} {raw or ev[:2]}")
    st, ev, raw = sse_events(f"/agents/run/stream?{urlencode({'job_id': job, 'last-event-id': '0'})}", H("b"), 8)
    need(st in (404, 422), f"B resumes A's job with ?last-event-id=: {st} {raw or ev[:2]}")


def c_other_cancel() -> None:
    need_agents()
    job = submit_job("a", 300)  # a long run (the local agent streams word by word)
    r = client.delete(f"/agents/jobs/{job}", headers=H("b"))
    st = client.get(f"/agents/jobs/{job}", headers=H("a")).json().get("status")
    client.delete(f"/agents/jobs/{job}", headers=H("a"))
    need(r.status_code == 404, f"B DELETE A's job: {short(r)} (A's job now {st})")
    need(st != "cancelled", "B cancelled A's job")


def c_other_ws_followups() -> None:
    need_agents()
    job = submit_job("a", 200)
    leaks, notes = [], []
    try:
        ws = ws_open(H("b"))
    except InvalidStatus as exc:
        raise Broken(f"B cannot open the WebSocket at all: {exc.response.status_code}")
    with ws:
        for msg in ({"type": "follow", "job_id": job}, {"type": "subscribe", "job_id": job},
                    {"type": "cancel", "run_id": job}, {"type": "cancel", "job_id": job}):
            try:
                ws.send(json.dumps(msg))
                deadline = time.time() + 2
                while time.time() < deadline:
                    m = ws_recv_json(ws, 1)
                    if m is None:
                        break
                    if m.get("type") in ("token", "result", "tool_call", "tool_result") or "lorem" in json.dumps(m):
                        leaks.append(f"{msg['type']} -> {str(m)[:120]}")
                        break
                    notes.append(f"{msg['type']} -> {m.get('type')}/{m.get('code')}")
            except ConnectionClosed as exc:
                notes.append(f"{msg['type']} -> close {exc.rcvd.code if exc.rcvd else None}")
                break
    # the job must still be A's and not cancelled by B
    body = client.get(f"/agents/jobs/{job}", headers=H("a")).json()
    client.delete(f"/agents/jobs/{job}", headers=H("a"))
    need(not leaks, f"B's WebSocket got A's job events: {leaks}")
    need(body.get("status") != "cancelled", f"B's WebSocket cancelled A's job ({notes})")
    r = ws_refused(H("b"), f"?job_id={job}")
    if r and "token" in r:
        raise Broken(f"B's WebSocket ?job_id= follows A's job: {r}")


def c_admin_sees_all() -> None:
    job = a_job()
    if KIND == "apikey" and not E("API_KEY_ADMIN"):
        raise Skip("no API_KEY_ADMIN given")
    if not ADMIN_SCOPE and KIND != "apikey":
        raise Skip("ADMIN_SCOPE not set (the server's admin scope)")
    r = client.get(f"/agents/jobs/{job}", headers=H("admin"))
    need(r.status_code == 200, f"admin GET A's job: {short(r)}")
    r = client.get("/agents/jobs", headers=H("admin"), params={"limit": 100})
    need(r.status_code == 200 and job in r.text, f"admin list lacks A's job: {short(r)}")


def c_scope_not_admin() -> None:
    job = a_job()
    if not CREDS.has_tokens():
        raise Skip("API keys carry no scopes")
    tok = CREDS.token(f"eve-{RUN}", scope=f"agents:read {ADMIN_SCOPE}x profile" if ADMIN_SCOPE else "agents:read admin")  # type: ignore[attr-defined]
    r = client.get(f"/agents/jobs/{job}", headers={"Authorization": f"Bearer {tok}"})
    need(r.status_code == 404, f"a token with near-miss scopes reads A's job: {short(r)}")


def json_body_for(spec: dict[str, Any], path: str, fill: str) -> Any:
    op = spec.get("paths", {}).get(path, {}).get("post", {})
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    return sample(schema, spec.get("components", {}).get("schemas", {}), fill=fill)


def c_items_ownership() -> None:
    if "/items" not in paths():
        raise Skip("no /items resource")
    marker = f"item-{RUN}"
    r = client.post("/items", json=json_body_for(openapi(), "/items", marker), headers=H("a"))
    need(r.status_code in (200, 201), f"A POST /items: {short(r)}")
    iid = r.json().get("id")
    r = client.get(f"/items/{iid}", headers=H("b"))
    need(r.status_code == 404, f"B GET A's item: {short(r)}")
    r = client.get("/items", headers=H("b"))
    need(marker not in r.text, "A's item in B's GET /items")


def c_events_endpoints() -> None:
    ev = [p for p in paths() if p.startswith("/events")]
    if not ev:
        raise Skip("no /events endpoints (tier 1)")
    bad = []
    for p in ev:
        r = client.get(p, params={"limit": 1}, timeout=5) if "stream" not in p else None
        if r is not None and r.status_code not in (401, 403, 405):
            bad.append(f"GET {p} anonymous: {r.status_code}")
    need(not bad, "; ".join(bad))


def c_events_visibility() -> None:
    if "/events/received" not in paths():
        raise Skip("no /events/received (tier 1)")
    src = E("EVENTS_SOURCE_URL", "").rstrip("/")
    if not src:
        raise Skip("EVENTS_SOURCE_URL not set (a service whose POST /items publishes events BASE_URL receives)")
    spec = httpx.get(f"{src}/openapi.json", timeout=10).json()
    marker = f"evt-{RUN}-{uuid.uuid4().hex[:6]}"
    r = httpx.post(f"{src}/items", json=json_body_for(spec, "/items", marker), headers=H("a"), timeout=10)
    need(r.status_code in (200, 201), f"A POST {src}/items: {short(r)}")
    seen_by_a = False
    end = time.time() + 8
    while time.time() < end:
        rb = client.get("/events/received", params={"limit": 100}, headers=H("b"))
        need(marker not in rb.text, f"B's GET /events/received shows A's event ({rb.status_code})")
        ra = client.get("/events/received", params={"limit": 100}, headers=H("a"))
        if marker in ra.text:
            seen_by_a = True
            break
        time.sleep(0.5)
    st, ev, _ = sse_events("/events/stream?limit=100", H("b"), 3)
    need(not any(marker in json.dumps(e) for e in ev), "B's /events/stream shows A's event")
    if not seen_by_a and rb.status_code == 200:
        raise Skip("the event never reached BASE_URL (is Redis shared?), so visibility is unproven")


def c_deactivated_user() -> None:
    user, pw, cmd = E("LOGIN_USER"), E("LOGIN_PASSWORD"), E("DEACTIVATE_CMD")
    if "/auth/token" not in paths() or not (user and pw and cmd):
        raise Skip("needs /auth/token and LOGIN_USER, LOGIN_PASSWORD, DEACTIVATE_CMD")
    SECRETS["LOGIN_PASSWORD"] = pw
    r = client.post("/auth/token", data={"username": user, "password": pw})
    need(r.status_code == 200, f"login: {short(r)}")
    tok = r.json()["access_token"]
    SECRETS["issued access token"] = tok
    me = "/users/me" if "/users/me" in paths() else "/agents/jobs"
    need(client.get(me, headers={"Authorization": f"Bearer {tok}"}).status_code == 200, "fresh token refused")
    subprocess.run(cmd, shell=True, check=True, capture_output=True, timeout=60)
    r = client.get(me, headers={"Authorization": f"Bearer {tok}"})
    need(r.status_code == 401, f"token of a deleted/deactivated user still works: {short(r)}")


# --------------------------------------------------------------------------------------------------
# cases: bad credentials
# --------------------------------------------------------------------------------------------------
PROBE_PATH = "/agents/jobs"


def probe_path() -> str:
    """A protected GET route without path parameters (or /echo, a POST)."""
    ps = paths()
    for p in (PROBE_PATH, "/items", "/notes", "/users/me"):
        if p in ps:
            return p
    try:
        for p, m, _ in ops():
            if m == "get" and "{" not in p and p not in PUBLIC and not p.startswith("/events"):
                return p
    except Skip:
        pass
    return "/echo"


def post_path() -> str:
    """A protected POST route with a JSON body."""
    for p in ("/agents/run", "/echo", "/items", "/notes"):
        if p in paths():
            return p
    return "/echo"


def refused(headers: dict[str, str]) -> httpx.Response:
    p = probe_path()
    return client.get(p, headers=headers) if p != "/echo" else client.post(p, json={"message": "x"}, headers=headers)


def bad_token_case(make: Callable[[], str], what: str) -> Callable[[], None]:
    def run() -> None:
        if not CREDS.has_tokens():
            raise Skip("not a token scheme")
        tok = make()
        SECRETS[f"bad token {what}"] = tok
        r = refused({"Authorization": f"Bearer {tok}"})
        need(r.status_code == 401, f"{what}: {short(r)}")
        need(error_shape(r), f"{what}: 401 not in the error shape: {r.text[:200]}")
        need(ws_refused({"Authorization": f"Bearer {tok}"}) is None, f"{what} on WebSocket: {ws_refused({'Authorization': f'Bearer {tok}'})}")
    return run


def tc() -> TokenCreds:
    return CREDS  # type: ignore[return-value]


def alg_none() -> str:
    now = int(time.time())
    claims = {**tc().base_claims(), "sub": f"mallory-{RUN}", "iat": now, "exp": now + 600}
    head = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{body}."


def forged() -> str:
    now = int(time.time())
    return tc().forge({**tc().base_claims(), "sub": f"alice-{RUN}", "iat": now, "exp": now + 600})  # type: ignore[attr-defined]


def hs_confusion() -> str:
    # sign HS256 with the public key (JWKS n/e as PEM) as the HMAC secret: the classic alg-confusion attack
    if KIND != "oidc":
        return forged()
    k = jwt.PyJWK(tc().jwks["keys"][0]).key  # type: ignore[attr-defined]
    pem = k.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(time.time())
    claims = {**tc().base_claims(), "sub": f"alice-{RUN}", "iat": now, "exp": now + 600}
    h = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": tc().kid}).encode()).rstrip(b"=")  # type: ignore[attr-defined]
    b = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    sig = base64.urlsafe_b64encode(hmac.new(pem, h + b"." + b, hashlib.sha256).digest()).rstrip(b"=")
    return (h + b"." + b + b"." + sig).decode()


def c_apikey_bad() -> None:
    if KIND != "apikey":
        raise Skip("apikey only")
    key = CREDS.keys["a"]  # type: ignore[attr-defined]
    bad = []
    for label, v in (("wrong", "x" * len(key)), ("prefix", key[:-1]), ("suffix", key + "x"), ("empty", ""),
                     ("case", key.swapcase() if key.swapcase() != key else key + "Z")):
        r = refused({CREDS.header_name: v})
        if r.status_code != 401 or not error_shape(r):
            bad.append(f"{label}: {r.status_code}")
    r = refused({"Authorization": f"Bearer {key}"})
    if r.status_code == 200:
        bad.append("key accepted as a bearer token in Authorization")
    need(not bad, "; ".join(bad))


# --------------------------------------------------------------------------------------------------
# cases: WebSocket session and rate limit
# --------------------------------------------------------------------------------------------------
def c_ws_token_expiry() -> None:
    if not CREDS.has_tokens():
        raise Skip("API keys do not expire")
    need_agents()
    ttl = 4
    tok = tc().token(f"frank-{RUN}", ttl=ttl)
    exp_at = time.time() + ttl
    ws = ws_open({"Authorization": f"Bearer {tok}"})
    ws.send(json.dumps({"type": "ping"}))
    need(ws_recv_json(ws, 5) is not None, "no answer to a ping on a fresh socket")
    deadline = exp_at + LEEWAY + 8
    code, reason, answered = None, "", []
    try:
        while time.time() < deadline:
            try:
                ws.send(json.dumps({"type": "ping"}))
            except ConnectionClosed as exc:
                code, reason = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, "")
                break
            m = ws_recv_json(ws, 2)
            if m is not None and time.time() > exp_at + LEEWAY + 1:
                answered.append(m.get("type"))
            time.sleep(1)
        else:
            ws.close()
            raise Broken(f"socket still open {int(deadline - exp_at)}s after its token expired "
                         f"(answered {len(answered)} pings after expiry)")
    except ConnectionClosed as exc:
        code, reason = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, "")
    need(code is not None and (code == 1008 or 3000 <= code < 5000), f"closed with code {code} {reason!r}, not a clear auth close code")


def c_ws_rate_limit() -> None:
    need_agents()
    n = RATE_N + 10
    ws = ws_open(H("c"))
    limited = None
    try:
        for i in range(n):
            ws.send(json.dumps({"type": "ping"}))
            m = ws_recv_json(ws, 5)
            if m is None:
                continue
            if m.get("type") == "error" and ("rate" in str(m.get("code")) or m.get("code") == "too_many_requests"):
                limited = i
                break
    except ConnectionClosed as exc:
        limited = -1
        code = exc.rcvd.code if exc.rcvd else None
        need(code is not None and (code in (1008, 1013) or 3000 <= code < 5000), f"closed with {code} when over the limit")
    finally:
        try:
            ws.close()
        except Exception:
            pass
    need(limited is not None, f"{n} WebSocket messages (limit {RATE_N}) were never rate limited")


def c_failed_auth_429() -> None:
    n = min(max(RATE_N + 10, 30), 1200)
    got = None
    last = None
    for i in range(n):
        hdr = {"Authorization": f"Bearer bad.{i}.token"} if KIND != "apikey" else {CREDS.header_name: f"bad-{i}"}
        r = refused(hdr)
        last = r
        if r.status_code == 429:
            got = i + 1
            break
    need(got is not None, f"{n} failed auth attempts from one client never met 429 (last {short(last)})")  # type: ignore[arg-type]
    need(error_shape(last) and "retry-after" in last.headers, f"429 lacks error shape or Retry-After: {last.headers}")  # type: ignore[union-attr]
    print(f"  (failed-auth 429 after {got} attempts)", flush=True)


def c_failed_login_429() -> None:
    if "/auth/token" not in paths():
        raise Skip("no /auth/token")
    n = min(max(RATE_N + 10, 30), 1200)
    for i in range(n):
        r = client.post("/auth/token", data={"username": f"victim-{RUN}", "password": f"guess-{i}"})
        if r.status_code == 429:
            print(f"  (login 429 after {i + 1} attempts)", flush=True)
            return
    raise Broken(f"{n} wrong passwords never met 429")


# --------------------------------------------------------------------------------------------------
# cases: sizes and input
# --------------------------------------------------------------------------------------------------
def c_body_limit() -> None:
    p = post_path()
    body = json.dumps({"input": "a" * BODY_PROBE, "message": "a" * BODY_PROBE, "name": "a" * BODY_PROBE})
    r = client.post(p, content=body, headers=H("a", **{"Content-Type": "application/json"}))
    need(r.status_code == 413, f"{BODY_PROBE}-byte body to {p}: {r.status_code}"
         + (" (the whole body was read and parsed: no size limit)" if r.status_code in (200, 202, 422) else ""))
    need(error_shape(r), f"413 not in the error shape: {r.text[:200]}")
    # chunked (no Content-Length) too
    def gen() -> Iterator[bytes]:
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536].encode()
    r = client.post(p, content=gen(), headers=H("a", **{"Content-Type": "application/json"}))
    need(r.status_code == 413, f"chunked {BODY_PROBE}-byte body to {p}: {r.status_code}")


def c_header_limit() -> None:
    r = refused(H("a", **{"X-Padding": "p" * HEADER_PROBE}))
    need(r.status_code in (431, 413), f"{HEADER_PROBE}-byte header: {short(r)}")
    need(error_shape(r), f"{r.status_code} not in the error shape: {r.text[:200]}")


def c_token_limit() -> None:
    if CREDS.has_tokens():
        big = tc().token(f"alice-{RUN}", pad="z" * TOKEN_PROBE)
        hdr = {"Authorization": f"Bearer {big}"}
    else:
        hdr = {CREDS.header_name: "k" * TOKEN_PROBE}
    r = refused(hdr)
    need(r.status_code in (431, 413), f"{TOKEN_PROBE}-byte credential: {short(r)}")
    need(error_shape(r), f"{r.status_code} not in the error shape: {r.text[:200]}")


NUL = "x\x00y"


def c_nul_agent_inputs() -> None:
    need_agents()
    bad = []
    for p in ("/agents/run", "/agents/run/async"):
        r = client.post(p, json={"input": NUL}, headers=H("a"))
        if r.status_code != 422:
            bad.append(f"POST {p} input: {r.status_code}")
        r = client.post(p, json={"input": "ok", "agent": NUL}, headers=H("a"))
        if r.status_code not in (422, 404):
            bad.append(f"POST {p} agent: {r.status_code}")
    st, _, _ = sse_events(f"/agents/run/stream?input={quote(NUL)}", H("a"), 5)
    if st != 422:
        bad.append(f"SSE ?input=NUL: {st}")
    for url in (f"/agents/jobs/{quote(NUL)}", f"/agents/jobs?cursor={quote(NUL)}", f"/agents/jobs?status={quote(NUL)}"):
        r = client.get(url, headers=H("a"))
        if r.status_code not in (404, 422):
            bad.append(f"GET {url}: {r.status_code}")
    st, _, raw = sse_events(f"/agents/run/stream?job_id={quote(NUL)}", H("a"), 5)
    if st not in (404, 422):
        bad.append(f"SSE ?job_id=NUL: {st}")
    with ws_open(H("a")) as ws:
        ws.send(json.dumps({"type": "run", "input": NUL, "run_id": "n1"}))
        m = ws_recv_json(ws, 5) or {}
        if not (m.get("type") == "error" and m.get("code") == "validation_error"):
            bad.append(f"WebSocket run input NUL: {m}")
    need(not bad, "; ".join(bad))


def sample(schema: dict[str, Any], comps: dict[str, Any], depth: int = 0, fill: str = NUL) -> Any:
    if "$ref" in schema:
        schema = comps.get(schema["$ref"].split("/")[-1], {})
    for k in ("anyOf", "oneOf", "allOf"):
        if k in schema:
            opts = [s for s in schema[k] if s.get("type") != "null"]
            return sample(opts[0], comps, depth, fill) if opts else None
    t = schema.get("type")
    if t == "object" or "properties" in schema:
        if depth > 3:
            return {}
        return {k: sample(v, comps, depth + 1, fill) for k, v in schema.get("properties", {}).items()}
    if t == "string":
        return fill
    if t == "integer":
        return 1
    if t == "number":
        return 1.0
    if t == "boolean":
        return True
    if t == "array":
        return [sample(schema.get("items", {}), comps, depth + 1, fill)]
    return fill


def c_nul_every_body() -> None:
    comps = openapi().get("components", {}).get("schemas", {})
    bad, tried = [], 0
    for p, m, op in ops():
        if m not in ("post", "put", "patch") or "{" in p:
            continue
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        body = sample(content["application/json"].get("schema", {}), comps)
        tried += 1
        r = client.request(m.upper(), p, json=body, headers=H("a"))
        if r.status_code not in (422,):
            bad.append(f"{m.upper()} {p}: {r.status_code}")
    if not tried:
        raise Skip("no JSON bodies")
    need(not bad, "NUL in every string field not a 422: " + "; ".join(bad))


def c_timeout_max() -> None:
    need_agents()
    over = MAX_TIMEOUT + 1
    bad = []
    for p in ("/agents/run", "/agents/run/async"):
        r = client.post(p, json={"input": "hi", "timeout_seconds": over}, headers=H("a"))
        if r.status_code != 422:
            bad.append(f"POST {p}: {r.status_code}")
    st, _, _ = sse_events(f"/agents/run/stream?input=hi&timeout_seconds={over}", H("a"), 5)
    if st != 422:
        bad.append(f"SSE: {st}")
    with ws_open(H("a")) as ws:
        ws.send(json.dumps({"type": "run", "input": "hi", "run_id": "t1", "timeout_seconds": over}))
        m = ws_recv_json(ws, 5) or {}
        if not (m.get("type") == "error" and m.get("code") == "validation_error"):
            bad.append(f"WebSocket: {m.get('type')}/{m.get('code')}")
    need(not bad, f"timeout_seconds={over} (max {MAX_TIMEOUT}) accepted: " + "; ".join(bad))


def c_no_500_malformed() -> None:
    need_agents()
    found = []
    cursors = [base64.urlsafe_b64encode(json.dumps(x).encode()).decode() for x in
               ({"created_at": "x", "id": 1}, {"created_at": 1e309}, [], "x", {"created_at": "2020-01-01T00:00:00", "id": None})]
    for cur in cursors + ["!!!", "a" * 5000]:
        r = client.get("/agents/jobs", params={"cursor": cur}, headers=H("a"))
        if r.status_code >= 500:
            found.append(("cursor", r))
    job = a_job()
    for lei in ("abc", "-1", "9" * 40, "1e9", "\u00e9"):
        try:
            st, _, raw = sse_events(f"/agents/run/stream?job_id={job}", H("a", **{"Last-Event-ID": lei}), 5)
        except Exception:
            continue
        if st >= 500:
            found.append(("last-event-id", httpx.Response(st, text=raw)))
    for jid in ("a" * 3000, "%2e%2e", "0" * 32, "-" * 36):
        r = client.get(f"/agents/jobs/{jid}", headers=H("a"))
        if r.status_code >= 500:
            found.append(("job id", r))
    need(not found, f"malformed input answers 5xx: {[(w, r.status_code) for w, r in found][:4]}")


# --------------------------------------------------------------------------------------------------
# cases: headers, docs, CORS
# --------------------------------------------------------------------------------------------------
def sec_header_problems(r: httpx.Response) -> list[str]:
    h = r.headers
    p = []
    if h.get("x-content-type-options", "").lower() != "nosniff":
        p.append("X-Content-Type-Options")
    if "frame-ancestors" not in h.get("content-security-policy", "") and "x-frame-options" not in h:
        p.append("frame-ancestors")
    if "referrer-policy" not in h:
        p.append("Referrer-Policy")
    return p


def c_security_headers() -> None:
    probes = {
        "200": client.get("/health"),
        "401": client.get(probe_path()),
        "404": client.get(f"/no-such-{RUN}", headers=H("a")),
        "422": client.post(post_path(), content=b"{", headers=H("a", **{"Content-Type": "application/json"})),
    }
    bad = [f"{k}: missing {v}" for k, r in probes.items() if (v := sec_header_problems(r))]
    need(not bad, "; ".join(bad))


def c_security_headers_500() -> None:
    if not FIVE_XX:
        raise Skip("no 5xx reached from outside during the run")
    bad = []
    for r in FIVE_XX:
        if not r.is_stream_consumed:
            try:
                r.read()
            except Exception:
                pass
        probs = sec_header_problems(r)
        shape = True
        try:
            shape = error_shape(r)
        except Exception:
            pass
        if probs or not shape:
            bad.append(f"{r.request.method} {r.request.url.path} {r.status_code}: missing {probs or ''}{'' if shape else ' error shape'}")
    codes = sorted({r.status_code for r in FIVE_XX})
    need(not bad, f"{len(bad)} of {len(FIVE_XX)} 5xx responses: {'; '.join(sorted(set(bad))[:4])}")
    print(f"  (checked {len(FIVE_XX)} responses with {codes})", flush=True)


def c_http_rate_limit() -> None:
    n = min(RATE_N + 10, 1200)
    for i in range(n):
        r = refused(H("d")) if CREDS.has_tokens() else client.get(probe_path(), headers=H("c"))
        if r.status_code == 429:
            need(error_shape(r) and "retry-after" in r.headers, f"429 lacks the error shape or Retry-After: {r.headers}")
            need(not sec_header_problems(r), f"429 lacks {sec_header_problems(r)}")
            return
    raise Broken(f"{n} requests of one caller (limit {RATE_N}) never met 429")


def c_query_credentials() -> None:
    if CREDS.has_tokens():
        v = CREDS.headers("a")["Authorization"].split(" ", 1)[1]
        names = ("access_token", "token", "bearer", "auth")
    else:
        v = CREDS.headers("a")[CREDS.header_name]
        names = ("api_key", "apikey", "key", "x-api-key", CREDS.header_name)
    bad = []
    for n in names:
        r = client.get(probe_path(), params={n: v}) if probe_path() != "/echo" else client.post("/echo", params={n: v}, json={"message": "x"})
        if r.status_code < 400:
            bad.append(f"?{n}= on {probe_path()} -> {r.status_code}")
        if "/agents/run/stream" in paths():
            st, _, _ = sse_events(f"/agents/run/stream?input=hi&{n}={quote(v)}", {}, 4)
            if st == 200:
                bad.append(f"SSE ?{n}= -> 200")
    need(not bad, "long-lived credentials accepted in the query string (they end up in logs and history): " + "; ".join(bad))


def c_hsts() -> None:
    if not PRODUCTION:
        raise Skip("PRODUCTION not set")
    r = client.get("/health", headers={"X-Forwarded-Proto": "https"})
    need("strict-transport-security" in r.headers, "no Strict-Transport-Security behind https (X-Forwarded-Proto: https)")


def c_no_server_header() -> None:
    if not PRODUCTION:
        raise Skip("PRODUCTION not set")
    r = client.get("/health")
    need("server" not in r.headers, f"Server: {r.headers.get('server')}")


def c_docs_off() -> None:
    if not PRODUCTION:
        raise Skip("PRODUCTION not set")
    bad = [p for p in ("/docs", "/redoc", "/openapi.json") if client.get(p).status_code == 200]
    need(not bad, f"served in production: {bad}")


def c_cors_allowed() -> None:
    r = client.options(probe_path(), headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "GET",
                                             "Access-Control-Request-Headers": "authorization,x-api-key"})
    need(r.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN, f"preflight from {ALLOWED_ORIGIN}: {r.status_code} {dict(r.headers)}")
    r = client.get(probe_path(), headers=H("a", Origin=ALLOWED_ORIGIN))
    need(r.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN, "actual request from allowed origin lacks ACAO")


def c_cors_disallowed() -> None:
    evil = "https://evil.example"
    r = client.options(probe_path(), headers={"Origin": evil, "Access-Control-Request-Method": "GET"})
    need("access-control-allow-origin" not in r.headers, f"preflight from {evil} allowed: {r.headers.get('access-control-allow-origin')}")
    r = client.get(probe_path(), headers=H("a", Origin=evil))
    acao = r.headers.get("access-control-allow-origin")
    need(acao is None, f"request from {evil} gets ACAO {acao}")
    r = client.get(probe_path(), headers=H("a", Origin="null"))
    need(r.headers.get("access-control-allow-origin") is None, "Origin: null allowed")


# --------------------------------------------------------------------------------------------------
# cases: browser tickets
# --------------------------------------------------------------------------------------------------
REFUSED = (401, 403, 429)  # a 429 from the failed-auth limit is a refusal too


def ticket_endpoint() -> tuple[str, dict[str, Any]]:
    if E("TICKET_PATH"):
        try:
            return E("TICKET_PATH", ""), openapi().get("paths", {}).get(E("TICKET_PATH"), {}).get("post", {})
        except Skip:
            return E("TICKET_PATH", ""), {}
    for p, m, op in ops():
        if m == "post" and "ticket" in p.lower():
            return p, op
    raise Skip("no ticket endpoint in openapi.json (browsers cannot authenticate EventSource/WebSocket)")


def get_ticket(user: str, target: str) -> tuple[str, int | None]:
    p, op = ticket_endpoint()
    try:
        comps = openapi().get("components", {}).get("schemas", {})
    except Skip:
        comps = {}
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    body: dict[str, Any] | None = None
    if schema:
        if "$ref" in schema:
            schema = comps.get(schema["$ref"].split("/")[-1], {})
        body = {}
        for k, v in schema.get("properties", {}).items():
            if any(w in k.lower() for w in ("path", "audience", "aud", "target", "url", "resource", "endpoint")):
                enum = v.get("enum") or ([] if "$ref" not in v else comps.get(v["$ref"].split("/")[-1], {}).get("enum", []))
                body[k] = next((e for e in enum if target in str(e) or str(e) in target), enum[0] if enum else target)
    r = client.post(p, json=body, headers=H(user)) if body is not None else client.post(p, headers=H(user))
    need(r.status_code in (200, 201), f"POST {p}: {short(r)}")
    data = r.json()
    tok = data.get("ticket") or next((v for k, v in data.items() if "ticket" in k and isinstance(v, str)), None)
    need(bool(tok), f"no ticket in {data}")
    SECRETS[f"ticket#{len(SECRETS)}"] = tok
    ttl = data.get("expires_in")
    return tok, int(ttl) if isinstance(ttl, (int, float)) else None


def c_ticket_requires_auth() -> None:
    p, _ = ticket_endpoint()
    r = client.post(p, json={})
    need(r.status_code == 401, f"anonymous POST {p}: {short(r)}")


def c_ticket_sse() -> None:
    ticket_endpoint()
    job = a_job()
    t, _ = get_ticket("a", "/agents/run/stream")
    st, ev, raw = sse_events(f"/agents/run/stream?job_id={job}&ticket={t}", {}, 8)
    need(st == 200 and ev, f"SSE with ticket: {st} {raw}")
    st, ev, raw = sse_events(f"/agents/run/stream?job_id={job}&ticket={t}", {}, 8)
    need(st in REFUSED, f"ticket reused on SSE: {st}")


def c_ticket_ws() -> None:
    need_agents()
    t, _ = get_ticket("a", "/agents/ws")
    with ws_open({}, f"?ticket={t}") as ws:
        ws.send(json.dumps({"type": "ping"}))
        m = ws_recv_json(ws, 5)
        need(m is not None and m.get("type") != "error", f"WebSocket with ticket: {m}")
    need(ws_refused({}, f"?ticket={t}") is None, "ticket reused on WebSocket was accepted")


def c_ticket_wrong_path() -> None:
    need_agents()
    t, _ = get_ticket("a", "/agents/ws")
    job = a_job()
    st, _, _ = sse_events(f"/agents/run/stream?job_id={job}&ticket={t}", {}, 5)
    need(st in REFUSED, f"a WebSocket ticket opened SSE: {st}")
    t2, _ = get_ticket("a", "/agents/run/stream")
    r = client.get(f"/agents/jobs?ticket={t2}")
    need(r.status_code in REFUSED, f"a ticket authenticates a plain route: {r.status_code}")
    r = client.get(f"/agents/jobs/{job}", params={"ticket": t2})
    need(r.status_code in REFUSED, f"a ticket authenticates GET /agents/jobs/{{id}}: {r.status_code}")


def c_ticket_other_user() -> None:
    ticket_endpoint()
    job = a_job()
    t, _ = get_ticket("b", "/agents/run/stream")
    st, _, _ = sse_events(f"/agents/run/stream?job_id={job}&ticket={t}", {}, 5)
    need(st == 404, f"B's ticket follows A's job: {st}")


def c_ticket_expired() -> None:
    need_agents()
    t, ttl = get_ticket("a", "/agents/ws")
    wait = (ttl or TICKET_TTL) + 2
    if wait > 200:
        raise Skip(f"ticket lives {wait}s; too long to wait")
    time.sleep(wait)
    need(ws_refused({}, f"?ticket={t}") is None, f"ticket accepted {wait}s after issue")


def c_ticket_garbage() -> None:
    need_agents()
    ticket_endpoint()
    st, _, _ = sse_events("/agents/run/stream?input=hi&ticket=" + "A" * 43, {}, 5)
    need(st in REFUSED, f"made-up ticket on SSE: {st}")


# --------------------------------------------------------------------------------------------------
# cases: logs
# --------------------------------------------------------------------------------------------------
def c_stream_query_not_logged() -> None:
    need_agents()
    marker = f"qmark{uuid.uuid4().hex}"
    sse_events(f"/agents/run/stream?input=hello&secret_hint={marker}&access_token={marker}", H("a"), 5)
    STATE["qmarker"] = marker
    time.sleep(1)
    if not LOG_FILE:
        raise Skip("LOG_FILE not set")
    need(marker not in open(LOG_FILE, encoding="utf-8", errors="replace").read(), "stream URL query string logged in clear")


def c_log_leaks() -> None:
    if not LOG_FILE or not os.path.exists(LOG_FILE):
        raise Skip("LOG_FILE not set or missing")
    # error paths that tend to log: 422 with credentials, 401, 404, WebSocket error; a cookie, and
    # body fields named like password/token/secret, must be redacted too
    cookie, field = f"cookie-secret-{uuid.uuid4().hex}", f"field-secret-{uuid.uuid4().hex}"
    SECRETS["Cookie value"], SECRETS["password/token/secret field"] = cookie, field
    ck = {"Cookie": f"session={cookie}"}
    client.post(post_path(), content=b"{not json", headers=H("a", **{"Content-Type": "application/json"}, **ck))
    client.post(post_path(), json={"input": 5, "message": 5, "password": field, "token": field, "client_secret": field},
                headers=H("a", **ck))
    client.get(probe_path(), headers=ck)
    client.get(f"/no-such-{RUN}", headers=H("a", **ck))
    if "/auth/token" in paths():
        client.post("/auth/token", data={"username": f"nobody-{RUN}", "password": field}, headers=ck)
    try:
        with ws_open(H("a")) as ws:
            ws.send("not json at all")
            ws_recv_json(ws, 2)
    except Exception:
        pass
    time.sleep(1.5)
    text = open(LOG_FILE, encoding="utf-8", errors="replace").read()
    hits = []
    for label, secret in SECRETS.items():
        if not secret or len(secret) < 8:
            continue
        parts = [secret]
        if secret.count(".") == 2:  # also the signature of a JWT alone
            sig = secret.rsplit(".", 1)[1]
            if len(sig) >= 16:
                parts.append(sig)
        for s in parts:
            if s in text:
                hits.append(f"{label} ({'signature' if s != secret else 'full'}, {text.count(s)}x)")
                break
    need(not hits, f"{len(hits)} of {len(SECRETS)} credentials in {LOG_FILE}: {', '.join(hits[:8])}")


# --------------------------------------------------------------------------------------------------
def main() -> None:
    print(f"# {BASE} auth={KIND} production={PRODUCTION} run={RUN}", flush=True)
    case("openapi: security schemes declared", c_security_schemes)
    case("openapi: every protected operation declares security", c_operation_security)
    case("openapi: public routes are public", c_public_routes_public)
    case("openapi: readable operation ids", c_operation_ids)
    case("docs: assets served offline", c_docs_offline)

    case("ownership: owner reads own job", c_owner_sees_own)
    case("ownership: list hides other's jobs", c_other_list)
    case("ownership: GET other's job is 404", c_other_get)
    case("ownership: GET other's run record is 404", c_other_get_run)
    case("ownership: SSE ?job_id= of other's job is 404", c_other_sse_follow)
    case("ownership: SSE Last-Event-ID resume of other's job is 404", c_other_sse_resume)
    case("ownership: DELETE other's job is 404", c_other_cancel)
    case("ownership: WebSocket follow/cancel of other's job refused", c_other_ws_followups)
    case("admin: admin scope sees every job", c_admin_sees_all)
    case("admin: near-miss scopes are not admin", c_scope_not_admin)
    case("ownership: items of another caller are 404", c_items_ownership)
    case("events: endpoints not open", c_events_endpoints)
    case("events: a caller sees only what the caller may see", c_events_visibility)
    case("users: deactivated user's token stops at once", c_deactivated_user)

    case("token: expired refused", bad_token_case(lambda: tc().token(f"alice-{RUN}", ttl=-(LEEWAY + 120)), "expired"))
    case("token: forged signature refused", bad_token_case(forged, "forged"))
    case("token: alg none refused", bad_token_case(alg_none, "alg none"))
    case("token: HS256 with the public key refused", bad_token_case(hs_confusion, "alg confusion"))
    case("token: wrong audience refused", bad_token_case(lambda: tc().token(f"alice-{RUN}", aud="some-other-api"), "wrong aud"))
    case("token: missing audience refused", bad_token_case(lambda: tc().token(f"alice-{RUN}", aud=None), "no aud"))
    case("token: wrong issuer refused", bad_token_case(lambda: tc().token(f"alice-{RUN}", iss="https://evil.example"), "wrong iss"))
    case("token: no exp refused", bad_token_case(lambda: tc().token(f"alice-{RUN}", exp=None), "no exp"))
    case("token: not yet valid refused", bad_token_case(lambda: tc().token(f"alice-{RUN}", nbf=int(time.time()) + LEEWAY + 600), "nbf future"))
    case("token: empty subject refused", bad_token_case(lambda: tc().token(""), "empty sub"))
    case("token: whitespace subject refused", bad_token_case(lambda: tc().token("   "), "blank sub"))
    case("token: missing subject refused", bad_token_case(lambda: tc().token(None), "no sub"))
    case("token: NUL in subject refused", bad_token_case(lambda: tc().token("ali\x00ce"), "NUL sub"))
    case("token: non-string subject refused", bad_token_case(lambda: tc().token(12345), "int sub"))  # type: ignore[arg-type]
    case("apikey: wrong/partial keys refused", c_apikey_bad)

    case("limits: body over limit is 413", c_body_limit)
    case("limits: header over limit is 431", c_header_limit)
    case("limits: credential over limit is 431", c_token_limit)
    case("input: NUL in agent input is 422 everywhere", c_nul_agent_inputs)
    case("input: NUL in every JSON body is 422", c_nul_every_body)
    case("input: timeout_seconds above max is 422", c_timeout_max)
    case("input: malformed ids/cursors/Last-Event-ID never 5xx", c_no_500_malformed)

    case("headers: security headers on 200/401/404/422", c_security_headers)
    case("headers: HSTS behind https (production)", c_hsts)
    case("headers: no Server header (production)", c_no_server_header)
    case("docs: off in production", c_docs_off)
    case("cors: allowed origin allowed", c_cors_allowed)
    case("cors: other origin refused", c_cors_disallowed)

    case("ticket: endpoint requires authentication", c_ticket_requires_auth)
    case("ticket: SSE accepts ?ticket= once", c_ticket_sse)
    case("ticket: WebSocket accepts ?ticket= once", c_ticket_ws)
    case("ticket: bound to its path", c_ticket_wrong_path)
    case("ticket: does not lift ownership", c_ticket_other_user)
    case("ticket: made-up ticket refused", c_ticket_garbage)
    case("ticket: expired ticket refused", c_ticket_expired)

    case("websocket: closed with a clear code when the token expires", c_ws_token_expiry)
    case("websocket: every message counts against the rate limit", c_ws_rate_limit)
    case("auth: long-lived credentials refused in the query string", c_query_credentials)
    case("limits: HTTP requests of one caller meet 429", c_http_rate_limit)
    case("auth: failed attempts meet 429", c_failed_auth_429)
    case("auth: failed logins meet 429", c_failed_login_429)

    case("logs: stream query strings not logged in clear", c_stream_query_not_logged)
    case("logs: no credential in the server log", c_log_leaks)
    case("headers: security headers and error shape on every 5xx seen", c_security_headers_500)

    r = RESULTS
    print(f"tried={r['tried']} held={r['held']} broken={r['broken']} skipped={r['skipped']}", flush=True)
    sys.exit(1 if r["broken"] else 0)


if __name__ == "__main__":
    main()
