"""Tests of geo_renewal.tiles: the base-map registry, its checks and the tile layers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from geo_renewal._errors import InputError
from geo_renewal._html import escape
from geo_renewal.tiles import PROVIDERS, TILES, check_tiles, datum_note, tile_layers, tile_names

KEY = "abc123def456"

# One row per provider: what its layers must carry. Adding a provider adds a row here.
#   name: (URL fragment of the base layer, of the label overlay (zh, en) or None, GCJ-02,
#          max zoom)
EXPECTED = {
    "osm": ("tile.openstreetmap.org/{z}/{x}/{y}.png", None, False, 19),
    "cartodb": ("basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png", None, False, 20),
    "tianditu": ("tianditu.gov.cn/vec_w/wmts", ("/cva_w/", "/eva_w/"), False, 18),
    "tianditu-img": ("tianditu.gov.cn/img_w/wmts", ("/cia_w/", "/eia_w/"), False, 18),
    "gaode": ("webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn", None, True, 19),
    "gaode-img": ("webst0{s}.is.autonavi.com/appmaptile?style=6", ("style=8",) * 2, True, 19),
    "tianditu-gov": ("https://tdt.zw.example/vec_w/wmts", ("/cva_w/", "/eva_w/"), False, 18),
    "tianditu-gov-img": ("https://tdt.zw.example/img_w/wmts", ("/cia_w/", "/eia_w/"), False, 18),
    "yizhangtu": ("https://yzt.zw.example/wmts?SERVICE=WMTS", None, False, 18),
}
#: The 政务网 providers' server addresses (environment variables), for the tests.
HOSTS = {
    "TIANDITU_GOV_HOST": "https://tdt.zw.example",
    "YIZHANGTU_URL": "https://yzt.zw.example/wmts",
}


@pytest.fixture(autouse=True)
def _gov_servers(monkeypatch):
    for env, host in HOSTS.items():
        monkeypatch.setenv(env, host)
    monkeypatch.setenv("TIANDITU_GOV_KEY", KEY)
    monkeypatch.setenv("YIZHANGTU_KEY", KEY)


def test_every_provider_has_an_expectation_row():
    assert set(EXPECTED) == set(PROVIDERS)


def test_names_are_the_registry_with_auto_and_none():
    from geo_renewal.maps import TILES as MAPS_TILES

    assert tile_names() == ("auto", "none", *PROVIDERS)
    assert TILES == MAPS_TILES == tile_names()
    assert tile_names()[:8] == (
        "auto",
        "none",
        "osm",
        "cartodb",
        "tianditu",
        "tianditu-img",
        "gaode",
        "gaode-img",
    )


@pytest.mark.parametrize("name", tile_names())
def test_check_tiles_accepts_every_name(name):
    assert check_tiles(name) == name


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("gaode-image", "did you mean `gaode-img`?"),
        ("tianditu_img", "did you mean `tianditu-img`?"),
        ("cartodb-positron", "did you mean `cartodb`?"),
        ("googel", ""),  # nothing close: the valid names are listed
        (None, "did you mean `none`?"),
    ],
)
def test_check_tiles_refuses_with_the_valid_names_and_a_hint(given, hint):
    with pytest.raises(InputError) as err:
        check_tiles(given, name="[outputs] tiles")
    msg = str(err.value)
    assert msg.startswith("`[outputs] tiles` must be one of 'auto', 'none', 'osm'")
    assert f"got {given!r}" in msg
    assert hint in msg
    if not hint:
        assert "did you mean" not in msg


@pytest.mark.parametrize("name", list(PROVIDERS))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_provider_layers(name, lang):
    url, labels_url, gcj02, max_zoom = EXPECTED[name]
    provider = PROVIDERS[name]
    layers, shifted = tile_layers(name, lang, KEY)
    assert shifted is gcj02 is provider.gcj02
    base, *overlays = layers
    assert url in base["tiles"]
    assert base["name"] == provider.label[0 if lang == "zh" else 1]
    assert base["max_zoom"] == max_zoom
    assert "overlay" not in base
    assert base["attr"].endswith(" | " + escape(datum_note(lang, gcj02=gcj02)))
    if labels_url is None:
        assert overlays == []
    else:
        (note,) = overlays
        assert labels_url[0 if lang == "zh" else 1] in note["tiles"]
        assert note["overlay"] is True
        assert note["name"] == provider.labels_label[0 if lang == "zh" else 1]
        assert note["attr"] == base["attr"]
    for layer in layers:
        assert layer["tiles"].startswith("https://"), layer["tiles"]
        assert "http://" not in layer["attr"]
        assert all(p in layer["tiles"] for p in ("{x}", "{y}", "{z}"))
        assert "{key}" not in layer["tiles"]
        assert "{host}" not in layer["tiles"]
        assert (f"={KEY}" in layer["tiles"]) is provider.needs_key


@pytest.mark.parametrize("name", [n for n, p in PROVIDERS.items() if p.host_env])
def test_gov_providers_need_their_host_and_key(monkeypatch, name):
    provider = PROVIDERS[name]
    monkeypatch.delenv(provider.key_env)
    with pytest.raises(
        InputError, match=f"needs the key of the office's server: set {provider.key_env}"
    ):
        tile_layers(name, "zh", KEY)  # the public Tianditu key is not the 政务网 one
    monkeypatch.setenv(provider.key_env, KEY)
    monkeypatch.delenv(provider.host_env)
    with pytest.raises(
        InputError, match=f"needs the address of the office's server: set {provider.host_env}"
    ):
        tile_layers(name, "zh")
    monkeypatch.setenv(provider.host_env, "javascript:alert(1)")
    with pytest.raises(InputError, match="got 'javascript:alert"):
        tile_layers(name, "zh")


@pytest.mark.parametrize(
    "name", [n for n, p in PROVIDERS.items() if p.needs_key and not p.host_env]
)
def test_keyed_providers_need_a_valid_key(monkeypatch, name):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(InputError, match=r"needs a Tianditu.*TIANDITU_KEY"):
        tile_layers(name, "zh")
    with pytest.raises(InputError, match="letters and digits"):
        tile_layers(name, "zh", "x'+alert(1)+'")
    monkeypatch.setenv("TIANDITU_KEY", KEY)
    assert f"tk={KEY}" in tile_layers(name, "zh")[0][0]["tiles"]


def test_auto_and_none(monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    assert tile_layers("none", "zh") == ([], False)
    assert tile_layers("auto", "en") == tile_layers("osm", "en")
    assert tile_layers("auto", "en", KEY) == tile_layers("tianditu", "en", KEY)
    monkeypatch.setenv("TIANDITU_KEY", KEY)
    assert tile_layers("auto", "zh") == tile_layers("tianditu", "zh", KEY)


def test_cli_tiles_choices_are_the_registry():
    from geo_renewal.cli import cli

    for command in ("map", "progress"):
        (opt,) = [p for p in cli.commands[command].params if p.name == "tiles"]
        assert tuple(opt.type.choices) == tile_names(), command


def test_importable_without_folium_xyzservices_or_pandas():
    code = (
        "import sys\n"
        "for m in ('folium', 'branca', 'xyzservices', 'pandas', 'numpy'):\n"
        "    sys.modules[m] = None\n"
        "from geo_renewal.tiles import check_tiles, tile_names\n"
        "print(check_tiles('gaode'), len(tile_names()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["gaode", str(len(tile_names()))]
