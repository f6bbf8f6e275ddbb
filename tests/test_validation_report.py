"""`make validate`'s report (tests/validation_report.py): each requirement's tests with the result they had in the
run, open requirements with their reason, and the counts that decide whether the package passes."""

from __future__ import annotations

from pathlib import Path

from tests.validation_report import environment, matrix, results, verdict

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.test_a" name="test_ok[sqlite]"/><testcase classname="tests.test_a" name="test_ok[postgres]"/>
<testcase classname="tests.test_a" name="test_bad"><failure message="x"/></testcase>
<testcase classname="tests.test_b.TestGroup" name="test_in_class"><skipped message="no chromium"/></testcase>
</testsuite></testsuites>"""
TRACE = """| ID | level | requirement | tests |
|---|---|---|---|
| IT-01 | SHALL | One. | `tests/test_a.py::test_ok` |
| IT-02 | SHALL | Two. | `tests/test_a.py::test_bad`<br>`tests/test_a.py::test_ok` |
| IT-03 | SHALL | Three. | open: documentary |
| IT-04 | SHALL | Four. | — |
| IT-05 | SHOULD | Five. | `tests/test_b.py::TestGroup::test_in_class` |
| IT-06 | SHALL | Six. | `tests/test_c.py::test_never_ran` |
| IT-07 | SHALL (declarative) | Seven. | open: documentary |
"""


def test_the_package_shows_each_requirement_with_its_results_and_counts_the_gaps(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text(JUNIT)
    (tmp_path / "trace.md").write_text(TRACE)
    runs = results(tmp_path / "junit.xml")
    assert runs["tests/test_a.py::test_ok"] == ["passed", "passed"]
    assert verdict(runs["tests/test_b.py::TestGroup::test_in_class"]) == "SKIPPED"
    text, counts = matrix(tmp_path / "trace.md", runs)
    assert counts == {"shall": 6, "proven": 1, "failing": 2, "open": 2, "uncovered": 1}
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines() if line.startswith("| IT-")}
    assert "`tests/test_a.py::test_ok` passed (2)" in rows["IT-01"]
    assert "`tests/test_a.py::test_bad` FAILED" in rows["IT-02"]
    assert "open: documentary" in rows["IT-03"] and "NOT RUN" in rows["IT-06"]
    # The environment states the version of everything the run used, and whether the pins held.
    env = environment()
    assert "PlasmaTwin" in env and "Python 3." in env and "pinned in constraints.txt" in env
