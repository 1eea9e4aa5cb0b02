"""EstateServer: the WinRM endpoints of every host of an estate, their life cycle, faults and counters.

For each host: a :class:`~simulator.transport.Listener` (HTTP 5985 + HTTPS 5986 on the host's address, certificate from the
estate CA), a :class:`~simulator.wsman.WSManService` (its shells) and a :class:`~simulator.payload.PayloadRunner` (what
Ansible's payloads do to the host). A monitor thread follows each host's power state (a rebooting host closes its
listeners and loses its shells) and writes DIR/stats.json. Faults come from the estate's FaultSet, which re-reads
DIR/control.json by itself when it changes.

Faults handled here: ``drop_connection`` (the next ``count`` Command requests close the TCP connection; ``at: receive`` runs
the command first) and ``slow_host`` (every request waits ``seconds`` of simulated time).
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator import payload, pki, transport, wsman

log = logging.getLogger(__name__)

MONITOR_INTERVAL = 0.05  # how quickly a host that went down stops answering, and a booted one answers again


@dataclass
class Endpoint:
    """Everything that answers for one host."""

    host: Any
    listener: transport.Listener
    service: wsman.WSManService
    runner: payload.PayloadRunner
    up: bool = False


class EstateServer:
    """Serves an estate (simulator.estate.Estate) over WinRM."""

    def __init__(
        self,
        estate: Any,
        state_dir: Path | None = None,
        *,
        ports: tuple[int, int] = (5985, 5986),
        wire_tap: Callable[[str, str, str, bytes], None] | None = None,
    ) -> None:
        """``wire_tap(host, scheme, content_type, body)`` sees every request body as it arrived (tests of encryption)."""
        self.estate = estate
        self.wire_tap = wire_tap
        self.state_dir = Path(state_dir or estate.state_dir)
        self.ports = ports
        self.stats = transport.Stats()
        self.endpoints: dict[str, Endpoint] = {}
        self._workdir: Path | None = None
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        self._stats_written = ""

    # -- life cycle --------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Issue certificates, bind every host that is up, start the monitor. Returns once the listeners accept."""
        self._workdir = transport.private_workdir()
        ca = pki.ensure_ca(self.state_dir, str(getattr(self.estate, "name", "estate")))
        for name, host in self.estate.hosts.items():
            self.endpoints[name] = self._endpoint(name, host, ca)
        self._follow_power_state()
        self._monitor = threading.Thread(target=self._watch, name="estate-monitor", daemon=True)
        self._monitor.start()

    def stop(self) -> None:
        """Close every listener and write the final counters; host state stays on disk."""
        self._stop.set()
        if self._monitor:
            self._monitor.join(timeout=5)
        for endpoint in self.endpoints.values():
            endpoint.listener.stop()
            endpoint.service.reset()
        self.write_stats()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def serve_forever(self) -> None:
        """Block until SIGTERM/SIGINT or :meth:`stop` (the ``serve`` command)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self._stop.set())
        self._stop.wait()
        self.stop()

    def __enter__(self) -> EstateServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def ca_path(self) -> Path:
        return self.state_dir / "ca.pem"

    # -- wiring ------------------------------------------------------------------------------------------------------
    def _endpoint(self, name: str, host: Any, ca: pki.CertPair) -> Endpoint:
        address = str(host.address)
        fqdn = host_fqdn(self.estate, host)
        cert = pki.ensure_host_cert(self.state_dir, ca, name, fqdn, address)
        book = transport.AccountBook(name, lambda h=host: credentials_of(h), dns_domain=domain_name(self.estate))
        accounts = payload.Accounts(
            resolve=lambda user, b=book: _account(b.resolve(user)),
            check_password=lambda user, password, b=book: _account(b.check_password(user, password)),
        )
        runner = payload.PayloadRunner(host, accounts, on_module=lambda fqcn, cpu, wall, n=name: self.stats.module(n, fqcn, cpu, wall))
        service = wsman.WSManService(
            name.upper(),
            runner,
            on_command=lambda caller, n=name: self._command_fault(n),
            after_command=lambda h=host: _save(h),
            on_command_done=lambda label, requests, n=name: self.stats.command_requests(n, label, requests),
        )
        listener = transport.Listener(
            host_name=name,
            address=address,
            app=service.handle,
            accounts=book,
            workdir=self._workdir or transport.private_workdir(),
            tls=transport.TlsIdentity(cert.cert, cert.key),
            allow_unencrypted=bool(getattr(self.estate, "allow_unencrypted", False)),
            stats=self.stats,
            delay=lambda n=name: self._slow_host_delay(n),
            ports=self.ports,
            wire_tap=(lambda scheme, ctype, body, n=name: self.wire_tap(n, scheme, ctype, body)) if self.wire_tap else None,
        )
        return Endpoint(host=host, listener=listener, service=service, runner=runner)

    # -- monitor -----------------------------------------------------------------------------------------------------
    def _watch(self) -> None:
        last_stats = 0.0
        while not self._stop.wait(MONITOR_INTERVAL):
            try:
                self._follow_power_state()
                if time.monotonic() - last_stats > 1.0:
                    self.write_stats()
                    last_stats = time.monotonic()
            except Exception:
                log.exception("estate monitor")

    def _follow_power_state(self) -> None:
        for name, endpoint in self.endpoints.items():
            up = bool(endpoint.host.is_up())
            if up == endpoint.up:
                continue
            if up:
                try:
                    endpoint.listener.start()
                except OSError as exc:
                    log.error("%s: cannot listen on %s: %s", name, endpoint.listener.address, exc)
                    continue
                log.info("%s: up, listening on %s", name, endpoint.listener.address)
            else:
                endpoint.listener.stop()
                endpoint.service.reset()  # the WinRM service died with the host: every shell is gone
                log.info("%s: down", name)
            endpoint.up = up

    def write_stats(self) -> None:
        text = json.dumps(self.stats.snapshot(), indent=1, sort_keys=True)
        if text == self._stats_written:
            return
        tmp = self.state_dir / ".stats.json.tmp"
        tmp.write_text(text)
        tmp.replace(self.state_dir / "stats.json")
        self._stats_written = text

    # -- faults ------------------------------------------------------------------------------------------------------
    @property
    def faults(self) -> Any:
        return getattr(self.estate, "faults", None)

    def _active(self, host_name: str, fault_name: str) -> list[Any]:
        return list(self.faults.active(host_name, fault_name)) if self.faults is not None else []

    def _slow_host_delay(self, host_name: str) -> float:
        seconds = sum(float(_params(f).get("seconds", 1.0)) for f in self._active(host_name, "slow_host"))
        if seconds <= 0:
            return 0.0
        clock = getattr(self.estate, "clock", None)
        return clock.real_seconds(seconds) if clock is not None else seconds

    def _command_fault(self, host_name: str) -> str | None:
        """drop_connection: use up one shot (FaultSet.consume counts ``count`` down and switches the fault off at 0)."""
        fault = self.faults.consume(host_name, "drop_connection") if self.faults is not None else None
        if fault is None:
            return None
        return "drop-receive" if str(_params(fault).get("at", "command")).lower() == "receive" else "drop"


# -- adapters to the host/estate model -------------------------------------------------------------------------------
def credentials_of(host: Any) -> list[transport.Credential]:
    """Every account that can log on to the host (``host.all_accounts()``; a mapping ``host.accounts`` in unit tests)."""
    if callable(getattr(host, "all_accounts", None)):
        return [transport.Credential(a.name, a.password, bool(a.admin), bool(a.domain)) for a in host.all_accounts()]
    return [
        transport.Credential(str(name), str(_field(spec, "password") or ""), bool(_field(spec, "admin")), "\\" in str(name))
        for name, spec in dict(host.accounts).items()
    ]


def domain_name(estate: Any) -> str | None:
    domain = getattr(estate, "domain", None)
    name = _field(domain, "name") if domain is not None else None
    return str(name) if name else None


def host_fqdn(estate: Any, host: Any) -> str | None:
    explicit = getattr(host, "fqdn", None)
    if explicit:
        return str(explicit)
    domain = domain_name(estate)
    joined = getattr(host, "domain_joined", True)
    return f"{host.name.lower()}.{domain}" if domain and joined else None


def _account(cred: transport.Credential | None) -> str | None:
    return cred.account if cred is not None else None


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _params(fault: Any) -> dict[str, Any]:
    return dict(_field(fault, "params") or {})


def _save(host: Any) -> None:
    save = getattr(host, "save", None)
    if callable(save):
        save()
