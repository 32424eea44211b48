"""Every bad HTTP input of issue 9 gets a 4xx with the one error body and loses nothing.

One row per case: the request, the status, words the ``error`` must contain (the
parameter, key or value) and words the ``fix`` must contain. Every answer is exactly
``{"error", "fix", "type"}`` (never FastAPI's ``{"detail"}``, never a 500), and the
project's bytes are unchanged after each refused request (sha256), the writing ones
(``"save": true``, ``/grids/save``) included. Body limits are checked by
``Content-Length`` and while a body without one streams in, with the server's memory
measured.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from beatgrid.api.service import body_limits, create_app

SAMPLE = Path(__file__).resolve().parents[2] / "sample-geodata" / "ningbo-jiangbei.gpkg"
JSON = {"content-type": "application/json"}
TOML = {"content-type": "application/toml"}
DEEP_LIST = b"[" * 5000 + b"]" * 5000                      # 10 KB, 5,000 levels
DEEP_OBJECT = b'{"a":' * 5000 + b"1" + b"}" * 5000          # 30 KB, 5,000 levels
BIG = "9" * 400                                             # a 400-digit number
HUGE = "9" * 5000                                           # over Python's 4,300 digits
POSTS = ["/grids/generate", "/grids/move", "/grids/rebalance", "/grids/save",
         "/cameras/recommend", "/staffing"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("errors") / "p.gpkg"
    shutil.copy(SAMPLE, path)
    return path


@pytest.fixture(scope="module")
def client(project) -> TestClient:
    return TestClient(create_app(project), raise_server_exceptions=False)


# id, method, url, request kwargs, status, words of the error, words of the fix
CASES = [
    # deeply nested JSON on every POST (was a RecursionError / FastAPI's 400 {"detail"})
    *[(f"nested JSON list {url}", "POST", url, {"content": DEEP_LIST, "headers": JSON}, 422,
       ["nested too deeply" if url != "/staffing" else "nested more than 16 deep"],
       ["flat JSON object" if url != "/staffing" else "at most a few tables deep"]) for url in POSTS],
    ("nested JSON sent as text/plain (what a form of another site sends)", "POST",
     "/grids/save", {"content": DEEP_LIST, "headers": {"content-type": "text/plain"}}, 415,
     ["text/plain body is refused"], ["Content-Type: application/json"]),
    ("JSON keys nested 5,000 deep", "POST", "/staffing", {"content": DEEP_OBJECT,
                                                          "headers": JSON}, 422,
     ["nested more than 16 deep"], ["at most a few tables deep"]),
    ("JSON dotted key 5,000 deep", "POST", "/staffing",
     {"content": b'{"' + b"a." * 5000 + b'b": 1}', "headers": JSON}, 422,
     ["nested more than 16 deep"], ["at most a few tables deep"]),
    ("TOML arrays nested 5,000 deep", "POST", "/staffing",
     {"content": b"x = " + DEEP_LIST, "headers": TOML}, 422,
     ["nested more than 16 deep"], ["at most a few tables deep"]),
    ("TOML inline tables nested 2,000 deep", "POST", "/staffing",
     {"content": b"x = " + b"{a = " * 2000 + b"1" + b"}" * 2000, "headers": TOML}, 422,
     ["nested more than 16 deep"], ["at most a few tables deep"]),
    ("TOML dotted key 5,000 deep", "POST", "/staffing",
     {"content": b"a." * 5000 + b"b = 1\n", "headers": TOML}, 422,
     ["nested more than 16 deep"], ["at most a few tables deep"]),
    # a 400-digit number in a policy (was OverflowError), and one past Python's limit
    ("400-digit number in a TOML policy", "POST", "/staffing",
     {"content": f"[officers]\nper_beat = {BIG}\n".encode(), "headers": TOML}, 422,
     ["'officers.per_beat'", "too large (at most 2**53 in size)"], ["sensible size"]),
    ("400-digit number in a JSON policy", "POST", "/staffing",
     {"content": f'{{"officers.per_beat": {BIG}}}'.encode(), "headers": JSON}, 422,
     ["'officers.per_beat'", "too large (at most 2**53 in size)"], ["sensible size"]),
    ("5,000-digit number in a TOML policy", "POST", "/staffing",
     {"content": f"[officers]\nper_beat = {HUGE}\n".encode(), "headers": TOML}, 422,
     ["more than 4,300 digits"], ["count or threshold"]),
    ("5,000-digit number in a grids body", "POST", "/grids/generate",
     {"content": f'{{"seed": {HUGE}}}'.encode(), "headers": JSON}, 422,
     ["POST /grids/generate", "more than 4,300 digits"], ["ordinary numbers"]),
    ("400-digit seed", "POST", "/grids/generate",
     {"content": f'{{"seed": {BIG}}}'.encode(), "headers": JSON}, 422,
     ["seed", "(400 characters)"], ["give seed from 0 to 4294967295"]),
    ("binary policy", "POST", "/staffing", {"content": bytes(range(256)), "headers": TOML},
     422, ["not UTF-8"], ["UTF-8"]),
    ("binary grids body", "POST", "/grids/generate",
     {"content": bytes(range(128, 256)), "headers": JSON}, 422, ["not UTF-8"], ["UTF-8"]),
    ("untyped binary grids body", "POST", "/grids/generate",
     {"content": bytes(range(128, 256))}, 415, ["untyped body is refused"],
     ["application/json"]),
    # bbox (was a 500 from the GeoPackage's spatial filter)
    *[(f"bbox {box}", "GET", "/layers/buildings", {"params": {"bbox": box}}, 422,
       ["bbox", repr(bad)], ["four comma-separated numbers"])
      for box, bad in [("nan,29.9,121.6,30.0", "nan"), ("nan,nan,nan,nan", "nan"),
                       ("121.5,inf,121.6,30.0", "inf"), ("-inf,-inf,inf,inf", "-inf"),
                       ("121.5,29.9,121.6,Infinity", "Infinity")]],
    ("bbox longitude 1000", "GET", "/layers/buildings", {"params": {"bbox": "0,0,1000,1"}},
     422, ["bbox", "longitude 1000"], ["-180 to 180"]),
    ("bbox on the table staff", "GET", "/layers/staff", {"params": {"bbox": "1,2,3,4"}}, 422,
     ["'staff'", "without geometry", "bbox='1,2,3,4'"], ["leave bbox out"]),
    # seed -1 (rebalance and generate)
    ("rebalance seed -1", "POST", "/grids/rebalance",
     {"json": {"community_id": "C01", "seed": -1}}, 422,
     ["POST /grids/rebalance", "seed", "-1"], ["give seed from 0 to 4294967295"]),
    ("generate seed -1 with save", "POST", "/grids/generate",
     {"json": {"community_id": "C01", "seed": -1, "save": True}}, 422,
     ["seed", "-1"], ["give seed from 0"]),
    # one error format: Starlette's own refusals and typed query parameters
    ("unknown path", "GET", "/nosuch", {}, 404, ["no endpoint GET /nosuch"], ["/openapi.json"]),
    ("wrong method", "POST", "/layers", {}, 405, ["POST /layers", "answers GET"],
     ["use GET /layers"]),
    ("wrong method on a POST route", "GET", "/grids/save", {}, 405, ["GET /grids/save"],
     ["use POST /grids/save"]),
    ("limit not a number", "GET", "/layers/cameras", {"params": {"limit": "x"}}, 422,
     ["limit='x'", "whole number"], ["from 1 to 1,000,000"]),
    ("limit 0", "GET", "/layers/cameras", {"params": {"limit": 0}}, 422,
     ["limit='0'"], ["from 1 to 1,000,000"]),
    ("top not a number", "GET", "/coverage/estate_risk", {"params": {"top": "x"}}, 422,
     ["top='x'"], ["whole number from 1 to 1,000,000"]),
    ("top -1", "GET", "/coverage/estate_risk", {"params": {"top": -1}}, 422,
     ["top='-1'"], ["whole number from 1"]),
    ("zone type", "GET", "/coverage/stats", {"params": {"zone_type": "city"}}, 422,
     ["zone_type='city'", "not allowed"], ["estate, grid, beat, station, community"]),
    ("zones", "GET", "/hotspots", {"params": {"zones": "districts"}}, 422,
     ["zones='districts'"], ["auto, grids, beats"]),
    ("permutations -1", "GET", "/hotspots", {"params": {"permutations": -1}}, 422,
     ["permutations='-1'"], ["from 0 to 9999"]),
    ("permutations 1e1", "GET", "/hotspots", {"params": {"permutations": "1e1"}}, 422,
     ["permutations='1e1'"], ["whole number"]),
    ("preventable", "GET", "/hotspots", {"params": {"preventable": "maybe"}}, 422,
     ["preventable='maybe'", "true or false"], ["preventable=true"]),
    ("min_share nan", "GET", "/alignment", {"params": {"min_share": "nan"}}, 422,
     ["min_share='nan'"], ["greater than 0 and at most 1"]),
    ("min_share 2", "GET", "/alignment", {"params": {"min_share": 2}}, 422,
     ["min_share='2'"], ["greater than 0 and at most 1"]),
    ("method not text", "POST", "/cameras/recommend",
     {"json": {"budget": 2, "estate": "E40", "method": {}}}, 422,
     ["method={}"], ['"greedy"']),
    # body limits by Content-Length (the streamed case is tested below)
    *[(f"body over the limit {url}", "POST", url,
       {"content": b" " * (body_limits()[url].max_bytes + 1), "headers": JSON}, 413,
       [f"POST {url}", f"{body_limits()[url].max_bytes + 1:,} bytes"],
       [f"at most {body_limits()[url].max_bytes:,} bytes"]) for url in POSTS],
    ("body on a GET over the default limit", "GET", "/layers",
     {"content": b" " * (64 * 1024 + 1)}, 413, ["GET /layers"], ["at most 65,536 bytes"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_4xx_error_body_and_loses_nothing(client, project, case):
    _, method, url, kwargs, status, error_words, fix_words = case
    before = sha256(project)
    r = client.request(method, url, **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "fix", "type"}, body
    for word in error_words:
        assert word in body["error"], (word, body)
    for word in fix_words:
        assert word in (body["fix"] or ""), (word, body)
    assert sha256(project) == before


def test_wrong_method_says_which_are_allowed(client):
    r = client.delete("/grids")
    assert r.status_code == 405 and r.headers["allow"] == "GET"


def test_openapi_documents_the_error_body_and_typed_parameters(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ErrorBody" in schemas
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op["responses"]["422" if path != "/health" else "503"]["content"][
                "application/json"]["schema"] == ref, (method, path)
            if method == "post":
                assert "413" in op["responses"], path
    assert "409" in spec["paths"]["/grids/move"]["post"]["responses"]
    params = {p["name"]: p["schema"] for p in spec["paths"]["/hotspots"]["get"]["parameters"]}
    assert params["zones"]["anyOf"][0]["enum"] == ["auto", "grids", "beats"]
    assert params["permutations"]["anyOf"][0] == {"type": "integer", "minimum": 0,
                                                  "maximum": 9999}
    assert params["preventable"]["anyOf"][0] == {"type": "boolean"}
    risk = spec["paths"]["/coverage/estate_risk"]["get"]["parameters"][0]["schema"]
    assert risk["anyOf"][0]["type"] == "integer"


def test_empty_typed_parameter_means_not_given(client):
    assert client.get("/hotspots", params={"zones": "", "permutations": "",
                                           "preventable": ""}).status_code == 200


# --------------------------------------------------------------------------------------
# Body limits while streaming: the server reads no more than the limit plus one chunk
# --------------------------------------------------------------------------------------

CHUNK = 64 * 1024
UPLOAD = 200 * 1024 * 1024          # what the client would send: 200 MB


def _stream(app, path: str, *, total: int = UPLOAD) -> tuple[int, bytes, int, int]:
    """POST ``total`` bytes to ``path`` in chunks without Content-Length, directly on the
    ASGI app; answers (status, body, bytes the app pulled, traced peak memory)."""
    pulled = 0
    out: dict[str, object] = {"body": b""}

    async def receive() -> dict:
        nonlocal pulled
        if pulled >= total:
            return {"type": "http.disconnect"}
        chunk = bytes(CHUNK)            # a new buffer per message, as a server gives
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": pulled < total}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] = out["body"] + message.get("body", b"")  # type: ignore[operator]

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "server": ("testserver", 80),
             "client": ("127.0.0.1", 1), "headers": [(b"host", b"testserver"),
                                                     (b"content-type", b"application/json"),
                                                     (b"transfer-encoding", b"chunked")]}
    tracemalloc.start()
    try:
        asyncio.run(app(scope, receive, send))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return int(out["status"]), out["body"], pulled, peak  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize("path", POSTS)
def test_streamed_body_over_the_limit_stops_early_with_413(project, path):
    app = create_app(project)
    limit = body_limits()[path].max_bytes
    before = sha256(project)
    status, body, pulled, peak = _stream(app, path)
    assert status == 413 and b'"type":"InputError"' in body
    assert f"more than {limit:,} bytes".encode() in body
    assert pulled <= limit + CHUNK             # stopped at the limit, not at 200 MB
    assert peak < 4 * 1024 * 1024 + 2 * limit  # a few MB, whatever the upload
    assert sha256(project) == before


# --------------------------------------------------------------------------------------
# The same through a real server (uvicorn on the loopback address, in this process)
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(project) -> Iterator[tuple[str, int]]:
    config = uvicorn.Config(create_app(project), host="127.0.0.1", port=0, lifespan="off",
                            log_level="warning", access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.started, "uvicorn did not start"
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield "127.0.0.1", port
    srv.should_exit = True
    thread.join(timeout=10)


def _rss() -> int:
    """This process's resident memory in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _answer(sock: socket.socket) -> bytes:
    """The response on ``sock`` (until the server closes it or 5 s pass)."""
    sock.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            part = sock.recv(65536)
            if not part:
                break
            data += part
    except (TimeoutError, ConnectionError):
        pass
    return data


