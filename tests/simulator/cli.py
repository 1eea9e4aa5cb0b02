"""`python -m simulator ...`: start, stop, status, serve, fault, inventory (see README.md)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from simulator.estate import Estate, EstateError, prepare_state_dir
from simulator.faults import SPECS, FaultSet, make_fault

WINRM_HTTP, WINRM_HTTPS = 5985, 5986
PID_FILE, LOG_FILE, INVENTORY_FILE = "server.pid", "server.log", "inventory.yml"
TESTS_DIR = Path(__file__).resolve().parent.parent  # what puts `simulator` on sys.path


class CliError(Exception):
    """A failure to report in one line (exit code 1)."""


# -- process helpers ---------------------------------------------------------------------------------------------------------
def server_pid(state_dir: Path) -> int | None:
    """The pid of the `serve` process of this state folder, if it is running (a stale pid file is ignored)."""
    try:
        pid = int((state_dir / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    args = [a.decode(errors="replace") for a in cmdline]
    if "simulator" not in args or "serve" not in args or "--state" not in args[:-1]:
        return None
    try:
        cwd = Path(f"/proc/{pid}/cwd").readlink()
    except OSError:
        return None
    served = (cwd / args[args.index("--state") + 1]).resolve()
    return pid if served == state_dir.resolve() else None


def answers(address: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def _log_tail(state_dir: Path, lines: int = 25) -> str:
    try:
        return "\n".join((state_dir / LOG_FILE).read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no server.log)"


# -- inventory ---------------------------------------------------------------------------------------------------------------
def build_inventory(estate: Estate, https: bool = False) -> dict[str, Any]:
    """An Ansible inventory for the estate: connection settings, one entry per host, groups per role."""
    hosts: dict[str, Any] = {}
    groups: dict[str, set[str]] = {"windows": set()}
    org = estate.domain.exchange if estate.domain else None
    for name, cfg in estate.config.hosts.items():
        user, password = _admin_account(cfg.accounts)
        hosts[name] = {"ansible_host": cfg.address, "ansible_user": user, "ansible_password": password}
        groups["windows"].add(name)
        member_of = list(cfg.groups)
        server = org.servers.get(name.upper()) if org else None
        roles = list(server.roles) if server else []
        if server or cfg.seed.get("exchange"):
            member_of.append("exchange_servers")
        member_of += [ROLE_GROUPS[r] for r in roles]
        if estate.shares_of(name):
            member_of.append("file_servers")
        if cfg.domain_joined:
            member_of.append("domain_members")
        for group in member_of:
            groups.setdefault(group, set()).add(name)
    return {
        "all": {
            "vars": {
                "ansible_connection": "winrm",
                "ansible_port": WINRM_HTTPS if https else WINRM_HTTP,
                "ansible_winrm_scheme": "https" if https else "http",
                "ansible_winrm_transport": "ntlm",
                "ansible_winrm_server_cert_validation": "validate",
                "ansible_winrm_ca_trust_path": str((estate.state_dir / "ca.pem").resolve()),
                "simulator_state_dir": str(estate.state_dir.resolve()),
            },
            "hosts": hosts,
            "children": {g: {"hosts": dict.fromkeys(sorted(members))} for g, members in sorted(groups.items())},
        }
    }


# Inventory group per Exchange role of a host's server object (2007/2010 objects also have Hub Transport and UM roles).
ROLE_GROUPS = {
    "Mailbox": "mailbox_servers",
    "ClientAccess": "client_access_servers",
    "Edge": "edge_servers",
    "HubTransport": "hub_transport_servers",
    "UnifiedMessaging": "unified_messaging_servers",
}


def _admin_account(accounts: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """Prefer the local Administrator, then any local admin, then any admin."""
    admins = [(u, a["password"]) for u, a in accounts.items() if a["admin"]]
    for user, pw in admins:
        if user.split("\\")[-1].casefold() == "administrator" and "\\" not in user:
            return user, pw
    local = [(u, p) for u, p in admins if "\\" not in u]
    return (local or admins)[0]


def write_inventory(estate: Estate, https: bool = False) -> Path:
    path = estate.state_dir / INVENTORY_FILE
    header = f"# Written by `python -m simulator start` for estate {estate.name!r} (state {estate.state_dir.resolve()}).\n"
    path.write_text(header + yaml.safe_dump(build_inventory(estate, https), sort_keys=False))
    return path


# -- commands ----------------------------------------------------------------------------------------------------------------
def cmd_start(args: argparse.Namespace) -> int:
    state_dir = Path(args.state).resolve()
    pid = server_pid(state_dir)
    if pid is not None:
        raise CliError(f"{state_dir}: already running (pid {pid}); `stop` it first")
    prepare_state_dir(Path(args.estate), state_dir, force_auto=args.auto_addresses)
    estate = Estate.open(state_dir, writable=False)  # from here on the server owns the state
    log = open(state_dir / LOG_FILE, "ab")  # noqa: SIM115 - handed to the child process
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "serve", "--state", str(state_dir)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # survives the terminal / test that started it
        env=env,
        cwd=str(state_dir),
    )
    log.close()
    (state_dir / PID_FILE).write_text(f"{proc.pid}\n")
    _wait_ready(estate, proc, args.timeout)
    inventory = write_inventory(estate, https=args.https)
    print(f"estate {estate.name!r} running (pid {proc.pid}); inventory: {inventory}")
    for name, cfg in estate.config.hosts.items():
        print(f"  {name:<15} {cfg.address}:{WINRM_HTTP},{WINRM_HTTPS}")
    return 0


def _wait_ready(estate: Estate, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Until every host that is powered on answers on 5985 and 5986."""
    expected = [(name, cfg.address) for name, cfg in estate.config.hosts.items() if estate.host(name).state.power in ("on", "shutting_down", "rebooting")]
    deadline = time.monotonic() + timeout
    waiting = list(expected)
    while waiting:
        if proc.poll() is not None:
            raise CliError(f"the server exited with {proc.returncode}; {estate.state_dir / LOG_FILE}:\n{_log_tail(estate.state_dir)}")
        waiting = [(n, a) for n, a in waiting if not (answers(a, WINRM_HTTP) and answers(a, WINRM_HTTPS))]
        if not waiting:
            return
        if time.monotonic() > deadline:
            proc.terminate()
            names = ", ".join(name for name, _address in waiting)
            raise CliError(f"not answering after {timeout:.0f}s: {names}; server log:\n{_log_tail(estate.state_dir)}")
        time.sleep(0.05)


