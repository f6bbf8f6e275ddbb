"""The bridge's TOML configuration (stdlib tomllib).

```toml
[bridge]
name = "area-fractionation"        # sent to the core with every batch
buffer = "var/bridge-buffer.db"    # relative to this file
batch_max = 500
window = 4                         # batches sent before the oldest is answered (1: one at a time)
stale_after = 30                   # seconds; each connector may override it
retry_initial = 0.2                # forwarder backoff when the core is away
retry_max = 10

[core]
url = "http://127.0.0.1:8000"
token_env = "PLASMATWIN_BRIDGE_TOKEN"  # the token itself never goes in this file
timeout = 10

[[opcua]]
endpoint = "opc.tcp://127.0.0.1:4840/plasmatwin/"
publishing_interval_ms = 500
[[opcua.tags]]
node = "ns=2;s=CS-01-TT-01"
tag = "CS-01-TT-01"

[[mqtt]]
url = "mqtt://127.0.0.1:1883"
topic = "SITE-01/#"
client_id = "bridge-area-fractionation"
[mqtt.tags]
"SITE-01/fractionation/CR-01/_/TT-01" = "CR-01-TT-01"

[[serial]]                         # a weighing scale speaking MT-SICS (RS-232/485)
port = "/dev/ttyUSB0"              # or a pyserial URL: socket://host:4001, rfc2217://host:4001
tag = "RCV-BAL-01-WT-01"
unit = "kg"                        # the reading's unit; g, mg, t, lb, oz are converted to it
interval = 1.0                     # seconds between polls
command = "SI"                     # SI: the weight now (dynamic -> UNCERTAIN); S: stable weights only
baudrate = 9600
framing = "8N1"                    # data bits, parity, stop bits: 8N1 8E1 8O1 8N2 7E1 7O1 7N2
xonxoff = false
timeout = 2.0                      # seconds to wait for a reply
```

Every mistake is reported with the file and the key path; unknown keys are errors (a typo must not
silently drop a setting).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class CoreConfig:
    url: str | None = None
    token_env: str | None = None
    timeout: float = 10.0

    def token(self) -> str:
        if not self.token_env:
            raise ConfigError("[core] token_env is not set")
        value = os.environ.get(self.token_env, "").strip()
        if not value:
            raise ConfigError(f"environment variable {self.token_env} (named by [core] token_env) is not set")
        return value


@dataclass(frozen=True)
class OpcuaConfig:
    endpoint: str
    tags: dict[str, str]  # node id -> tag
    publishing_interval_ms: float = 500.0
    queue_size: int = 10
    probe_interval: float = 2.0
    request_timeout: float = 4.0
    stale_after: float | None = None
    name: str | None = None


@dataclass(frozen=True)
class MqttConfig:
    url: str
    topic: str
    client_id: str
    tags: dict[str, str] = field(default_factory=dict)  # topic -> tag
    keepalive: int = 10
    stale_after: float | None = None
    name: str | None = None


@dataclass(frozen=True)
class SerialConfig:
    port: str
    tag: str
    unit: str = "kg"
    interval: float = 1.0
    command: str = "SI"
    baudrate: int = 9600
    framing: str = "8N1"
    xonxoff: bool = False
    timeout: float = 2.0
    stale_after: float | None = None
    name: str | None = None


@dataclass(frozen=True)
class BridgeConfig:
    name: str
    buffer: Path
    batch_max: int = 500
    window: int = 4
    stale_after: float | None = 60.0
    retry_initial: float = 0.2
    retry_max: float = 10.0
    core: CoreConfig = field(default_factory=CoreConfig)
    opcua: tuple[OpcuaConfig, ...] = ()
    mqtt: tuple[MqttConfig, ...] = ()
    serial: tuple[SerialConfig, ...] = ()
    source: str = "<config>"


class _Table:
    """Reads one TOML table, naming the key path in every error."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{where} must be a table")
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def _get(self, key: str, required: bool) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required:
                raise ConfigError(f"{self.where}: missing required key '{key}'")
            return None
        return self.data[key]

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{self.where}.{key} must be a non-empty string, got {value!r}")
        return value

    def need_str(self, key: str) -> str:
        value = self.text(key, required=True)
        assert value is not None
        return value

    def number(self, key: str, default: float | None, *, minimum: float = 0.0, integer: bool = False) -> Any:
        value = self._get(key, False)
        if value is None:
            return default
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            raise ConfigError(f"{self.where}.{key} must be {'an integer' if integer else 'a number'}, got {value!r}")
        if value <= minimum:
            raise ConfigError(f"{self.where}.{key} must be greater than {minimum:g}, got {value!r}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ConfigError(f"{self.where}.{key} must be true or false, got {value!r}")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(f"{self.where}: unknown key(s) {', '.join(unknown)}")


def load_config(path: str | Path) -> BridgeConfig:
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    try:
        return parse_config(data, base_dir=path.parent, source=str(path))
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def parse_config(data: dict[str, Any], *, base_dir: Path = Path(), source: str = "<config>") -> BridgeConfig:
    top = _Table(data, "config")
    bridge = _Table(top._get("bridge", True), "[bridge]")
    name = bridge.need_str("name")
    buffer = Path(bridge.text("buffer", f"var/bridge-{name}.db") or "")
    cfg_stale = bridge.number("stale_after", 60.0)
    batch_max = bridge.number("batch_max", 500, integer=True)
    window = bridge.number("window", 4, integer=True)
    if window > 64:
        raise ConfigError(f"[bridge].window must be at most 64, got {window}")
    retry_initial = bridge.number("retry_initial", 0.2)
    retry_max = bridge.number("retry_max", 10.0)
    if retry_max < retry_initial:
        raise ConfigError("[bridge] retry_max must not be below retry_initial")
    bridge.done()

    core = _core(top._get("core", False))
    opcua = tuple(_opcua(t, f"[[opcua]] #{i + 1}") for i, t in enumerate(_array(top._get("opcua", False), "opcua")))
    mqtt = tuple(_mqtt(t, f"[[mqtt]] #{i + 1}") for i, t in enumerate(_array(top._get("mqtt", False), "mqtt")))
    serial = tuple(_serial(t, f"[[serial]] #{i + 1}")
                   for i, t in enumerate(_array(top._get("serial", False), "serial")))
    top.done()
    if not opcua and not mqtt and not serial:
        raise ConfigError("no connector: add at least one [[opcua]], [[mqtt]] or [[serial]] table")
    ports = [s.port for s in serial]
    if len(set(ports)) != len(ports):
        raise ConfigError("[[serial]] port values must differ (one port, one scale)")
    ids = [m.client_id for m in mqtt]
    if len(set(ids)) != len(ids):
        raise ConfigError("[[mqtt]] client_id values must differ (the broker would drop one of two equal ids)")
    return BridgeConfig(name=name, buffer=buffer if buffer.is_absolute() else base_dir / buffer, batch_max=batch_max,
                        window=window, stale_after=cfg_stale, retry_initial=retry_initial, retry_max=retry_max,
                        core=core, opcua=opcua, mqtt=mqtt, serial=serial, source=source)


def _array(value: Any, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"'{key}' must be an array of tables: write [[{key}]]")
    return value


def _core(value: Any) -> CoreConfig:
    if value is None:
        return CoreConfig()
    t = _Table(value, "[core]")
    if "token" in t.data:
        raise ConfigError("[core] token must not be written in the file: put it in the environment variable "
                          "named by token_env")
    url = t.text("url")
    if url is not None and urlparse(url).scheme not in ("http", "https"):
        raise ConfigError(f"[core].url must be an http(s) URL, got {url!r}")
    core = CoreConfig(url=url, token_env=t.text("token_env"), timeout=t.number("timeout", 10.0))
    t.done()
    if core.url and not core.token_env:
        raise ConfigError("[core] has a url but no token_env (the environment variable holding the bridge's token)")
    return core


def _opcua(value: Any, where: str) -> OpcuaConfig:
    t = _Table(value, where)
    endpoint = t.need_str("endpoint")
    if not endpoint.startswith("opc.tcp://"):
        raise ConfigError(f"{where}.endpoint must start with opc.tcp://, got {endpoint!r}")
    tags: dict[str, str] = {}
    raw_tags = t._get("tags", True)
    if not isinstance(raw_tags, list) or not raw_tags:
        raise ConfigError(f"{where}: 'tags' must be a non-empty array of tables: write [[opcua.tags]]")
    for i, raw in enumerate(raw_tags):
        entry = _Table(raw, f"{where} tags #{i + 1}")
        node, tag = entry.need_str("node"), entry.need_str("tag")
        entry.done()
        if node in tags:
            raise ConfigError(f"{where}: node {node!r} is listed twice")
        _check_node(node, f"{where} tags #{i + 1}")
        tags[node] = tag
    cfg = OpcuaConfig(
        endpoint=endpoint, tags=tags, publishing_interval_ms=t.number("publishing_interval_ms", 500.0),
        queue_size=t.number("queue_size", 10, integer=True), probe_interval=t.number("probe_interval", 2.0),
        request_timeout=t.number("request_timeout", 4.0), stale_after=t.number("stale_after", None),
        name=t.text("name"))
    t.done()
    return cfg


def _check_node(node: str, where: str) -> None:
    from asyncua import ua  # only here: parsing a config should not need the whole OPC UA stack loaded

    try:
        ua.NodeId.from_string(node)
    except Exception:
        raise ConfigError(f"{where}: {node!r} is not an OPC UA node id (e.g. ns=2;s=CS-01-TT-01)") from None


def _mqtt(value: Any, where: str) -> MqttConfig:
    t = _Table(value, where)
    url = t.need_str("url")
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
        raise ConfigError(f"{where}.url must look like mqtt://127.0.0.1:1883, got {url!r}")
    topic = t.need_str("topic")
    if "#" in topic[:-1] or ("#" in topic and not (topic == "#" or topic.endswith("/#"))):
        raise ConfigError(f"{where}.topic: '#' may only be the last level, got {topic!r}")
    raw_tags = t._get("tags", False) or {}
    if not isinstance(raw_tags, dict) or not all(isinstance(v, str) and v for v in raw_tags.values()):
        raise ConfigError(f"{where}.tags must be a table of \"topic\" = \"tag\" strings")
    cfg = MqttConfig(url=url, topic=topic, client_id=t.need_str("client_id"), tags=dict(raw_tags),
                     keepalive=t.number("keepalive", 10, integer=True), stale_after=t.number("stale_after", None),
                     name=t.text("name"))
    t.done()
    return cfg


def _serial(value: Any, where: str) -> SerialConfig:
    from device_bridge.mtsics import COMMANDS, MASS_UNITS
    from device_bridge.serial_scale import FRAMINGS

    t = _Table(value, where)
    cfg = SerialConfig(
        port=t.need_str("port"), tag=t.need_str("tag"), unit=t.text("unit", "kg") or "kg",
        interval=t.number("interval", 1.0), command=t.text("command", "SI") or "SI",
        baudrate=t.number("baudrate", 9600, integer=True), framing=t.text("framing", "8N1") or "8N1",
        xonxoff=t.flag("xonxoff", False), timeout=t.number("timeout", 2.0),
        stale_after=t.number("stale_after", None), name=t.text("name"))
    t.done()
    for key, value, allowed in (("unit", cfg.unit, MASS_UNITS), ("command", cfg.command, COMMANDS),
                                ("framing", cfg.framing, FRAMINGS)):
        if value not in allowed:
            raise ConfigError(f"{where}.{key} must be one of {', '.join(allowed)}, got {value!r}")
    return cfg