def test_server_refuses_a_declared_200_mb_body_before_reading_it(server):
    with socket.create_connection(server, timeout=10) as sock:
        sock.sendall(b"POST /staffing HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                     b"\r\nContent-Length: %d\r\n\r\n" % UPLOAD + b" " * CHUNK)
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"the body has 209,715,200 bytes, more than 65,536" in answer


def test_server_stops_a_chunked_upload_at_the_limit(server, project):
    """A 200 MB chunked upload: answered 413 after about the limit, memory flat."""
    before, rss = sha256(project), _rss()
    chunk = b"%x\r\n" % CHUNK + b" " * CHUNK + b"\r\n"
    sent = 0
    with socket.create_connection(server, timeout=10) as sock:
        sock.sendall(b"POST /grids/move HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        sock.settimeout(0.5)
        try:
            while sent < UPLOAD:
                sock.sendall(chunk)
                sent += CHUNK
                sock.setblocking(False)
                try:
                    if sock.recv(1, socket.MSG_PEEK):
                        break           # the server has answered
                except BlockingIOError:
                    pass
                finally:
                    sock.settimeout(0.5)
        except (TimeoutError, ConnectionError):
            pass                        # the server stopped reading: it has answered
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"more than 2,097,152 bytes" in answer
    assert sent < 32 * 1024 * 1024      # answered long before the 200 MB were sent
    assert _rss() - rss < 32 * 1024 * 1024
    assert sha256(project) == before
