"""Carbon settings (traits and PUT .../carbon), emissions in the sample and per kernel, and a
live provider replayed from recorded answers on 127.0.0.1."""

from __future__ import annotations

import json
import sys

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import API, REPO, first_sample, get_json, wait_for

sys.path.insert(0, str(REPO / "tests"))
from replay_server import Replay  # noqa: E402

PROVIDER_FIXTURES = REPO / "tests" / "fixtures" / "provider-responses"
RTE = "/api/explore/v2.1/catalog/datasets/eco2mix-national-tr/records"
TOKEN = "browser-token-7d1e55"
CARBON = API + "/carbon"


async def put_carbon(jp_fetch, body):
    response = await jp_fetch(CARBON, method="PUT", body=json.dumps(body))
    return json.loads(response.body)


async def put_error(jp_fetch, body):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(CARBON, method="PUT", body=json.dumps(body))
    return err.value.code, json.loads(err.value.response.body)


@pytest.fixture
def replay():
    server = Replay(str(PROVIDER_FIXTURES))
    server.start()
    yield server
    server.stop()


async def test_emissions_in_sample(jp_fetch):
    body = await first_sample(jp_fetch)
    em = body["emissions"]
    assert {"g", "intensity_g_per_kwh", "source", "zone", "basis", "time", "pue"} <= set(em)
    # Default: auto with no country = the World average of the country table.
    assert (em["source"], em["zone"], em["basis"]) == ("table", "World", "lifecycle")
    assert em["intensity_g_per_kwh"] == pytest.approx(473.01)
    assert em["g"] >= 0 and em["pue"] == 1.0


@pytest.mark.parametrize(
    "power_config",
    [{"carbon_provider": "constant", "carbon_intensity": 120.0, "pue": 1.5}],
    indirect=True,
)
async def test_traits_reach_engine(jp_fetch):
    body = await first_sample(jp_fetch)
    em = body["emissions"]
    assert (em["source"], em["intensity_g_per_kwh"], em["pue"]) == ("constant", 120.0, 1.5)
    settings = await get_json(jp_fetch, CARBON)
    assert settings["source"] == "constant" and settings["factor"] == 120.0
    assert settings["emapsAccessToken"] is None
    # The admin set these explicitly: the browser cannot change them.
    assert settings["locked"] == ["factor", "source"]
    answer = await put_carbon(jp_fetch, {"source": "table", "countryCode": "DE", "factor": 300})
    assert answer["source"] == "constant" and answer["factor"] == 120.0
    assert answer["ignored"] == ["factor", "source"]
    assert answer["countryCode"] == "DE"  # not locked


@pytest.mark.parametrize(
    "power_config",
    [{"country_code": "fr", "carbon_provider": "table", "carbon_urls": {}}],
    indirect=True,
)
async def test_country_trait(jp_fetch):
    async def fr():
        body = await get_json(jp_fetch, API)
        em = body.get("emissions") or {}
        return em if em.get("zone") == "FR" else None

    em = await wait_for(fr)
    assert em["source"] == "table" and em["intensity_g_per_kwh"] == pytest.approx(44.18)


async def test_put_settings_and_token_never_returned(jp_fetch):
    await first_sample(jp_fetch)
    answer = await put_carbon(
        jp_fetch,
        {
            "source": "constant",
            "factor": 200,
            "countryCode": "de",
            "emapsAccessToken": TOKEN,
            "refreshRate": 1800000,  # other emissions settings are ignored
        },
    )
    assert (answer["source"], answer["factor"], answer["countryCode"]) == ("constant", 200, "DE")
    assert answer["emapsAccessToken"] == "set" and answer["tokenOrigin"] == "browser"
    assert answer["fromBrowser"] is True

    async def applied():
        em = (await get_json(jp_fetch, API)).get("emissions") or {}
        return em if em.get("intensity_g_per_kwh") == 200 else None

    em = await wait_for(applied)
    assert em["source"] == "constant"
    # The token is never written back: not by GET, PUT, the sample or Prometheus.
    for path in (CARBON, API, API + "/kernels", "metrics"):
        text = (await jp_fetch(path)).body.decode()
        assert TOKEN not in text, path
    assert TOKEN not in json.dumps(answer)

    # "" goes back to the server's settings.
    back = await put_carbon(jp_fetch, {"source": ""})
    assert back["source"] == "auto" and back["fromBrowser"] is False
    assert back["emapsAccessToken"] is None


@pytest.mark.parametrize(
    "body,field",
    [
        ({"countryCode": "France"}, "countryCode"),
        ({"countryCode": "F1"}, "countryCode"),
        ({"countryCode": 33}, "countryCode"),
        ({"factor": -5}, "factor"),
        ({"factor": 0}, "factor"),
        ({"factor": 1e9}, "factor"),
        ({"factor": "475"}, "factor"),
        ({"factor": True}, "factor"),
        ({"source": "watttime"}, "source"),
        ({"emapsAccessToken": "two words"}, "emapsAccessToken"),
        ({"source": "emaps", "countryCode": "DE"}, "emapsAccessToken"),
        ({"source": "emaps", "emapsAccessToken": TOKEN}, "countryCode"),
        ([1, 2], "body"),
    ],
)
async def test_put_rejects_bad_values(jp_fetch, body, field):
    await first_sample(jp_fetch)
    code, answer = await put_error(jp_fetch, body)
    assert code == 400
    assert answer["field"] == field
    assert field in answer["error"]
    assert TOKEN not in json.dumps(answer)
    # Nothing changed.
    assert (await get_json(jp_fetch, CARBON))["fromBrowser"] is False


async def test_put_not_json(jp_fetch):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(CARBON, method="PUT", body="{not json")
    assert err.value.code == 400


