"""The pure parts of `make bench-peer` (bench/wrk.py, bench/peer.py): wrk's report read back, the
summary and ratio lines, the Lua script, and our side's queries valid against the published schema.
No server, no timing: the bench itself never runs in the suite."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from bench import peer, wrk

REPORT = """Running 10s test @ http://127.0.0.1:5999/graphql
  2 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.79ms    3.37ms  34.55ms   91.50%
    Req/Sec     5.96k     3.60k   10.97k    50.82%
  Latency Distribution
     50%  557.00us
     75%    1.39ms
     90%    4.35ms
     99%   17.99ms
  36134 requests in 10.10s, 7.48MB read
Requests/sec:   3577.62
Transfer/sec:      2.41MB
"""

SLOW = """Running 10s test @ http://127.0.0.1:8000/graphql
  2 threads and 10 connections
  Latency Distribution
     50%  103.43ms
     75%  150.00ms
     90%  200.00ms
     99%    1.20s
  851 requests in 10.02s, 150.00MB read
  Socket errors: connect 0, read 1, write 0, timeout 3
  Non-2xx or 3xx responses: 2
Requests/sec:     84.93
"""


def test_parse_reads_requests_time_and_percentiles_in_their_units() -> None:
    r = wrk.parse(REPORT)
    assert (r.requests, r.seconds, round(r.p50_ms, 3), r.p99_ms) == (36134, 10.1, 0.557, 17.99)
    assert (r.non_2xx, r.socket_errors) == (0, 0)
    assert r.req_per_s == pytest.approx(3577.6, abs=0.1)


def test_parse_counts_failures_and_seconds() -> None:
    r = wrk.parse(SLOW)
    assert (r.requests, r.p50_ms, r.p99_ms, r.non_2xx, r.socket_errors) == (851, 103.43, 1200.0, 2, 4)


def test_parse_refuses_what_is_not_a_latency_report() -> None:
    with pytest.raises(ValueError, match="not a wrk --latency report"):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_summary_sums_rounds_and_the_ratio_is_ours_over_theirs() -> None:
    ours = wrk.summarize([(wrk.Round(500, 10.0, 10.0, 40.0), 2.5, 0.5),
                          (wrk.Round(300, 10.0, 12.0, 60.0, non_2xx=1), 1.5, 0.3)])
    assert (ours.req_per_s, ours.p50_ms, ours.p99_ms, ours.failures) == (40.0, 11.0, 50.0, 1)
    assert (round(ours.cpu_ms, 6), round(ours.db_cpu_ms, 6)) == (5.0, 1.0)
    theirs = wrk.summarize([(wrk.Round(1600, 20.0, 1.0, 3.0), 1.6, 0.8)])
    results = {"plant": (ours, theirs), "typename": (theirs, theirs)}
    assert wrk.ratio_lines(results, ("plant", "equipment")) == ["ratio plant 0.50"]
    lines = wrk.table(results, ("PlasmaTwin", "PostGraphile"))
    assert len(lines) == 5 and lines[1].split()[:3] == ["plant", "PlasmaTwin", "40"]


def test_lua_script_escapes_the_body_and_sends_the_headers() -> None:
    script = wrk.lua_script({"query": '{ equipment(code: "EQ-1") { code } }'}, {"Authorization": "Bearer a.b"})
    assert 'wrk.method = "POST"' in script
    assert r'wrk.body = "{\"query\":\"{ equipment(code: \\\"EQ-1\\\") { code } }\"}"' in script
    assert 'wrk.headers["Authorization"] = "Bearer a.b"' in script


def test_our_queries_are_valid_against_the_published_schema() -> None:
    schema = build_schema((Path(__file__).resolve().parents[1] / "frontend" / "schema.graphql").read_text())
    for name, (ours, _theirs) in peer.queries("EQ-1", "B1").items():
        assert validate(schema, parse(ours)) == [], name
    assert set(peer.RATIOS) < set(peer.queries("EQ-1", "B1"))


def test_without_node_the_bench_skips_loudly_and_succeeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(peer, "NODE", tmp_path / "node")
    assert peer.main() == 0
    assert "bench-peer SKIPPED: Node 22 or PostGraphile 5 is not installed" in capsys.readouterr().out
