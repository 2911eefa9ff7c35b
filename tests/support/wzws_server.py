"""A loopback site behind a simulated WZWS gateway, as www.pbc.gov.cn behaves to a new client.

    first request            -> 200 challenge page (packed or plain form) + Set-Cookie session
    GET /WZWSRE<b64>?wzwschallenge=<answer> with the session cookie and a Referer
                             -> Set-Cookie wzws_cid + 302 to the original page
    (wzwsmethod=post: POST the original form there -> the page itself, as a proxy would)
    later requests with wzws_cid -> the real page, until the clearance expires (time or count)
    a wrong answer, no Referer, no session -> the challenge again (200), never a redirect

The server computes the expected answer itself (not with pipeline.fetch.wzws), so a wrong
client computation fails here. ``js_solver`` adds the page script a browser runs; ``zw_verify``
serves the newer ``wzws-waf-cgi`` variant whose JavaScript posts an answer to
``/waf_zw_verify`` (only a browser passes it). ``variant`` serves a fixed page to everything.
"""

from __future__ import annotations

import base64
import random
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qsl

# Question characters: punctuation like the real ``lO;D=#My]gEXCm_np2dT``, minus what would end
# a JavaScript string or split the packer's word list.
_ALPHABET = string.ascii_letters + string.digits + "();=#]{[_-.,:!@$%^&*~?/"
CID = "wzws_cid"
SID = "wzws_sid"  # the zw_verify variant's clearance


def expected_answer(question: str, factor: int, salt: int = 0) -> str:
    n = sum(ord(ch) for ch in question) * factor + 111111 + salt
    return base64.b64encode(f"WZWS_CONFIRM_PREFIX_LABEL{n}".encode()).decode()


def zw_answer(question: str, factor: int) -> str:
    """The newer variant's formula (public clients): e=2*(e+code), a=2*(a+i+1)."""
    e, a = 0, 1
    for i, ch in enumerate(question):
        e = 2 * (e + ord(ch))
        a = 2 * (a + i + 1)
    return f"WZWS_CONFIRM_PREFIX_LABEL{e * factor + a}"