async def test_carbon_needs_auth(jp_fetch):
    for method, body in (("GET", None), ("PUT", "{}")):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch(CARBON, method=method, body=body, headers={"Authorization": ""})
        assert err.value.code == 403


@pytest.mark.parametrize("power_config", [{"allow_client_carbon_settings": False}], indirect=True)
async def test_put_refused_when_not_allowed(jp_fetch):
    await first_sample(jp_fetch)
    code, answer = await put_error(jp_fetch, {"source": "constant", "factor": 100})
    assert code == 403
    assert "allow_client_carbon_settings" in answer["error"]


async def test_rte_replayed(jp_configurable_serverapp, jp_server_config, replay):
    """country_code FR with the RTE URL pointed at the replay server: source rte, 47 g/kWh,
    fetched by the engine's own thread with the ODRE query."""
    replay.route(RTE, {"status": 200, "file": "odre_v21_eco2mix_national_tr_latest.json"})
    jp_server_config["PowerUsageDisplay"].update(
        {"country_code": "FR", "carbon_urls": {"rte": replay.url}, "carbon_timeout": 5.0}
    )
    app = jp_configurable_serverapp(config=jp_server_config)
    service = app.web_app.settings["jupyter_power_usage_service"]
    assert service.error is None, service.error

    async def from_rte():
        em = (service.snapshot() or {}).get("emissions") or {}
        return em if em.get("source") == "rte" else None

    em = await wait_for(from_rte, timeout=15)
    assert em["intensity_g_per_kwh"] == 47
    assert (em["zone"], em["basis"]) == ("FR", "direct")
    assert em["time"].startswith("2023-09-12T16:15:00")
    (hit, *_) = replay.hits(RTE)
    assert hit["query"]["select"] == ["date_heure,taux_co2"]


async def test_put_rte_source_replayed(jp_fetch, jp_serverapp, replay):
    """The original front end's default source "rte" from the browser; the server's
    carbon_urls (a mirror) still applies."""
    replay.route(RTE, {"status": 200, "file": "odre_v21_eco2mix_national_tr_latest.json"})
    jp_serverapp.web_app.settings["jupyter_power_usage_display"].carbon_urls = {"rte": replay.url}
    await first_sample(jp_fetch)
    answer = await put_carbon(jp_fetch, {"source": "rte", "countryCode": "", "factor": 475})
    assert (answer["source"], answer["countryCode"]) == ("rte", "FR")

    async def from_rte():
        em = (await get_json(jp_fetch, API)).get("emissions") or {}
        return em if em.get("source") == "rte" else None

    em = await wait_for(from_rte, timeout=15)
    assert em["intensity_g_per_kwh"] == 47


async def test_kernel_emissions(jp_fetch, jp_serverapp):
    await put_carbon(jp_fetch, {"source": "constant", "factor": 3000})
    model = json.loads((await jp_fetch("api/kernels", method="POST", body="{}")).body)
    try:

        async def emitted():
            entries = {k["kernel_id"]: k for k in await get_json(jp_fetch, API, "kernels")}
            entry = entries.get(model["id"])
            return entry if entry and (entry["emissions_g"] or 0) > 0 else None

        entry = await wait_for(emitted, timeout=20)
        # g = J x g/kWh / 3.6e6 with the intensity in force since the kernel started.
        joules = entry["energy_j"]["total"]
        assert entry["emissions_g"] == pytest.approx(joules * 3000 / 3.6e6, rel=0.2, abs=2e-6)
    finally:
        await jp_fetch("api/kernels", model["id"], method="DELETE")


@pytest.mark.parametrize(
    "settings,trait",
    [
        ({"country_code": "France"}, "country_code"),
        ({"carbon_provider": "watttime"}, "carbon_provider"),
        ({"carbon_provider": "auto,table"}, "carbon_provider"),
        ({"carbon_intensity": -1.0}, "carbon_intensity"),
        ({"pue": 0.5}, "pue"),
        ({"pue": 11.0}, "pue"),
        ({"carbon_urls": {"watttime": "http://127.0.0.1:1"}}, "carbon_urls"),
        ({"carbon_urls": {"rte": "ftp://127.0.0.1"}}, "carbon_urls"),
        ({"carbon_timeout": 0.0}, "carbon_timeout"),
        ({"postcode": "not a postcode"}, "postcode"),
        ({"carbon_provider": "emaps", "country_code": "DE"}, "carbon_provider"),
    ],
)
def test_invalid_carbon_trait_stops_server(
    jp_configurable_serverapp, jp_server_config, capsys, settings, trait
):
    jp_server_config["PowerUsageDisplay"].update(settings)
    with pytest.raises(SystemExit) as exc:
        jp_configurable_serverapp(config=jp_server_config)
    assert exc.value.code == 1
    assert f"PowerUsageDisplay.{trait}" in capsys.readouterr().err


def test_token_from_environment(jp_configurable_serverapp, jp_server_config, monkeypatch):
    monkeypatch.setenv("JPU_EMAPS_TOKEN", TOKEN)
    jp_server_config["PowerUsageDisplay"].update(
        {
            "carbon_provider": "emaps,table",
            "country_code": "DE",
            "carbon_urls": {"emaps": "http://127.0.0.1:9"},  # nothing listens: no real request
        }
    )
    app = jp_configurable_serverapp(config=jp_server_config)
    service = app.web_app.settings["jupyter_power_usage_service"]
    assert service.error is None, service.error
    described = service.carbon_description()
    assert described["emapsAccessToken"] == "set" and described["tokenOrigin"] == "server"
    assert TOKEN not in json.dumps(described)
