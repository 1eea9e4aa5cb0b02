# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Judging what `service_state` read on a host: which Exchange it is, each service's check, a per-role summary shaped
like Test-ServiceHealth, hints for known causes, and the one-line verdict.

For internal collection use only. Pure functions over plain data (the Windows module's result), unit-tested without a host.

Test-ServiceHealth (facts section 3) returns one object per role: Role, RequiredServicesRunning, ServicesRunning,
ServicesNotRunning, and counts only Automatic services. Here a required service that is not running counts whatever its
start mode: after a disaster a Disabled or Manual Exchange service is exactly what must be reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_services import (
    ROLE_LABELS,
    ExpectedService,
    ServicePlan,
    plan_services,
    roles_from_role_keys,
)
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import CUMULATIVE_UPDATES, ExchangeRelease, cu_build, release_of

RUNNING = "running"
AUTOMATIC = ("auto", "delayed")
TRANSPORT_SERVICES = ("MSExchangeTransport", "MSExchangeFrontEndTransport")
# Win32 codes the module reports for a failed start (System Error Codes).
ERROR_SERVICE_REQUEST_TIMEOUT = 1053
ERROR_SERVICE_DISABLED = 1058
ERROR_SERVICE_DEPENDENCY_FAIL = 1068
ERROR_SERVICE_LOGON_FAILED = 1069
ERROR_DEPENDENCY_NOT_FOUND = 1075
ERROR_PROCESS_ABORTED = 1067


@dataclass
class Identity:
    """Which Exchange a host runs, and where that answer came from."""

    release: ExchangeRelease | None
    roles: list[str]
    version_source: str  # option | host | none
    roles_source: str  # option | host | none
    hints: list[dict[str, str]] = field(default_factory=list)
    exact_build: bool = False  # the build is known (from the host or given as a build number), not just the product


def _is_build(text: str) -> bool:
    return "." in text


def parse_version_option(value: str) -> ExchangeRelease:
    """`exchange_version` as users give it: a product ('2019', 'SE', '2016 CU23') or a build ('15.2.1544.4')."""
    text = str(value).strip()
    parts = text.upper().replace("CU", " CU ").split()
    product = {"SUBSCRIPTION": "SE", "SUBSCRIPTIONEDITION": "SE"}.get(parts[0], parts[0]) if parts else ""
    if product in ("2007", "2010"):
        return release_of("8.3" if product == "2007" else "14.3")
    if product in ("2013", "2016", "2019", "SE"):
        cu = int(parts[2]) if len(parts) >= 3 and parts[1] == "CU" and parts[2].isdigit() else None
        if cu is None:
            cu = max(CUMULATIVE_UPDATES[product])
        return release_of(cu_build(product, cu))
    return release_of(text)


def host_build(exchange: Mapping[str, Any] | None) -> str | None:
    return (exchange or {}).get("build") or None


def resolve_identity(version_option: str | None, roles_option: Iterable[str] | None, exchange: Mapping[str, Any] | None) -> Identity:
    """The release and roles to judge with: options win; otherwise what the Setup registry key says.

    `exchange` is the module's `exchange` result (None before the host was read).
    """
    hints: list[dict[str, str]] = []
    exchange = exchange or {}
    host_release = None
    if host_build(exchange):
        try:
            host_release = release_of(str(exchange["build"]))
        except ValueError:
            hints.append(hint("unknown_build", f"The Exchange Setup key holds build {exchange['build']!r}, which is not a known Exchange release."))
    if version_option:
        release, version_source = parse_version_option(version_option), "option"
        if host_release is not None and host_release.product != release.product:
            hints.append(
                hint(
                    "version_mismatch",
                    f"exchange_version says {release.name} but the host's Exchange Setup key says {host_release.name} ({host_release.build_string}): "
                    "the services were judged for the declared version; correct the inventory if the host is right.",
                )
            )
        elif host_release is not None:
            release = host_release  # same product: the host knows the exact build
        exact = release is host_release or _is_build(str(version_option))
    elif host_release is not None:
        release, version_source, exact = host_release, "host", True
    else:
        release, version_source, exact = None, "none", False

    host_roles = roles_from_role_keys(release.product, [k["name"] for k in exchange.get("role_keys") or []]) if release else []
    if roles_option:
        roles, roles_source = list(roles_option), "option"
    elif host_roles:
        roles, roles_source = host_roles, "host"
    elif release is not None:
        roles, roles_source = [], "none"
        hints.append(
            hint(
                "roles_unknown",
                f"No configured Exchange role was found in the registry and no exchange_roles were given: only the Email Router and "
                f"include_services were checked on this {release.name} server. Give exchange_roles (or the host variable) to check its services.",
            )
        )
    else:
        roles, roles_source = [], "none"
    return Identity(release, roles, version_source, roles_source, hints, exact)


def hint(code: str, message: str, service: str | None = None) -> dict[str, str]:
    out = {"code": code, "message": message}
    if service:
        out["service"] = service
    return out


def _describe(svc: Mapping[str, Any] | None) -> str:
    if not svc or not svc.get("exists"):
        return "not installed"
    return f"start mode {svc.get('start_mode')}, state {svc.get('state')}"


def judge(
    plan: ServicePlan,
    observed: Iterable[Mapping[str, Any]],
    *,
    identity: Identity | None = None,
    exchange: Mapping[str, Any] | None = None,
    check_mode: bool = False,
    host: str = "",
) -> dict[str, Any]:
    """Checks, per-role summary, hints and verdict for what the module returned about `plan`'s services."""
    by_name = {str(s["name"]).casefold(): s for s in observed}
    checks: list[dict[str, Any]] = []
    hints: list[dict[str, str]] = list(identity.hints) if identity else []
    for expected in plan.services:
        svc = by_name.get(expected.name.casefold()) or {"name": expected.name, "exists": False}
        exists = bool(svc.get("exists"))
        running = exists and svc.get("state") == RUNNING
        action = svc.get("action") or "none"
        if expected.level == "required":
            if running:
                result = "ok"
            elif not exists and expected.when_present:
                result = "skipped"
            elif check_mode and action == "would_start":
                result = "would_start"
            else:
                result = "failed"
        elif expected.level == "monitored":
            result = "ok" if running else ("would_start" if check_mode and action == "would_start" else "warning")
        else:
            result = "info"
        checks.append(
            {
                "name": svc.get("name") or expected.name,
                "display_name": svc.get("display_name"),
                "level": expected.level,
                "roles": [ROLE_LABELS[r] for r in expected.rows],
                "expected_start_mode": expected.start_mode,
                "expected_state": "running" if expected.running else "any",
                "exists": exists,
                "start_mode": svc.get("start_mode") if exists else None,
                "state": svc.get("state") if exists else None,
                "state_before": svc.get("state_before") if exists else None,
                "dependencies": list(svc.get("dependencies") or []),
                "action": action,
                "start_error": svc.get("start_error"),
                "start_error_code": svc.get("start_error_code"),
                "stopped_again": bool(svc.get("stopped_again")),
                "win32_exit_code": svc.get("win32_exit_code") if exists else None,
                "result": result,
            }
        )
    hints += _hints(plan, checks, by_name, exchange or {})
    summary = _summary(plan, checks)
    failed = [c for c in checks if c["result"] == "failed"]
    warnings = [c for c in checks if c["result"] == "warning"]
    would_start = [c["name"] for c in checks if c["result"] == "would_start"]
    where = f" on {host}" if host else ""
    if failed:
        listed = ", ".join(f"{c['name']} ({_describe(by_name.get(c['name'].casefold()))})" for c in failed)
        msg = f"{len(failed)} required service(s) not running{where}: {listed}"
    elif plan.release is None and not any(c["exists"] for c in checks):
        msg = f"No Exchange installation found{where}; nothing to check"
    else:
        ok = [c["name"] for c in checks if c["level"] == "required" and c["result"] == "ok"]
        msg = f"All {len(ok)} required service(s) running{where}"
        if plan.release is None:
            msg = f"No Exchange installation found{where}; all {len(ok)} required service(s) running ({', '.join(ok)})"
        if would_start:
            msg += f" once {', '.join(would_start)} start(s) (check mode)"
        if warnings:
            msg += f"; {len(warnings)} other Exchange service(s) not running: {', '.join(c['name'] for c in warnings)}"
    return {
        "healthy": not failed,
        "checks": checks,
        "summary": summary,
        "hints": _dedupe(hints),
        "not_running": [c["name"] for c in failed],
        "warnings_not_running": [c["name"] for c in warnings],
        "msg": msg,
    }


def _summary(plan: ServicePlan, checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for row in plan.rows:
        label = ROLE_LABELS[row]
        members = [c for c in checks if label in c["roles"] and c["result"] != "skipped"]
        if not members:
            continue  # the Email Router when it is not installed
        running = sorted((c["name"] for c in members if c["result"] == "ok"), key=str.casefold)
        not_running = sorted((c["name"] for c in members if c["result"] != "ok"), key=str.casefold)
        rows.append({"role": label, "required_services_running": not not_running, "services_running": running, "services_not_running": not_running})
    return rows


def _hints(plan: ServicePlan, checks: list[dict[str, Any]], by_name: Mapping[str, Mapping[str, Any]], exchange: Mapping[str, Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    incomplete = [k for k in exchange.get("role_keys") or [] if _incomplete(k)]
    for key in incomplete:
        out.append(
            hint(
                "setup_incomplete",
                f"Exchange Setup did not finish the {key['name']} component (registry: "
                + ", ".join(f"{n}={key.get(n)!r}" for n in ("unpacked_version", "configured_version", "action", "watermark") if key.get(n))
                + "). Rerun Setup (it resumes; /Mode:RecoverServer for a recovery) before starting services by hand.",
            )
        )
    for check in checks:
        if check["result"] not in ("failed", "warning"):
            continue
        name = check["name"]
        svc = by_name.get(name.casefold()) or {}
        if not check["exists"]:
            out.append(
                hint(
                    "not_installed",
                    f"{name} is not installed: the server's version or roles may differ from what was assumed "
                    f"({plan.release.name if plan.release else 'no Exchange'}; roles {', '.join(plan.roles) or 'none'}), or Setup did not complete.",
                    name,
                )
            )
            continue
        mode, code = check["start_mode"], svc.get("start_error_code")
        if mode == "disabled" and name.casefold() != "mscrmemail":
            out.append(
                hint(
                    "disabled_after_failed_setup",
                    f"{name} is Disabled. A failed or interrupted Exchange Setup leaves Exchange services Disabled (\"The service cannot be "
                    "started, either because it is disabled...\"): check C:\\ExchangeSetupLogs\\ExchangeSetup.log, rerun Setup to completion, "
                    "then set the start mode back to Automatic.",
                    name,
                )
            )
        elif mode == "disabled":
            out.append(hint("disabled", f"{name} is Disabled: set it back to Automatic before starting it.", name))
        if name in TRANSPORT_SERVICES and mode == "manual":
            out.append(
                hint(
                    "do_not_start_transport",
                    f"{name} is Manual: Setup with /DoNotStartTransport leaves the transport services so, until the queue database is back. "
                    "Set MSExchangeTransport and MSExchangeFrontEndTransport back to Automatic afterwards.",
                    name,
                )
            )
        if svc.get("stopped_again") or (check["state"] != RUNNING and svc.get("win32_exit_code") == ERROR_PROCESS_ABORTED):
            text = f"{name} reached Running and stopped again" if svc.get("stopped_again") else f"{name} terminated unexpectedly (exit code 1067)"
            if name.casefold() == "mscrmemail":
                text += (
                    ": the Email Router stops when it cannot read its state or configuration files (Application log, source MSCRMEmail, "
                    "#16192): check Microsoft.Crm.Tools.EmailAgent.SystemState.xml and the service account's read access to EmailAgent.xml."
                )
            else:
                text += ": the service fails after starting (System log events 7034/7031); read its Application log errors before retrying."
            out.append(hint("stopped_after_start", text, name))
        if code == ERROR_SERVICE_REQUEST_TIMEOUT or (check["start_error"] and "did not reach" in str(check["start_error"])):
            out.append(
                hint(
                    "start_timeout",
                    f"{name} did not report Running in time ({check['start_error']}); System log events 7009/7000 name the cause.",
                    name,
                )
            )
        if code == ERROR_SERVICE_LOGON_FAILED:
            out.append(hint("logon_failure", f"{name} could not log on with its service account (1069): reset the account's password in the service.", name))
        for dep in check["dependencies"]:
            dep_svc = by_name.get(dep.casefold())
            if dep_svc is not None and dep_svc.get("exists") and dep_svc.get("start_mode") == "disabled":
                out.append(hint("dependency_disabled", f"{name} depends on {dep}, which is Disabled: it cannot start until {dep} is enabled.", name))
            elif dep_svc is not None and not dep_svc.get("exists"):
                out.append(hint("dependency_missing", f"{name} depends on {dep}, which is not installed (1075).", name))
        if code == ERROR_DEPENDENCY_NOT_FOUND and not any(h.get("service") == name and h["code"] == "dependency_missing" for h in out):
            out.append(hint("dependency_missing", f"{name} depends on a service that is not installed (1075): {', '.join(check['dependencies'])}.", name))
        if code == ERROR_SERVICE_DEPENDENCY_FAIL and not any(h.get("service") == name and h["code"].startswith("dependency") for h in out):
            text = f"{name} could not start because a service it depends on failed to start (1068): {check['start_error']}"
            out.append(hint("dependency_failed", text, name))
    return out


def explicit_plan(identity: Identity, services: Iterable[Mapping[str, Any]]) -> ServicePlan:
    """A plan from the `services` option: each service as given, in the "Additional services" row."""
    plan = ServicePlan(identity.release, tuple(identity.roles), ("Additional",))
    for entry in services:
        required = bool(entry.get("required", True))
        plan.services.append(ExpectedService(str(entry["name"]), "required" if required else "monitored", "auto", True, ("Additional",) if required else ()))
    return plan


def _incomplete(key: Mapping[str, Any]) -> bool:
    """DSC's test (facts section 1): UnpackedVersion without ConfiguredVersion, or an Action or Watermark value."""
    return bool((key.get("unpacked_version") and not key.get("configured_version")) or key.get("action") or key.get("watermark"))


def _dedupe(hints: list[dict[str, str]]) -> list[dict[str, str]]:
    seen, out = set(), []
    for h in hints:
        key = (h["code"], h.get("service"), h["message"])
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out


def evaluate(
    *,
    version_option: str | None,
    roles_option: Iterable[str] | None,
    include: Iterable[str],
    exclude: Iterable[str],
    email_router_service: str | None,
    module_result: Mapping[str, Any],
    explicit_services: Iterable[Mapping[str, Any]] | None = None,
    check_mode: bool = False,
    host: str = "",
) -> dict[str, Any]:
    """Everything the action plugin adds to the module's result."""
    exchange = module_result.get("exchange") or {}
    identity = resolve_identity(version_option, roles_option, exchange)
    if explicit_services is not None:
        plan = explicit_plan(identity, explicit_services)
    else:
        plan = plan_services(identity.release, identity.roles, include=include, exclude=exclude, email_router_service=email_router_service)
    observed = list(module_result.get("services") or [])
    read = {str(s.get("name", "")).casefold() for s in observed}
    unread = [s.name for s in plan.services if s.name.casefold() not in read]
    if unread:  # the table for the host's exact build lists a service the call did not ask for: judge only what was read
        plan.services = [s for s in plan.services if s.name.casefold() in read]
        plan.notes.append(f"not read, so not judged: {', '.join(unread)}")
    verdict = judge(plan, observed, identity=identity, exchange=exchange, check_mode=check_mode, host=host)
    release = identity.release
    verdict["exchange_version"] = (
        {
            "product": release.product,
            "name": release.name,
            "build": release.build_string if identity.exact_build else None,
            "cu": release.cu,
            "source": identity.version_source,
        }
        if release
        else None
    )
    verdict["exchange_roles"] = list(identity.roles)
    verdict["roles_source"] = identity.roles_source
    verdict["notes"] = list(plan.notes)
    return verdict
