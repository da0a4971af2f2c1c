"""A client of the node daemon jpud's socket API (HTTP/1.1 over a Unix socket).

``jpu.DaemonClient("/run/jpu/jpud.sock")`` reads the samples jpud takes with the node's
sensors, so an account that cannot read the root-only energy counters still gets measured
figures. The daemon knows the caller from the socket's peer credentials: "user" is this
account (or its container), a PID is as this process sees it, tags are this account's own.
Samples and history are the dicts of ``jpu.Engine.snapshot()`` and ``history()``.

Pure Python (http.client), so it works where the C binding is not built.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from typing import Any
from urllib.parse import quote

SCOPES = ("system", "user", "container", "process")
MAX_RESPONSE = 4 << 20  # the CLI's limit: a busy node's history fits


class DaemonError(OSError):
    """jpud refused a request: ``status`` is its HTTP status, the message its reason."""

    def __init__(self, status: int, message: str, socket_path: str):
        super().__init__(f"jpud ({socket_path}) answered {status}: {message}")
        self.status = status
        self.reason = message


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.unix_path)
        except OSError:
            s.close()
            raise
        self.sock = s


class DaemonClient:
    """A connection to jpud at ``socket_path``; one request at a time (keep-alive).

    Raises OSError (FileNotFoundError, ConnectionRefusedError, PermissionError) naming the
    socket when no daemon answers there, DaemonError when the daemon refuses a request.
    ``wait`` is how long a request waits out "no sample yet" (503) and the rate limit (429).
    """

    def __init__(self, socket_path: str, timeout: float = 10.0, wait: float = 15.0):
        self.socket_path = str(socket_path)
        self.timeout = timeout
        self.wait = wait
        self._conn: _UnixConnection | None = None

    # ---- transport -------------------------------------------------------------------------

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> DaemonClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _once(self, method: str, url: str) -> tuple[int, dict, Any]:
        if self._conn is None:
            self._conn = _UnixConnection(self.socket_path, self.timeout)
        conn = self._conn
        conn.request(method, url, headers={"Connection": "keep-alive"})
        r = conn.getresponse()
        length = r.getheader("Content-Length")
        if length is None or not length.isdigit() or int(length) > MAX_RESPONSE:
            self.close()
            raise OSError(f"jpud ({self.socket_path}): an answer without a usable length")
        data = r.read()
        if r.will_close:
            self.close()
        headers = {k.lower(): v for k, v in r.getheaders()}
        try:
            body = json.loads(data) if data else None
        except ValueError:
            body = data.decode(errors="replace")
        return r.status, headers, body

    def request(self, method: str, url: str) -> Any:
        """The parsed JSON answer of one request; waits out 503 and 429 up to ``wait`` s."""
        deadline = time.monotonic() + self.wait
        while True:
            try:
                status, headers, body = self._once(method, url)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # a keep-alive connection the daemon closed meanwhile: once more, fresh
                self.close()
                try:
                    status, headers, body = self._once(method, url)
                except OSError as e:
                    self.close()
                    raise _explain(e, self.socket_path) from e
            except OSError as e:
                self.close()
                raise _explain(e, self.socket_path) from e
            if status in (503, 429):
                retry = headers.get("retry-after", "")
                pause = int(retry) if status == 429 and retry.isdigit() else 0.25
                if time.monotonic() + pause < deadline:
                    time.sleep(pause)
                    continue
            if 200 <= status < 300:
                return body
            message = body.get("error") if isinstance(body, dict) else str(body)
            raise DaemonError(status, message or "", self.socket_path)

    # ---- the API ---------------------------------------------------------------------------

    @staticmethod
    def _scope_query(scope: str, pid: int | None) -> str:
        if scope not in SCOPES:
            raise ValueError(f"scope: expected one of {', '.join(SCOPES)}, got {scope!r}")
        if (scope == "process") != (pid is not None):
            raise ValueError("pid goes with scope='process', and that scope needs one")
        q = f"scope={scope}"
        return q + (f"&pid={int(pid)}" if pid is not None else "")

    def snapshot(self, scope: str = "user", pid: int | None = None) -> dict:
        """The latest sample of a scope (as Engine.snapshot())."""
        return self.request("GET", "/v1/sample?" + self._scope_query(scope, pid))

    def history(self, scope: str = "user", since: float | None = None) -> Any:
        """The kept samples of a scope (as Engine.history()); since: Unix time in s."""
        q = self._scope_query(scope, None)
        if since is not None:
            q += f"&since={int(since * 1e6)}"
        return self.request("GET", "/v1/history?" + q)

    def track(self, pid: int, tag: str) -> None:
        """Follow the process tree of ``pid`` under ``tag`` (a restarted kernel: the same tag)."""
        self.request("POST", f"/v1/track?pid={int(pid)}&tag={quote(tag, safe='')}")

    def untrack(self, tag: str) -> None:
        self.request("DELETE", f"/v1/track/{quote(tag, safe='')}")

    def tracked(self) -> list[dict]:
        """This account's tags: [{"tag", "pid", "sample"}], sample None before its first."""
        return self.request("GET", "/v1/tracked")

    def tracked_sample(self, tag: str) -> dict | None:
        for t in self.tracked():
            if t.get("tag") == tag:
                return t.get("sample")
        return None


def _explain(e: OSError, path: str) -> OSError:
    """The same error, saying which socket and what to do."""
    what = {
        FileNotFoundError: "no socket there: is jpud running?",
        ConnectionRefusedError: "nothing listens on it: is jpud running?",
        PermissionError: "this account may not open it (see jpud's socket group)",
    }.get(type(e), e.strerror or str(e))
    return type(e)(e.errno, f"jpud socket {path}: {what}")