def cmd_stop(args: argparse.Namespace) -> int:
    state_dir = Path(args.state).resolve()
    pid = server_pid(state_dir)
    if pid is None:
        print(f"{state_dir}: not running")
        (state_dir / PID_FILE).unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while server_pid(state_dir) is not None and _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            # gone, not just signalled: until then its listeners still hold the addresses a restart wants back
            for _wait in range(200):
                if not _alive(pid):
                    break
                time.sleep(0.05)
            break
        time.sleep(0.05)
    (state_dir / PID_FILE).unlink(missing_ok=True)
    print(f"stopped (pid {pid}); state kept in {state_dir}")
    return 0


def _alive(pid: int) -> bool:
    try:
        waited = os.waitpid(pid, os.WNOHANG)[0]  # reap it if it is our child (tests)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(")")[-1].split()[0] != "Z"


def host_status(state_dir: Path, running: bool) -> list[dict[str, Any]]:
    estate = Estate.open(state_dir, writable=False)
    out = []
    for name, cfg in estate.config.hosts.items():
        host = estate.host(name)
        up = host.is_up()
        out.append(
            {
                "name": name,
                "address": cfg.address,
                "power": host.state.power,
                "up": up,
                "answering": running and answers(cfg.address, WINRM_HTTP) and answers(cfg.address, WINRM_HTTPS),
                "boot_time": host.boot_time.isoformat(),
                "pending_reboot": [k for k, v in host.pending_reboot().items() if v],
                "faults": [f.to_dict() for f in estate.faults.active(name)],
            }
        )
    return out


