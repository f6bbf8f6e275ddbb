"""The bench's devices: publishes readings over MQTT (QoS 1) at a target rate, batched per tag per
tick because the Python client, not the broker, is the limit (notes/stack.md). Prints a JSON line.

Each tag reads its sensor's nominal value with a little noise, as a plant in steady state does: values
drawn at random for every tag put most of them past their limits, and ten seconds in (the on-delay)
the core was storing a flood of a hundred alarms instead of measuring the live path. `--flood` does
that on purpose (BENCH_INGEST_FLOOD=1): the live path during an alarm flood."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import time
from datetime import UTC, datetime, timedelta

import aiomqtt


def _near(nominal: float) -> float:
    """The nominal value and noise of a thousandth of it, within every demo sensor's deadband."""
    return round(nominal + (random.random() - 0.5) * 0.002 * (abs(nominal) or 1.0), 4)


def _flood(_nominal: float) -> float:
    """20-21 whatever the sensor: most tags past a limit."""
    return round(20 + random.random(), 3)


async def main(port: int, rate: int, seconds: float, nominal: dict[str, float], flood: bool = False,
               tick: float = 0.1) -> None:
    value = _flood if flood else _near
    topics = list(nominal)
    per_tick = rate * tick / len(topics)
    sent = 0
    carry = 0.0
    async with aiomqtt.Client("127.0.0.1", port, identifier="bench-publisher", max_queued_outgoing_messages=0) as c:
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < seconds:
            carry += per_tick
            k, carry = int(carry), carry - int(carry)
            if k:
                for topic in topics:
                    # each device stamps its readings as it publishes them: one client publishing every
                    # device's batch in turn (a PUBACK each) must not count its own queue as system latency
                    now = datetime.now(UTC)
                    # distinct source times a microsecond apart: (tag, time) is the reading's identity
                    batch = [{"value": value(nominal[topic]), "quality": "GOOD",
                              "timestamp": (now - timedelta(microseconds=k - i)).isoformat()} for i in range(k)]
                    await c.publish(topic, json.dumps(batch), qos=1)
                    sent += k
            n += 1
            await asyncio.sleep(max(0.0, start + n * tick - time.monotonic()))
        duration = time.monotonic() - start
    use = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"sent": sent, "seconds": round(duration, 2), "cpu_s": round(use.ru_utime + use.ru_stime, 2)}),
          flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--nominal", required=True, help="JSON file: topic -> the tag's nominal value")
    p.add_argument("--flood", action="store_true", help="values past most tags' limits: an alarm flood")
    a = p.parse_args()
    with open(a.nominal) as f:
        asyncio.run(main(a.port, a.rate, a.seconds, json.load(f), a.flood))
