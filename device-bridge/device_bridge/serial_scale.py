"""Serial connector: polls a weighing scale speaking MT-SICS (device_bridge/mtsics.py) over RS-232/485.

Every `interval` seconds it sends `SI` (or `S`) and reads the reply. pyserial is blocking, so the
port I/O runs in a worker thread, one poll at a time. `port` is a device path (/dev/ttyUSB0, COM3)
or a pyserial URL (`socket://host:4001`, `rfc2217://host:4001` for a serial device server).

The link is connected from the first MT-SICS reply on: an open port proves a cable, not a scale.
A port that vanishes (USB adapter pulled) raises, and the shared loop reopens it with backoff; so
does a scale that stays silent for `SILENT_POLLS` polls in a row. Lines that are not MT-SICS
(a wrong baud rate, noise) are counted as malformed and skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from typing import Any

import serial

from device_bridge.backoff import Backoff
from device_bridge.connector import ConnectionLost, Connector, Emit
from device_bridge.model import make_reading, utc_now
from device_bridge.mtsics import COMMANDS, MASS_UNITS, parse_reply

SILENT_POLLS = 3
MAX_LINE = 256
FRAMINGS = {"8N1": (8, "N", 1), "8E1": (8, "E", 1), "8O1": (8, "O", 1), "8N2": (8, "N", 2),
            "7E1": (7, "E", 1), "7O1": (7, "O", 1), "7N2": (7, "N", 2)}


class SerialScaleConnector(Connector):
    kind = "serial"

    def __init__(self, port: str, tag: str, emit: Emit, *, unit: str = "kg", interval: float = 1.0,
                 baudrate: int = 9600, framing: str = "8N1", xonxoff: bool = False, command: str = "SI",
                 timeout: float = 2.0, stale_after: float | None = None, backoff: Backoff | None = None,
                 name: str | None = None) -> None:
        super().__init__(name or port, emit, stale_after=stale_after, backoff=backoff)
        if command not in COMMANDS:
            raise ValueError(f"command must be one of {', '.join(COMMANDS)}, not {command!r}")
        if unit not in MASS_UNITS:
            raise ValueError(f"unit must be one of {', '.join(MASS_UNITS)}, not {unit!r}")
        if framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {', '.join(FRAMINGS)}, not {framing!r}")
        self.port = port
        self.tag = tag
        self.unit = unit
        self.interval = interval
        self.baudrate = baudrate
        self.framing = framing
        self.xonxoff = xonxoff
        self.command = command
        self.timeout = timeout
        self.polls = 0
        self.replies = 0
        self.last_reply: str | None = None
        self._partial = b""
        if self.watch is not None:
            self.watch.expect([tag])

    async def _session(self) -> None:
        port = await asyncio.to_thread(self._open)
        self._partial = b""
        silent = 0
        try:
            while not self.stopping.is_set():
                due = time.monotonic() + self.interval
                lines = await asyncio.to_thread(self._poll, port)
                self.polls += 1
                silent = 0 if lines else silent + 1
                for at, line in lines:
                    self.handle(line, at)
                if silent >= SILENT_POLLS:
                    raise ConnectionLost(f"no reply to {self.command} in {silent} polls of {self.timeout:g} s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), max(0.0, due - time.monotonic()))
        finally:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(port.close)

    def _open(self) -> Any:
        bytesize, parity, stopbits = FRAMINGS[self.framing]
        # exclusive: a second program on the same port would steal half of the replies
        return serial.serial_for_url(self.port, baudrate=self.baudrate, bytesize=bytesize, parity=parity,
                                     stopbits=stopbits, xonxoff=self.xonxoff, timeout=self.timeout,
                                     write_timeout=self.timeout, exclusive=True)

    def _poll(self, port: Any) -> list[tuple[datetime, bytes]]:
        """Send the command; return the lines that came back within the timeout, each stamped when it
        was read (in this thread, so the stamp does not wait for the event loop)."""
        try:
            port.write(self.command.encode("ascii") + b"\r\n")
            lines = []
            data = port.read_until(b"\n", MAX_LINE)
            while data:
                self._partial += data
                if self._partial.endswith(b"\n") or len(self._partial) >= MAX_LINE:
                    lines.append((utc_now(), self._partial))
                    self._partial = b""
                if not port.in_waiting:
                    break
                data = port.read_until(b"\n", MAX_LINE)
            return lines
        except serial.SerialException as e:
            raise ConnectionLost(f"port {self.port}: {e}") from e

    def handle(self, raw: bytes, at: datetime) -> None:
        """One line from the scale: a reading, or counted as malformed and skipped."""
        try:
            if not raw.endswith(b"\n"):
                raise ValueError(f"line longer than {MAX_LINE} bytes")
            reply = parse_reply(raw.decode("ascii", "replace"), self.unit)
        except ValueError as e:
            self.reject(f"{self.port}: {e}")
            return
        self.replies += 1
        self.last_reply = reply.text
        if self.link.state != "connected":
            self.connected()
        # the scale gives no time: the receive time stands in for it
        self.deliver([make_reading(self.tag, reply.value, reply.quality, self.clock.stamp(self.tag, at))])

    def status(self) -> dict[str, Any]:
        return {**super().status(), "port": self.port, "tag": self.tag, "unit": self.unit,
                "command": self.command, "polls": self.polls, "replies": self.replies,
                "lastReply": self.last_reply}
