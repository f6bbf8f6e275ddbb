"""wrk for the side-by-side bench (bench/peer.py): the Lua script of one POST, its `--latency` output
read back, rounds summed up, and the table and ratio lines printed at the end. No I/O here."""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_TIME = r"([\d.]+)(us|ms|s|m|h)"


@dataclass(frozen=True)
class Round:
    """One wrk run: requests answered, wall seconds, latency percentiles (ms), failures."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int = 0
    socket_errors: int = 0

    @property
    def req_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def lua_script(body: dict[str, object], headers: dict[str, str]) -> str:
    """A wrk script that POSTs `body` as JSON with `headers` on every request."""
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(json.dumps(body, separators=(',', ':')))}",
             'wrk.headers["Content-Type"] = "application/json"']
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    return "\n".join(lines) + "\n"


def _lua_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse(output: str) -> Round:
    """wrk's report (run with --latency); ValueError when a line it always prints is missing."""
    total = re.search(r"^\s*(\d+) requests in " + _TIME, output, re.M)
    p50 = re.search(r"^\s*50(?:\.0+)?%\s+" + _TIME, output, re.M)
    p99 = re.search(r"^\s*99(?:\.0+)?%\s+" + _TIME, output, re.M)
    if not (total and p50 and p99):
        raise ValueError("not a wrk --latency report:\n" + output[-800:])
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return Round(requests=int(total.group(1)), seconds=_ms(total.group(2), total.group(3)) / 1000,
                 p50_ms=_ms(*p50.groups()), p99_ms=_ms(*p99.groups()),
                 non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
                 socket_errors=sum(int(x) for x in sock.groups()) if sock else 0)


@dataclass(frozen=True)
class Summary:
    """Rounds of one query on one server: req/s over all of them, the median p50 and p99 of the rounds,
    and CPU per request (server process; PostgreSQL) over every request answered."""

    req_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    db_cpu_ms: float
    failures: int


def summarize(rounds: list[tuple[Round, float, float]]) -> Summary:
    """`rounds`: each wrk round with the server's and PostgreSQL's CPU seconds spent during it."""
    requests = sum(r.requests for r, _, _ in rounds)
    seconds = sum(r.seconds for r, _, _ in rounds)
    per = 1000 / requests if requests else 0.0
    return Summary(req_per_s=requests / seconds if seconds else 0.0,
                   p50_ms=statistics.median(r.p50_ms for r, _, _ in rounds),
                   p99_ms=statistics.median(r.p99_ms for r, _, _ in rounds),
                   cpu_ms=sum(c for _, c, _ in rounds) * per, db_cpu_ms=sum(d for _, _, d in rounds) * per,
                   failures=sum(r.non_2xx + r.socket_errors for r, _, _ in rounds))


def ratio(ours: Summary, theirs: Summary) -> float:
    return ours.req_per_s / theirs.req_per_s if theirs.req_per_s else 0.0


def ratio_lines(results: dict[str, tuple[Summary, Summary]], names: tuple[str, ...]) -> list[str]:
    """`ratio NAME X` (ours req/s over theirs, two decimals) for each of `names` that was measured."""
    return [f"ratio {n} {ratio(*results[n]):.2f}" for n in names if n in results]


def table(results: dict[str, tuple[Summary, Summary]], labels: tuple[str, str]) -> list[str]:
    """One line per query and server: req/s, p50/p99 latency, CPU per request, failed requests."""
    head = f"{'query':<10} {'server':<13} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11} " \
           f"{'db ms/req':>10} {'failed':>7}"
    out = [head]
    for name, pair in results.items():
        for label, s in zip(labels, pair, strict=True):
            out.append(f"{name:<10} {label:<13} {s.req_per_s:>8,.0f} {s.p50_ms:>8.2f} {s.p99_ms:>8.2f} "
                       f"{s.cpu_ms:>11.3f} {s.db_cpu_ms:>10.3f} {s.failures:>7}")
    return out