def _js(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def packed_script(values: list[tuple[str, str]]) -> str:
    """The real PBOC layout: radix 11, word 0 ``var``, then names and values alternating."""
    if len(values) != 5:
        raise ValueError("the PBOC layout packs exactly five variables")
    words = ["var"]
    for name, value in values:
        words += [name, value]
    tokens = "0123456789a"  # radix 11: word i is written as i in base 11
    p = "".join(f'0 {tokens[2 * j + 1]}="{tokens[2 * j + 2]}";' for j in range(len(values)))
    return (
        "eval(function(p,a,c,k,e,r){e=function(c){return c.toString(a)};if(!''.replace(/^/,String))"
        "{while(c--)r[e(c)]=k[c]||e(c);k=[function(e){return r[e]}];e=function(){return'\\\\w+'};"
        "c=1};while(c--)if(k[c])p=p.replace(new RegExp('\\\\b'+e(c)+'\\\\b','g'),k[c]);return p}"
        f"('{p}',11,11,'{_js('|'.join(words))}'.split('|'),0,{{}}))"
    )


_SOLVER_JS = """(function(){var s=0;
for(var i=0;i<wzwsquestion.length;i++){s+=wzwsquestion.charCodeAt(i);}
var n=s*parseInt(wzwsfactor,10)+111111;
var u=dynamicurl+"?wzwschallenge="+btoa("WZWS_CONFIRM_PREFIX_LABEL"+n);
if(wzwsmethod=="post"){var f=document.createElement("form");f.method="post";f.action=u;
var ps=wzwsparams.split("&");for(var j=0;j<ps.length;j++){var kv=ps[j].split("=");
var x=document.createElement("input");x.type="hidden";x.name=kv[0];x.value=kv.slice(1).join("=");
f.appendChild(x);}document.body.appendChild(f);f.submit();}else{window.location=u;}})();"""

_ZW_JS = """(function(){var e=0,a=1;for(var i=0;i<wzwsquestion.length;i++){
e=2*(e+wzwsquestion.charCodeAt(i));a=2*(a+i+1);}
var r=new XMLHttpRequest();r.open("POST",dynamicapi,true);
r.setRequestHeader("Content-Type","text/plain");
r.onload=function(){if(r.responseText=="ok"){location.reload();}};
r.send("WZWS_CONFIRM_PREFIX_LABEL"+(e*parseInt(wzwsfactor,10)+a));})();"""
_SHUFFLED = "QWERTYUIOPASDFGHJKLZXCVBNMqwertyuiopasdfghjklzxcvbnm0987654321-_"


@dataclass
class Pending:
    question: str
    factor: int
    target: str  # original path and query
    method: str
    params: str


@dataclass
class Clearance:
    granted: float
    uses: int = 0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WzwsSite:
    """``pages`` maps a path (with its query, or without as a fallback) to the real page."""

    pages: dict[str, bytes]
    form: Literal["packed", "plain"] = "packed"
    session_cookie: str = "wzws_sessionid"
    clearance_seconds: float = 3600.0
    clearance_requests: int | None = None
    honour_clearance: bool = True  # False: a server that keeps challenging
    answer_salt: int = 0  # not 0: the gateway expects another answer (a changed algorithm)
    delay: float = 0.0  # seconds each request takes, so that overlapping requests show
    inflight: int = 0
    max_inflight: int = 0
    js_solver: bool = False
    zw_verify: bool = False
    variant: tuple[int, bytes, dict[str, str]] | None = None
    clock: Callable[[], float] = time.monotonic
    seed: int = 14
    requests: list[Seen] = field(default_factory=list)
    challenges: int = 0
    confirms_ok: int = 0
    confirms_bad: int = 0
    pending: dict[str, Pending] = field(default_factory=dict)
    clearances: dict[str, Clearance] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._gauge = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle -----------------------------------------------------------------------------
    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def __enter__(self) -> WzwsSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def confirm_requests(self) -> list[Seen]:
        return [r for r in self.requests if r.path.startswith(("/WZWSRE", "/waf_zw_verify"))]

    # -- pages ---------------------------------------------------------------------------------
    def _page(self, target: str) -> bytes | None:
        return self.pages.get(target) or self.pages.get(target.split("?", 1)[0])

    def _challenge(self, target: str, method: str, params: str) -> tuple[bytes, str]:
        question = "".join(self._rng.choice(_ALPHABET) for _ in range(self._rng.randint(15, 22)))
        factor = self._rng.randint(1000, 9999)
        sid = secrets.token_hex(16)
        self.pending[sid] = Pending(question, factor, target, method, params)
        self.challenges += 1
        dyn = "/WZWSRE" + base64.b64encode(target.encode()).decode()
        if self.zw_verify:
            script = (
                f"<script>var wzwsquestion='{_js(question)}';var wzwsfactor='{factor}';"
                f"var base64_chars='{_SHUFFLED}';"
                f"var dynamicapi='/waf_zw_verify';</script><script>{_ZW_JS}</script>"
                '<script src="/wzws-waf-cgi/wzws_js.js"></script>'
            )
            noscript = "Please enable JavaScript and refresh the page."
        else:
            values = [
                ("dynamicurl", dyn),
                ("wzwsquestion", question),
                ("wzwsfactor", str(factor)),
                ("wzwsmethod", "post" if method == "POST" else "WZWS_METHOD"),
                ("wzwsparams", params if method == "POST" else "WZWS_PARAMS"),
            ]
            if self.form == "packed":
                code = packed_script(values)
            else:
                code = "".join(f'var {name}="{_js(value)}";' for name, value in values)
            script = f'<script type="text/javascript">{code}</script>'
            if self.js_solver:
                script += f'<script type="text/javascript">{_SOLVER_JS}</script>'
            noscript = "请开启JavaScript并刷新该页."
        page = (
            '<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; '
            f'charset=utf-8"/></head><body><noscript>{noscript}</noscript>{script}</body></html>'
        )
        return page.encode("utf-8"), sid

    def _valid(self, cid: str | None) -> bool:
        clearance = self.clearances.get(cid or "")
        if clearance is None or not self.honour_clearance:
            return False
        fresh = self.clock() - clearance.granted < self.clearance_seconds
        if fresh and (self.clearance_requests is None or clearance.uses < self.clearance_requests):
            clearance.uses += 1
            return True
        del self.clearances[cid or ""]
        return False

    def _grant(self) -> str:
        cid = secrets.token_hex(48)  # real wzws_cid values are 96-128 hex digits
        self.clearances[cid] = Clearance(self.clock())
        return cid

    # -- dispatch ------------------------------------------------------------------------------
    def handle(self, req: Seen) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for one request; runs under the site's lock."""
        if self.variant is not None:
            status, body, headers = self.variant
            return status, dict(headers), body
        cookies = {k: m.value for k, m in SimpleCookie(req.headers.get("Cookie", "")).items()}
        path = req.path
        # The gateway's own script and the icon are not challenged: a browser fetches them
        # beside the challenge page, and a second session cookie would replace the one the
        # page's script is answering for.
        if path.startswith("/wzws-waf-cgi/"):
            return 200, {"Content-Type": "application/javascript"}, b"/* wzws */"
        if path == "/favicon.ico":
            return 404, {"Content-Type": "text/plain"}, b"no icon"
        if path.startswith("/WZWSRE"):
            return self._confirm(req, cookies)
        if path == "/waf_zw_verify" and req.method == "POST":
            return self._zw_confirm(req, cookies)
        if self._valid(cookies.get(SID if self.zw_verify else CID)):
            page = self._page(path)
            if page is None:
                return 404, {"Content-Type": "text/html"}, b"<html><body>404</body></html>"
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page
        params = req.body.decode("utf-8") if req.method == "POST" else ""
        return self._serve_challenge(path, req.method, params)

    def _serve_challenge(
        self, target: str, method: str, params: str
    ) -> tuple[int, dict[str, str], bytes]:
        body, sid = self._challenge(target, method, params)
        headers = {
            "Content-Type": "text/html",
            "Set-Cookie": f"{self.session_cookie}={sid}; path=/",
        }
        return 200, headers, body

    def _confirm(self, req: Seen, cookies: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        dyn, _, query = req.path.partition("?")
        raw = query[len("wzwschallenge=") :] if query.startswith("wzwschallenge=") else None
        sid = cookies.get(self.session_cookie, "")
        pending = self.pending.get(sid)
        ok = (
            pending is not None
            and raw == expected_answer(pending.question, pending.factor, self.answer_salt)
            and bool(req.headers.get("Referer"))
            and dyn == "/WZWSRE" + base64.b64encode(pending.target.encode()).decode()
            and req.method == pending.method
            and (req.method != "POST" or parse_qsl(req.body.decode()) == parse_qsl(pending.params))
        )
        if not ok or pending is None:
            self.confirms_bad += 1
            target = pending.target if pending else "/"
            self.pending.pop(sid, None)
            return self._serve_challenge(target, pending.method if pending else "GET", "")
        self.confirms_ok += 1
        del self.pending[sid]
        cookie = f"{CID}={self._grant()}; path=/"
        if req.method == "POST":  # the gateway forwards the original form to the origin
            page = self._page(pending.target) or b""
            return 200, {"Content-Type": "text/html; charset=utf-8", "Set-Cookie": cookie}, page
        return 302, {"Location": pending.target, "Set-Cookie": cookie}, b""

    def _zw_confirm(self, req: Seen, cookies: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        pending = self.pending.pop(cookies.get(self.session_cookie, ""), None)
        if pending is None or req.body.decode() != zw_answer(pending.question, pending.factor):
            self.confirms_bad += 1
            return 200, {"Content-Type": "text/plain"}, b"fail"
        self.confirms_ok += 1
        return (
            200,
            {"Content-Type": "text/plain", "Set-Cookie": f"{SID}={self._grant()}; path=/"},
            b"ok",
        )


def _handler_for(site: WzwsSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            req = Seen(
                self.command,
                self.path,
                dict(self.headers.items()),
                self.rfile.read(length) if length else b"",
            )
            with site._gauge:
                site.inflight += 1
                site.max_inflight = max(site.max_inflight, site.inflight)
            try:
                if site.delay:
                    time.sleep(site.delay)
                with site._lock:
                    site.requests.append(req)
                    status, headers, body = site.handle(req)
            finally:
                with site._gauge:
                    site.inflight -= 1
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                return

        do_GET = _serve
        do_POST = _serve

    return Handler
