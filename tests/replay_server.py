#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Replay recorded grid-intensity API bodies over HTTP on 127.0.0.1.

Each route (the URL path, query ignored) answers a list of responses in
turn, the last one repeating:

    {"status": 200, "file": "uk_intensity.json"}        a body from the fixtures
    {"status": 500, "body": "oops"}                      an inline body
    {"status": 429, "retry_after": "2"}                  with a Retry-After header
    {"status": 401, "file": "emaps_error_401.json"}
    {"hang": 5.0, "status": 200, ...}                    sleep first (provokes a timeout)
    {"status": 200, "size": 2097152}                     a large body of spaces

Unknown paths get 404. Every request is recorded (method, path, query,
headers) and can be read back from .requests, or from the --log file (one
JSON object per line) when run as a program:

    replay_server.py --fixtures DIR --routes routes.json --log requests.jsonl [--port N]

prints "PORT <n>" once listening. Used by tests/test_carbon_http.py.
"""

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Replay:
    def __init__(self, fixtures, log_path=None):
        self.fixtures = fixtures
        self.log_path = log_path
        self.routes = {}
        self.requests = []
        self.lock = threading.Lock()
        self.server = None
        self.thread = None

    def route(self, path, *responses):
        with self.lock:
            self.routes[path] = list(responses)

    def hits(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def _next(self, path):
        with self.lock:
            seq = self.routes.get(path)
            if not seq:
                return None
            return seq.pop(0) if len(seq) > 1 else seq[0]

    def _record(self, entry):
        with self.lock:
            self.requests.append(entry)
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")

    def start(self, port=0):
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                replay._record(
                    {
                        "method": "GET",
                        "path": url.path,
                        "query": parse_qs(url.query, keep_blank_values=True),
                        "raw_query": url.query,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "t": time.monotonic(),
                    }
                )
                resp = replay._next(url.path)
                if resp is None:
                    resp = {"status": 404, "body": '{"error":"no such route"}'}
                if resp.get("hang"):
                    time.sleep(resp["hang"])
                if "file" in resp:
                    with open(os.path.join(replay.fixtures, resp["file"]), "rb") as f:
                        body = f.read()
                elif "size" in resp:
                    body = b" " * resp["size"]
                else:
                    body = resp.get("body", "").encode()
                try:
                    self.send_response(resp.get("status", 200))
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    if "retry_after" in resp:
                        self.send_header("Retry-After", resp["retry_after"])
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout, body cap)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.server.server_address[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", required=True, help="folder of recorded bodies")
    ap.add_argument("--routes", required=True, help='JSON file {"/path": [response, ...]}')
    ap.add_argument("--log", help="append each request as a JSON line to this file")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    replay = Replay(args.fixtures, args.log)
    with open(args.routes, encoding="utf-8") as f:
        for path, responses in json.load(f).items():
            replay.route(path, *responses)
    print(f"PORT {replay.start(args.port)}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        replay.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
