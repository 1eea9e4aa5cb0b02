"""Helpers for tests that drive a simulated estate.

    from simulator.testing import running_estate

    def test_something(tmp_path):
        with running_estate("tests/simulator/estates/example.yml", tmp_path / "state") as lab:
            result = lab.ansible("all", "-m", "ansible.windows.win_ping")
            assert result.returncode == 0, result.stdout
            assert lab.host("EX01").service("MSExchangeIS").state == "running"   # checked without the server

Or as a pytest fixture: `pytest_plugins = ["simulator.testing"]` in a conftest.py, then

    def test_something(sim_estate):
        lab = sim_estate({"name": "t", "hosts": {"WIN01": {"accounts": {"Administrator": {"password": "pw", "admin": True}}}}})

Every address is forced to `auto` (random 127.x.y.z) so parallel runs never collide. By default the estate runs the way a
developer runs it (`python -m simulator start` in the background); `in_process=True` serves it from the test process
instead (faster start, and `wire_tap` sees every request body).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from simulator import cli
from simulator.clock import VirtualWall
from simulator.estate import Estate, load_host, prepare_state_dir
from simulator.faults import FaultSet, make_fault
from simulator.host import Host

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLE_ESTATE = Path(__file__).resolve().parent / "estates" / "example.yml"


class RunningEstate:
    """A started estate: where its state and inventory are, and ways to look at and poke it."""

    def __init__(self, state_dir: Path, inventory: Path, server: Any = None) -> None:
        self.state_dir = state_dir
        self.inventory = inventory
        self.server = server  # the in-process EstateServer, if any

    def host(self, name: str) -> Host:
        """A fresh read-only snapshot of a host's state (state.json + fs/), as the server last saved it."""
        return load_host(self.state_dir, name)

    @property
    def estate(self) -> Estate:
        return Estate.open(self.state_dir, writable=False)

    @property
    def host_names(self) -> list[str]:
        return list(self.estate.config.hosts)

    def address(self, name: str) -> str:
        return self.estate.address_of(name)

    def fault_on(self, name: str, host: str, target: str | None = None, **params: Any) -> None:
        FaultSet.for_state_dir(self.state_dir).switch_on(make_fault(name, host, target, params))

    def fault_off(self, name: str, host: str, target: str | None = None) -> int:
        return FaultSet.for_state_dir(self.state_dir).switch_off(name, host, target)

    def stats(self) -> dict[str, Any]:
        if self.server is not None:
            self.server.write_stats()
        path = self.state_dir / "stats.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for ansible commands: the repository's ansible.cfg, no colour, the venv's tools first on PATH."""
        return {
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_LOCAL_TEMP": str(self.state_dir / ".ansible-tmp"),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            **extra,
        }

    def ansible(self, *args: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run `ansible -i <inventory> ARGS` (stdout and stderr together in .stdout)."""
        return self._run([str(BIN / "ansible"), "-i", str(self.inventory), *args], timeout, env)

    def playbook(self, playbook: str | Path, *args: str, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run `ansible-playbook -i <inventory> PLAYBOOK ARGS`; `playbook` is a path or the YAML text of a play."""
        path = Path(playbook) if isinstance(playbook, Path) or "\n" not in str(playbook) else None
        if path is None:
            path = self.state_dir / f"play-{os.getpid()}-{id(playbook)}.yml"
            path.write_text(str(playbook))
        return self._run([str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(path), *args], timeout, env)

    def _run(self, argv: list[str], timeout: float, env: dict[str, str] | None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, env=self.env(**(env or {})), cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False
        )


def _estate_file(estate: str | Path | dict[str, Any], state_dir: Path) -> Path:
    if isinstance(estate, dict):
        path = state_dir.parent / f"{state_dir.name}-estate.yml"
        path.write_text(yaml.safe_dump(estate, sort_keys=False))
        return path
    return Path(estate)


@contextlib.contextmanager
def running_estate(
    estate: str | Path | dict[str, Any],
    state_dir: str | Path,
    *,
    https: bool = False,
    timeout: float = 60.0,
    in_process: bool = False,
    wire_tap: Callable[[str, str, str, bytes], None] | None = None,
) -> Iterator[RunningEstate]:
    """Start an estate (a YAML file or a dict) in `state_dir` with every address `auto`; stop it afterwards."""
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    source = _estate_file(estate, state_dir)
    if in_process:
        from simulator.server import EstateServer

        prepare_state_dir(source, state_dir, force_auto=True)
        lab = Estate.open(state_dir)
        server = EstateServer(lab, state_dir, wire_tap=wire_tap)
        server.start()
        try:
            yield RunningEstate(state_dir, cli.write_inventory(lab, https=https), server)
        finally:
            server.stop()
            lab.flush()
        return
    argv = ["start", "--estate", str(source), "--state", str(state_dir), "--auto-addresses", "--timeout", str(timeout)]
    rc = cli.main([*argv, "--https"] if https else argv)
    if rc != 0:
        raise RuntimeError(f"`python -m simulator {' '.join(argv)}` failed with {rc}; see {state_dir / cli.LOG_FILE}")
    try:
        yield RunningEstate(state_dir, state_dir / cli.INVENTORY_FILE)
    finally:
        cli.main(["stop", "--state", str(state_dir)])


def make_host(
    root: str | Path,
    name: str = "WIN01",
    *,
    os_version: str = "10.0.17763",
    seed: dict[str, Any] | None = None,
    drives: dict[str, Any] | None = None,
    faults: list[dict[str, Any]] | None = None,
    time_scale: float = 0.001,
    reboot_seconds: float = 20.0,
    domain: dict[str, Any] | None = None,
    shares: dict[str, Any] | None = None,
    other_hosts: dict[str, Any] | None = None,
) -> Host:
    """A fully built host (baseline + seed) of an estate under `root`, without any server: for unit tests. The host is
    domain-joined when `domain` is given; `other_hosts` adds more hosts (e.g. a file server owning `shares`).

    Its clock runs on a VirtualWall: simulated time moves only while the test (or what it calls) waits in simulated time
    (`host.clock.sleep(s)`, a service start, a program's work), never between two of the test's statements. So a timer
    due "5 simulated seconds later" fires exactly when the test lets that much time pass, however busy the machine is."""
    spec: dict[str, Any] = {
        "os": {"version": os_version},
        "accounts": {"Administrator": {"password": "Passw0rd!", "admin": True}},
        "drives": drives or {"C": {"size_gb": 100, "free_gb": 60}},
        "state": seed or {},
        "faults": faults or [],
    }
    doc: dict[str, Any] = {"name": "unit", "time_scale": time_scale, "reboot_seconds": reboot_seconds, "hosts": {name: spec, **(other_hosts or {})}}
    if domain:
        doc["domain"] = domain
    if shares:
        doc["shares"] = shares
    return prepare_state_dir(doc, Path(root), force_auto=True, wall=VirtualWall()).host(name)


def task_failed(result: dict[str, Any]) -> bool:
    """Whether ansible-core marks a task failed on this module result before failed_when: a result without a `failed` key
    fails when its `rc` is not 0 (ansible/executor/task_executor.py, TaskExecutor._execute: "rc is here for backwards
    compatibility"). The e2e tests get this from ansible-core itself; unit tests of twins use this stand-in."""
    if "failed" in result:
        return bool(result["failed"])
    return "rc" in result and result["rc"] not in (0, "0")


try:  # the fixture exists when pytest does
    import pytest
except ImportError:  # pragma: no cover
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def sim_estate(tmp_path: Path) -> Iterator[Callable[..., RunningEstate]]:
        """Factory fixture: `sim_estate(estate, **running_estate_options)` starts an estate; all are stopped at teardown."""
        with contextlib.ExitStack() as stack:
            counter = iter(range(1000))

            def start(estate: str | Path | dict[str, Any] = EXAMPLE_ESTATE, **kwargs: Any) -> RunningEstate:
                return stack.enter_context(running_estate(estate, tmp_path / f"estate{next(counter)}", **kwargs))

            yield start
