"""Soak the test suites under CPU load and count what fails (`make soak`): a flaky test is a defect, this finds them.

    .venv/bin/python -m tests.tools.soak_tests [--runs 20] [--suites unit,simulator] [--load N] [--out DIR]

Runs each suite `--runs` times exactly as `make unit` / `make simulator` run it (pytest -n 2 --dist loadfile), one after the
other, while `--load` busy-loop processes (default: one per CPU) compete for the CPU, the way a shared CI machine or a
developer's other work does. Every pytest run writes a JUnit XML file and its output to `--out` (default .work/soak); the
tool reads the failures and errors per test from the XML and prints a table per test and per run. A pytest run that ends
badly without a failing test case in its XML (a crash, a collection error, a timeout) counts as a failure of the run itself,
and so does a simulator server the run left running (it is stopped). The temporary folders of a failed run are kept (the
log names them). Exits 1 if any run failed, 0 if every run passed; Ctrl-C or SIGTERM stop the run and print the table so far.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET  # our own pytest's JUnit files, not untrusted input

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
# The same selection and distribution as the Makefile's `unit` and `simulator` targets.
SUITES: dict[str, list[str]] = {
    "unit": ["tests/unit", "-n", "2", "--dist", "loadfile"],
    "simulator": ["tests/simulator/tests", "-m", "slow", "-n", "2", "--dist", "loadfile"],
}
# Spins a CPU until its parent (this tool) is gone, so an interrupted soak never leaves load behind.
BUSY_LOOP = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    for _spin in range(1_000_000):\n        pass\n"


@dataclass
class Outcome:
    """One pytest run of one suite."""

    run: int
    suite: str
    rc: int
    seconds: float
    tests: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # test id -> "failure" | "error", first line of the message
    log: Path | None = None

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.failed


def parse_junit(path: Path) -> tuple[int, dict[str, str]]:
    """(test cases, {test id: "failure: first line" | "error: first line"}) from a pytest JUnit XML file."""
    root = ET.parse(path).getroot()  # noqa: S314 - see the import
    cases = 0
    failed: dict[str, str] = {}
    for case in root.iter("testcase"):
        cases += 1
        for kind in ("failure", "error"):
            node = case.find(kind)
            if node is None:
                continue
            test_id = node_id(case.get("classname", ""), case.get("name", ""))
            message = (node.get("message") or node.text or "").strip().splitlines()
            failed[test_id] = f"{kind}: {message[0][:120] if message else ''}"
            break
    return cases, failed


def node_id(classname: str, name: str) -> str:
    """pytest's node id (tests/x/test_y.py::Class::test[param]) from JUnit's dotted classname and the test name."""
    parts = classname.split(".") if classname else []
    for cut in range(len(parts), 0, -1):
        path = "/".join(parts[:cut]) + ".py"
        if (ROOT / path).is_file():
            return "::".join([path, *parts[cut:], name])
    return "::".join([*parts, name]) if parts else name


@contextmanager
def cpu_load(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` busy-loop processes for the duration of the block; each is stopped (and reaped) afterwards."""
    procs = [subprocess.Popen([PYTHON, "-c", BUSY_LOOP], stdin=subprocess.DEVNULL) for _index in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def stop_group(proc: subprocess.Popen[bytes], grace: float = 30) -> None:
    """Ctrl-C to pytest and its workers (fixtures tear down: the estates they started are stopped), then SIGKILL."""
    for signum, wait in ((signal.SIGINT, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_suite(run: int, suite: str, out: Path, extra: Sequence[str], timeout: float) -> Outcome:
    """One pytest run of `suite`, its JUnit XML and output kept in `out`."""
    junit = out / f"run{run:02d}-{suite}.xml"
    log = out / f"run{run:02d}-{suite}.log"
    junit.unlink(missing_ok=True)
    # the run's temporary folders (estates' state) in one known place: what they started can be found and stopped
    basetemp = Path(tempfile.gettempdir()) / f"soak-tests-{os.getpid()}" / f"run{run:02d}-{suite}"
    basetemp.parent.mkdir(parents=True, exist_ok=True)  # pytest makes the last level only
    argv = [PYTHON, "-m", "pytest", *SUITES[suite], "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", f"--basetemp={basetemp}", *extra]
    started = time.monotonic()
    with log.open("w") as fh:
        # its own process group, so that stopping it reaches the xdist workers too
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_group(proc)
            rc = -1
            fh.write(f"\nsoak_tests: pytest did not finish within {timeout:.0f} s\n")
        except KeyboardInterrupt:
            stop_group(proc)
            stop_servers(basetemp)
            shutil.rmtree(basetemp, ignore_errors=True)
            raise
    stopped = stop_servers(basetemp)
    outcome = Outcome(run, suite, rc, time.monotonic() - started, log=log)
    if stopped:
        outcome.failed[f"{suite} (simulator servers left running)"] = f"error: stopped {stopped} server(s) the run did not stop"
    if junit.exists():
        try:
            outcome.tests, outcome.failed = parse_junit(junit)
        except ET.ParseError as exc:
            outcome.failed[f"{suite} (JUnit XML)"] = f"error: unreadable: {exc}"
    if rc != 0 and not outcome.failed:
        outcome.failed[f"{suite} (pytest run)"] = f"error: pytest exited with {rc}, no failing test case; see {log}"
    if outcome.ok:
        shutil.rmtree(basetemp, ignore_errors=True)
    else:
        with log.open("a") as fh:
            fh.write(f"soak_tests: the temporary folders of this run are kept in {basetemp}\n")
    return outcome


def stop_servers(basetemp: Path) -> int:
    """SIGTERM every `python -m simulator serve --state DIR` whose DIR is under `basetemp` (estates a run started and did
    not stop, e.g. when it was interrupted); returns how many. Linux (/proc) only; elsewhere nothing is found."""
    prefix = str(basetemp)
    count = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "simulator" in args and "serve" in args and any(arg == prefix or arg.startswith(prefix + os.sep) for arg in args):
            with suppress(ProcessLookupError):
                os.kill(int(cmdline.parent.name), signal.SIGTERM)
                count += 1
    return count


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def report(outcomes: list[Outcome], runs: int, load: int, wall: float, suites: Sequence[str] = ()) -> str:
    """The per-run and per-test tables and a summary line."""
    per_run = [[str(o.run), o.suite, str(o.tests), str(len(o.failed)), str(o.rc), f"{o.seconds:.0f}", "ok" if o.ok else "FAILED"] for o in outcomes]
    text = ["Per run:", table(per_run, ["run", "suite", "tests", "failed", "rc", "seconds", "result"]), ""]
    by_test: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for o in outcomes:
        for test_id, what in o.failed.items():
            by_test[test_id].append((o.run, what))
    if by_test:
        rows = [
            [test_id, str(len(hits)), ",".join(str(run) for run, _what in hits), hits[0][1]]
            for test_id, hits in sorted(by_test.items(), key=lambda item: (-len(item[1]), item[0]))
        ]
        text += ["Failures per test:", table(rows, ["test", "failed runs", "runs", "first message"]), ""]
    else:
        text += ["Failures per test: none", ""]
    red = sorted({o.run for o in outcomes if not o.ok})
    suites = sorted(set(suites) | {o.suite for o in outcomes})
    text.append(
        f"{runs} runs of {', '.join(suites)} under {load} busy-loop process(es): {len(red)} run(s) with a failure"
        f"{' (' + ', '.join(map(str, red)) + ')' if red else ''}; {len(by_test)} distinct failing test(s); wall time {wall / 60:.1f} min"
    )
    return "\n".join(text)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="how many times to run each suite (default 20)")
    parser.add_argument("--suites", default="unit,simulator", help=f"comma-separated, of {', '.join(SUITES)} (default unit,simulator)")
    parser.add_argument("--load", type=int, default=os.cpu_count() or 1, help="busy-loop processes running meanwhile (default: one per CPU)")
    parser.add_argument("--out", type=Path, default=ROOT / ".work" / "soak", help="where the JUnit XML and logs of every run go")
    parser.add_argument("--timeout", type=float, default=1800, help="real seconds one pytest run may take before it counts as failed")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --), e.g. -k transport")
    args = parser.parse_args(argv)
    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    unknown = [s for s in suites if s not in SUITES]
    if unknown or not suites:
        parser.error(f"--suites: unknown suite(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(SUITES)}")
    if args.runs < 1 or args.load < 0:
        parser.error("--runs must be at least 1 and --load at least 0")
    args.out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the load and the running pytest like Ctrl-C does
    outcomes: list[Outcome] = []
    started = time.monotonic()
    print(f"soak: {args.runs} run(s) of {', '.join(suites)} with {args.load} busy-loop process(es); output in {args.out}", flush=True)
    interrupted = False
    try:
        with cpu_load(args.load):
            for run in range(1, args.runs + 1):
                for suite in suites:
                    outcome = run_suite(run, suite, args.out, args.pytest_args, args.timeout)
                    outcomes.append(outcome)
                    status = "ok" if outcome.ok else f"FAILED: {', '.join(sorted(outcome.failed))}"
                    print(f"run {run:2d}/{args.runs} {suite:<9} {outcome.tests:4d} tests {outcome.seconds:6.0f} s  {status}", flush=True)
    except KeyboardInterrupt:
        interrupted = True
        print("soak: interrupted; the table covers the runs that finished", flush=True)
    print()
    print(report(outcomes, len({o.run for o in outcomes}), args.load, time.monotonic() - started, suites))
    with suppress(OSError):  # gone unless a failed run's folders are kept in it
        (Path(tempfile.gettempdir()) / f"soak-tests-{os.getpid()}").rmdir()
    if interrupted:
        return 130
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
