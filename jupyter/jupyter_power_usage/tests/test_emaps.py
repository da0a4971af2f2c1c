"""The Electricity Maps proxy against a real local upstream on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import provider_response

TOKEN = "secret-emaps-token-123"
PROXY = "api/metrics/v1/emission_factor/emaps"


class Upstream:
    """A tiny Electricity Maps stand-in replaying recorded answers, recording what it got."""

    def __init__(self):
        self.requests: list[dict] = []
        self.latest = provider_response("emaps_v3_carbon_intensity_latest.json").read_bytes()
        self.unauthorized = provider_response("emaps_error_401.json").read_bytes()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                upstream.requests.append(
                    {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
                )
                if self.headers.get("auth-token") != TOKEN:
                    status, body = 401, upstream.unauthorized
                elif self.path.startswith("/v3/carbon-intensity/latest"):
                    status, body = 200, upstream.latest
                else:
                    status, body = 404, b'{"error": "not found"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream():
    up = Upstream()
    yield up
    up.close()


@pytest.fixture
def power_config(upstream, request):
    cfg = {"emaps_base_url": upstream.url, "emaps_access_token": TOKEN}
    cfg.update(getattr(request, "param", {}))
    return cfg


async def test_proxy_forwards_with_token(jp_fetch, upstream):
    response = await jp_fetch(PROXY, "v3/carbon-intensity/latest", params={"zone": "FR"})
    body = json.loads(response.body)
    assert body == json.loads(upstream.latest)
    assert body["carbonIntensity"] == 83
    (seen,) = upstream.requests
    assert seen["path"] == "/v3/carbon-intensity/latest?zone=FR"
    assert seen["headers"]["auth-token"] == TOKEN
    # The token reached the upstream, never the client.
    assert TOKEN.encode() not in response.body
    assert all(TOKEN not in str(v) for v in response.headers.values())


async def test_upstream_errors_keep_their_status(jp_fetch, upstream):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(PROXY, "v3/unknown-endpoint")
    assert err.value.code == 404
    assert json.loads(err.value.response.body) == {"error": "not found"}


@pytest.mark.parametrize("power_config", [{"emaps_access_token": "wrong"}], indirect=True)
async def test_upstream_401_passed_back(jp_fetch, upstream):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(PROXY, "v3/carbon-intensity/latest", params={"zone": "DK-DK2"})
    assert err.value.code == 401
    assert json.loads(err.value.response.body)["message"].startswith("You do not have access")
    assert b"wrong" not in err.value.response.body


@pytest.mark.parametrize("power_config", [{"emaps_access_token": ""}], indirect=True)
async def test_no_token_is_400_with_a_hint(jp_fetch, upstream):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(PROXY, "v3/carbon-intensity/latest")
    assert err.value.code == 400
    assert "PowerUsageDisplay.emaps_access_token" in json.loads(err.value.response.body)["message"]
    assert upstream.requests == []


@pytest.mark.parametrize(
    "power_config", [{"emaps_base_url": "http://127.0.0.1:9", "emaps_timeout": 2.0}], indirect=True
)
async def test_upstream_down_is_502(jp_fetch, upstream):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(PROXY, "v3/carbon-intensity/latest")
    assert err.value.code in (502, 504)
    assert "Electricity Maps" in json.loads(err.value.response.body)["message"]
