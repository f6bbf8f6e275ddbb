"""`plasmatwin bridge --config FILE`: run a device bridge from its TOML file."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

from device_bridge.config import ConfigError, load_config
from device_bridge.runner import run_from_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plasmatwin bridge",
                                     description="Device bridge: OPC UA, MQTT and serial readings to the core.")
    parser.add_argument("--config", required=True, metavar="FILE", help="bridge TOML file")
    parser.add_argument("--check", action="store_true", help="validate the file (and the token variable), then exit")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.check:
            config = load_config(args.config)
            if config.core.url:
                config.core.token()
            print(json.dumps({"ok": True, "name": config.name, "buffer": str(config.buffer),
                              "opcua": [o.endpoint for o in config.opcua],
                              "mqtt": [f"{m.url} {m.topic}" for m in config.mqtt],
                              "serial": [f"{s.port} {s.tag}" for s in config.serial]}))
            return 0
        asyncio.run(run_from_config(args.config))
    except ConfigError as e:
        print(f"bridge: configuration error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # buffer file not writable, port in use ...
        print(f"bridge: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
