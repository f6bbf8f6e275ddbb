"""Bridge configuration: the example parses; every mistake is named with its place; the CLI checks it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from device_bridge.cli import main
from device_bridge.config import ConfigError, load_config
from device_bridge.runner import Bridge
from device_bridge.sink import MemorySink

EXAMPLE = Path(__file__).resolve().parents[1] / "device-bridge" / "example-bridge.toml"

MINIMAL = """
[bridge]
name = "b1"
buffer = "buf.db"

[[mqtt]]
url = "mqtt://127.0.0.1:1883"
topic = "SITE-01/#"
client_id = "bridge-b1"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bridge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_parses_and_builds_a_bridge() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.name == "area-fractionation" and cfg.batch_max == 500 and cfg.stale_after == 30 and cfg.window == 4
    assert cfg.core.url == "http://127.0.0.1:8000" and cfg.core.token_env == "PLASMATWIN_BRIDGE_TOKEN"
    assert cfg.buffer == EXAMPLE.parent / "../var/bridge-area-fractionation.db"
    (o,) = cfg.opcua
    assert o.endpoint.startswith("opc.tcp://127.0.0.1:") and o.tags["ns=2;s=CS-01-TT-01"] == "CS-01-TT-01"
    (m,) = cfg.mqtt
    assert m.topic == "SITE-01/#" and m.tags["SITE-01/fractionation/CR-01/_/DP"] == "CR-01-DP-01"
    (sc,) = cfg.serial
    assert sc.port == "var/scale" and sc.tag == "RCV-WT-301" and sc.unit == "kg" and sc.command == "SI"
    bridge = Bridge.from_config(cfg, sink=MemorySink())
    assert [c.kind for c in bridge.connectors] == ["opcua", "mqtt", "serial"]
    assert all("127.0.0.1" in (c.status().get("endpoint") or c.status().get("url"))
               for c in bridge.connectors if c.kind != "serial")


def test_minimal_config_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg.buffer == tmp_path / "buf.db" and cfg.retry_initial == 0.2 and cfg.retry_max == 10
    assert cfg.core.url is None and cfg.mqtt[0].tags == {} and cfg.window == 4
    one = load_config(write(tmp_path, MINIMAL.replace("[bridge]", "[bridge]\nwindow = 1")))
    assert one.window == 1 and Bridge.from_config(one, sink=MemorySink()).window == 1


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.replace('name = "b1"\n', ""), r"\[bridge\]: missing required key 'name'"),
    (lambda t: t.replace("[bridge]", "[bridge]\nbatch_max = 0"), r"\[bridge\]\.batch_max must be greater than 0"),
    (lambda t: t.replace("[bridge]", "[bridge]\nbatch_max = 'many'"), r"batch_max must be an integer"),
    (lambda t: t.replace("[bridge]", "[bridge]\nwindow = 0"), r"\[bridge\]\.window must be greater than 0"),
    (lambda t: t.replace("[bridge]", "[bridge]\nwindow = 65"), r"\[bridge\]\.window must be at most 64"),
    (lambda t: t.replace("[bridge]", "[bridge]\nstale_afer = 5"), r"unknown key\(s\) stale_afer"),
    (lambda t: t + '\n[core]\nurl = "http://127.0.0.1:8000"\ntoken = "abc"\n', r"token must not be written"),
    (lambda t: t + '\n[core]\nurl = "http://127.0.0.1:8000"\n', r"no token_env"),
    (lambda t: t + '\n[core]\nurl = "ftp://x"\ntoken_env = "T"\n', r"\[core\]\.url must be an http"),
    (lambda t: t.replace("mqtt://127.0.0.1:1883", "127.0.0.1:1883"), r"\[\[mqtt\]\] #1\.url must look like"),
    (lambda t: t.replace('client_id = "bridge-b1"\n', ""), r"missing required key 'client_id'"),
    (lambda t: t.replace('"SITE-01/#"', '"SITE-01/#/x"'), r"'#' may only be the last level"),
    (lambda t: t + '\n[[mqtt]]\nurl = "mqtt://127.0.0.1"\ntopic = "#"\nclient_id = "bridge-b1"\n',
     r"client_id values must differ"),
    (lambda t: t.split("[[mqtt]]")[0], r"no connector"),
    (lambda t: t + '\n[[opcua]]\nendpoint = "opc.tcp://127.0.0.1:4840"\n',
     r"\[\[opcua\]\] #1: missing required key 'tags'"),
    (lambda t: t + '\n[[opcua]]\nendpoint = "http://x"\n', r"endpoint must start with opc.tcp://"),
    (lambda t: t + '\n[[opcua]]\nendpoint = "opc.tcp://h:1"\n[[opcua.tags]]\nnode = "ns=2;s=A"\n',
     r"\[\[opcua\]\] #1 tags #1: missing required key 'tag'"),
    (lambda t: t + '\n[[opcua]]\nendpoint = "opc.tcp://h:1"\n[[opcua.tags]]\nnode = "nonsense=;"\ntag = "A"\n',
     r"not an OPC UA node id"),
    (lambda t: t + "\n[bridge\n", r"not valid TOML"),
    (lambda t: t.replace("[[mqtt]]", "[mqtt]"), r"'mqtt' must be an array of tables"),
])
def test_config_errors_are_clear(tmp_path: Path, change: Callable[[str], str], message: str) -> None:
    path = write(tmp_path, change(MINIMAL))
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_token_comes_from_the_environment_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, MINIMAL + '\n[core]\nurl = "http://127.0.0.1:8000"\ntoken_env = "BRIDGE_TEST_TOKEN"\n')
    cfg = load_config(path)
    monkeypatch.delenv("BRIDGE_TEST_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"BRIDGE_TEST_TOKEN .* is not set"):
        Bridge.from_config(cfg)
    monkeypatch.setenv("BRIDGE_TEST_TOKEN", "tok")
    assert cfg.core.token() == "tok"


def test_cli_check(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLASMATWIN_BRIDGE_TOKEN", "tok")
    assert main(["--config", str(EXAMPLE), "--check"]) == 0
    assert '"ok": true' in capsys.readouterr().out
    assert main(["--config", str(tmp_path / "missing.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
    monkeypatch.delenv("PLASMATWIN_BRIDGE_TOKEN")
    assert main(["--config", str(EXAMPLE), "--check"]) == 2
    assert "PLASMATWIN_BRIDGE_TOKEN" in capsys.readouterr().err
