"""A weighing scale on a pseudo-terminal: answers MT-SICS `S`, `SI` like a Mettler-Toledo balance.

The device bridge opens `link` (a symlink to the pty's slave end, e.g. var/scale) as its serial
port. Set `weight` (kg) and `state` ("stable", "dynamic", "overload", "underload", "busy",
"silent"), `send_raw(b"...")` puts any bytes on the line, `unplug()` makes the port vanish as a
pulled USB adapter does, `plug()` brings it back under the same link. POSIX only (os.openpty).

Run standalone: `python -m demo.scale var/scale --weight 18.2`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tty
from collections.abc import Callable
from pathlib import Path

STATES = ("stable", "dynamic", "overload", "underload", "busy", "silent")


class ScaleSimulator:
    def __init__(self, link: str | Path, *, weight: float | Callable[[], float | None] = 0.0, unit: str = "kg",
                 decimals: int = 3) -> None:
        """`weight` in `unit`: a number, or a function read at every command (None: the scale is busy)."""
        self.link = Path(link)
        self.weight = weight
        self.unit = unit
        self.decimals = decimals
        self.state = "stable"
        self.commands: list[str] = []
        self._master: int | None = None
        self._slave: int | None = None
        self._pending = b""

    @property
    def plugged(self) -> bool:
        return self._master is not None

    async def start(self) -> None:
        self.plug()

    async def stop(self) -> None:
        self.unplug()

    async def __aenter__(self) -> ScaleSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def plug(self) -> None:
        if self._master is not None:
            return
        master, slave = os.openpty()
        tty.setraw(slave)
        # the simulator keeps the slave end open too: the pty lives while no client has it open
        self._master, self._slave = master, slave
        self._pending = b""
        os.set_blocking(master, False)
        self.link.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        self.link.symlink_to(os.ttyname(slave))
        asyncio.get_running_loop().add_reader(master, self._on_input)

    def unplug(self) -> None:
        """The port vanishes: reads and writes of an open client fail, and the link is gone."""
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        if self._master is None:
            return
        asyncio.get_running_loop().remove_reader(self._master)
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    def send_raw(self, data: bytes) -> None:
        if self._master is not None:
            os.write(self._master, data)

    def _on_input(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 1024)
        except OSError:  # no client has the port open
            return
        self._pending += data
        while b"\n" in self._pending:
            line, self._pending = self._pending.split(b"\n", 1)
            command = line.strip().decode("ascii", "replace")
            self.commands.append(command)
            reply = self.reply(command)
            if reply:
                self.send_raw(reply.encode("ascii") + b"\r\n")

    def reply(self, command: str) -> str | None:
        if self.state == "silent":
            return None
        if command not in ("S", "SI"):
            return "ES"
        weight = self.weight() if callable(self.weight) else self.weight
        if self.state == "overload":
            return "S +"
        if self.state == "underload":
            return "S -"
        if self.state == "busy" or weight is None or (self.state == "dynamic" and command == "S"):
            return "S I"  # `S` waits for stability; this scale gives up at once
        status = "D" if self.state == "dynamic" else "S"
        return f"S {status} {weight:>10.{self.decimals}f} {self.unit}"


async def _serve(link: str, weight: float, unit: str) -> None:
    async with ScaleSimulator(link, weight=weight, unit=unit) as scale:
        print(f"MT-SICS scale on {scale.link} -> {os.readlink(scale.link)}, {weight} {unit}", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="An MT-SICS weighing scale on a pseudo-terminal.")
    parser.add_argument("link", help="path of the symlink the bridge opens as its serial port")
    parser.add_argument("--weight", type=float, default=18.0)
    parser.add_argument("--unit", default="kg")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.link, args.weight, args.unit))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