def cmd_status(args: argparse.Namespace) -> int:
    state_dir = Path(args.state).resolve()
    pid = server_pid(state_dir)
    hosts = host_status(state_dir, pid is not None)
    if args.json:
        print(json.dumps({"state_dir": str(state_dir), "running": pid is not None, "pid": pid, "hosts": hosts}, indent=1))
        return 0
    print(f"{state_dir}: {'running (pid ' + str(pid) + ')' if pid else 'not running'}")
    for h in hosts:
        state = "answering" if h["answering"] else ("up" if h["up"] else h["power"])
        faults = ", ".join(f["name"] + (f"[{f['target']}]" if f["target"] else "") for f in h["faults"])
        extra = (f"  pending reboot: {','.join(h['pending_reboot'])}" if h["pending_reboot"] else "") + (f"  faults: {faults}" if faults else "")
        print(f"  {h['name']:<15} {h['address']:<16} {state:<10} boot {h['boot_time']}{extra}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    state_dir = Path(args.state).resolve()
    if args.estate:
        prepare_state_dir(Path(args.estate), state_dir)
    # the server saves a host after every WinRM command; the flusher saves what happens in between (a boot finishing)
    estate = Estate.open(state_dir, autosave=False)
    from simulator.server import EstateServer  # the protocol layers sit above the model

    server = EstateServer(estate, state_dir)
    (state_dir / PID_FILE).write_text(f"{os.getpid()}\n")
    log = logging.getLogger("simulator")
    log.info("serving estate %r from %s", estate.name, state_dir)
    stop = threading.Event()
    flusher = threading.Thread(target=_flush_loop, args=(estate, stop), name="state-flusher", daemon=True)
    try:
        server.start()
        flusher.start()
        server.serve_forever()
    finally:
        stop.set()
        estate.flush()
        if server_pid(state_dir) == os.getpid():
            (state_dir / PID_FILE).unlink(missing_ok=True)
    return 0


def _flush_loop(estate: Estate, stop: threading.Event, interval: float = 0.25) -> None:
    while not stop.wait(interval):
        try:
            estate.tick()
            estate.flush()
        except Exception:
            logging.getLogger("simulator").exception("saving host state")


def cmd_fault(args: argparse.Namespace) -> int:
    state_dir = Path(args.state).resolve()
    faults = FaultSet.for_state_dir(state_dir)
    if args.action == "list":
        for f in faults.all():
            print(json.dumps(f.to_dict()))
        return 0
    if not args.name or not args.host:
        raise CliError(f"fault {args.action} needs NAME and --host (known faults: {', '.join(sorted(SPECS))})")
    estate = Estate.open(state_dir, writable=False)
    host = args.host if args.host == "*" else estate.config.host_config(args.host).name
    if args.action == "on":
        fault = make_fault(args.name, host, args.target, _params(args.param))
        faults.switch_on(fault)
        print(f"on: {json.dumps(fault.to_dict())}")
    else:
        removed = faults.switch_off(args.name, host, args.target)
        print(f"off: {removed} fault(s) {args.name} on {host}")
    return 0


def _params(pairs: list[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise CliError(f"--param {pair!r}: expected key=value")
        out[key] = yaml.safe_load(value)  # 5 -> int, 0.5 -> float, true -> bool, text stays text
    return out


def cmd_inventory(args: argparse.Namespace) -> int:
    estate = Estate.open(Path(args.state).resolve(), writable=False)
    if args.write:
        print(write_inventory(estate, https=args.https))
    else:
        sys.stdout.write(yaml.safe_dump(build_inventory(estate, https=args.https), sort_keys=False))
    return 0


# -- argument parsing --------------------------------------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m simulator", description="Simulated Windows hosts that speak WinRM (see tests/simulator/README.md).")
    sub = p.add_subparsers(dest="command", required=True)

    def state(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--state", required=True, metavar="DIR", help="state folder of the estate")

    s = sub.add_parser("start", help="start an estate in the background; returns once every host answers")
    s.add_argument("--estate", required=True, metavar="FILE", help="estate YAML file")
    state(s)
    s.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for every host to answer (default 60)")
    s.add_argument("--https", action="store_true", help="inventory connects over HTTPS (5986) instead of NTLM over HTTP (5985)")
    s.add_argument("--auto-addresses", action="store_true", help="treat every address as `auto` (parallel runs never collide)")
    s.set_defaults(func=cmd_start)

    s = sub.add_parser("stop", help="stop the server of a state folder (state stays on disk)")
    state(s)
    s.add_argument("--timeout", type=float, default=10.0)
    s.set_defaults(func=cmd_stop)

    s = sub.add_parser("status", help="server and hosts: address, up/down, boot time, pending reboot, faults")
    state(s)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("serve", help="run the server in the foreground (what `start` spawns)")
    state(s)
    s.add_argument("--estate", metavar="FILE", help="prepare the state folder from this estate first")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("fault", help="switch a named fault on or off at run time (or list the active ones)")
    state(s)
    s.add_argument("action", choices=["on", "off", "list"])
    s.add_argument("name", nargs="?", help=f"one of: {', '.join(sorted(SPECS))}")
    s.add_argument("--host", help="host name, or * for every host")
    s.add_argument("--target", help="service name / drive letter, for faults that take one")
    s.add_argument("--param", action="append", metavar="KEY=VALUE", help="fault parameter (repeatable), e.g. seconds=5")
    s.set_defaults(func=cmd_fault)

    s = sub.add_parser("inventory", help="print the Ansible inventory of a state folder")
    state(s)
    s.add_argument("--https", action="store_true")
    s.add_argument("--write", action="store_true", help="(re)write DIR/inventory.yml instead of printing")
    s.set_defaults(func=cmd_inventory)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except EstateError as e:
        print(f"estate error: {e}", file=sys.stderr)
        return 2
    except (CliError, ValueError, KeyError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
