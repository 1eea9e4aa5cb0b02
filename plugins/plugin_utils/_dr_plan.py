# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The DR run's plan for one host: which phases have work to do, in which order, and why.

For internal collection use only. The `exchange_dr.recovery.dr_plan` filter turns the preflight facts of a host (one
`exchange_info` result, plus what is known of the Email Router) into the plan that `playbooks/dr_run.yml` prints in check mode
and follows for real. A phase whose work is already done is left out, so a run interrupted at any phase completes without
redoing finished work. The recovery judgement itself is `_exchange_setup.preflight()` and the prerequisite list is
`_exchange_prerequisites.plan()`: the same code the recover_server and exchange_prerequisites roles rely on.

A server whose AD object links it to a database availability group (`ad_server.dag`, from msExchMDBAvailabilityGroupLink),
or that variables, a DR kit or the record of an earlier run name as one, gets two more phases run from a surviving DAG
member (a lost server cannot run Exchange cmdlets): `dag_remove` before Setup (its copies, its membership, its cluster node)
and `dag_add` after the services are verified (membership, copies with their settings, healthy copies). See docs/dag.md.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _exchange_dag as dag
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _exchange_prerequisites as prerequisites
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _exchange_setup as setup
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _exchange_versions as versions

# databases is optional: only for a host with databases to bring back (restore_database_databases)
PHASES = (
    "preflight",
    "prerequisites",
    "dag_remove",
    "recover",
    "reboot",
    "reapply",
    "verify",
    "dag_add",
    "databases",
    "edge_config",
    "edge_subscription",
    "transport_queue",
    "email_router",
    "final_verify",
)
CLONED_PRODUCTS = ("2007", "2010", "2013")  # ExportEdgeConfig.ps1 / ImportEdgeConfig.ps1 ship with these (docs/transport-and-edge.md)


@dataclass
class HostPlan:
    host: str
    exchange_action: str  # refuse | none | reboot | recover | resume | skip (not an Exchange target)
    refusal: str | None = None
    phases: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(PHASES, False))
    steps: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing_prerequisites: list[str] = field(default_factory=list)
    email_router_installed: bool = False
    dag: dict[str, Any] | None = None
    edge: dict[str, Any] | None = None  # an Edge Transport server's recovery: method, kit file, subscription server

    def add(self, phase: str, what: str) -> None:
        self.phases[phase] = True
        self.steps.append({"phase": phase, "what": what})

    def to_dict(self) -> dict[str, Any]:
        self.steps.sort(key=lambda s: PHASES.index(s["phase"]))  # stable: steps of one phase keep their order
        lines = [f"{i}. {s['phase']}: {s['what']}" for i, s in enumerate(self.steps, 1)]
        if self.refusal:
            lines = [f"REFUSED: {self.refusal}"]
        elif not lines:
            lines = ["nothing to do: this host is recovered"]
        return {
            "host": self.host,
            "exchange_action": self.exchange_action,
            "refused": self.refusal is not None,
            "refusal": self.refusal,
            "phases": dict(self.phases),
            "run": [p for p in PHASES if self.phases[p]],
            "steps": list(self.steps),
            "lines": lines + [f"warning: {w}" for w in self.warnings],
            "warnings": list(self.warnings),
            "missing_prerequisites": list(self.missing_prerequisites),
            "email_router_installed": self.email_router_installed,
            "dag": dict(self.dag) if self.dag else None,
            "edge": dict(self.edge) if self.edge is not None else None,
        }


def plan_host(
    host: str,
    info: dict[str, Any] | None,
    *,
    recover: bool = True,
    router: dict[str, Any] | None = None,
    reboot_first: bool = True,
    kit: str | None = None,
    dag_member: dict[str, Any] | None = None,
    edge: dict[str, Any] | None = None,
    databases: list[str] | None = None,
) -> dict[str, Any]:
    """The plan of one host.

    info        the host's exchange_info result (None when the host is not an Exchange recovery target)
    recover     the host is in the Exchange recovery group
    router      None when the Email Router is not restored on this host, else what preflight learnt:
                {"installed": bool | None, "service_state": str | None}
    kit         the DR kit to re-apply after the recovery (docs/dr-kit.md), or None
    dag_member  what the run knows of a DAG membership besides AD: {"dag": name from variables, "via": the host to run
                the DAG cmdlets on, "record" or "record_path": the record of an earlier dag_remove, "kit": a DR kit
                manifest (or its path), "inventory":
                every inventory host, "recovering": the hosts being recovered}
    databases   the names of the databases the restore_database role brings back on this host (None or empty: no phase)
    """
    plan = HostPlan(host, "skip")
    if edge is not None:
        return _plan_edge(plan, info, edge).to_dict()
    if recover and info is not None:
        other = another_computer(host, info)
        if other:
            plan.exchange_action, plan.refusal = setup.REFUSE, other
        else:
            _plan_exchange(plan, info, reboot_first)
        if plan.refusal is None:
            _plan_dag(plan, host, info, dag_member or {})
    if plan.refusal is None:
        plan.phases["preflight"] = True
        if kit and recover and info is not None:
            # idempotent: after a finished recovery it only sets what differs, so an interrupted run puts back the rest
            plan.add(
                "reapply", f"re-apply the DR kit {kit}: certificates, virtual directories, receive connectors, transport settings, .config files (what differs)"
            )
        if router is not None:
            _plan_router(plan, router)
        if (plan.phases["recover"] or plan.phases["reboot"] or plan.phases["prerequisites"]) and not plan.phases["verify"]:
            plan.add("verify", "check every Exchange service of the recovered server and start the Automatic ones that are stopped")
        if recover and info is not None and databases:
            # Always planned when listed: the role's module judges each database itself and changes nothing when it is back.
            plan.add(
                "databases",
                f"bring back {len(databases)} database(s) - {', '.join(databases)}: restore from the backup what is lost, "
                "soft recovery, mount, retention (restore_database; each database's own plan in the phase)",
            )
        if recover or router is not None:
            plan.phases["final_verify"] = True
            plan.steps.append({"phase": "final_verify", "what": "read every service once more and judge the host's health (no change)"})
    return plan.to_dict()


def another_computer(host: str, info: dict[str, Any]) -> str | None:
    """Why the inventory host reached another computer (its name is not the computer's), or None. An inventory host that is
    an IP address says nothing about the name; an FQDN is compared by its first label. Without this check a typo in
    ansible_host would plan the recovery of whatever computer answers - and change it."""
    computer = str(info.get("computer_name") or "").strip()
    name = str(host or "").strip()
    if not computer or not name:
        return None
    try:
        ipaddress.ip_address(name.strip("[]"))
        return None
    except ValueError:
        pass
    label = name.split(".", 1)[0]
    if label.casefold() == computer.casefold():
        return None
    return (
        f"The inventory host {name} answers as the computer {computer.upper()}: its address (ansible_host) reaches another "
        f"computer, or Windows was installed with another name. Nothing was changed on {computer.upper()}. Point {name} at the "
        f"new server, which must carry the lost server's name, or name the inventory entry after the computer it reaches."
    )


def _plan_edge(plan: HostPlan, info: dict[str, Any] | None, edge: dict[str, Any]) -> HostPlan:
    """An Edge Transport server: Setup /Mode:RecoverServer cannot rebuild it (its configuration is in its own AD LDS). The
    rebuilt server - a clean installation of the Edge Transport role of the lost server's release - gets the configuration
    kept in the DR kit (cloned on 2007 to 2013, else declared), a new Edge Subscription from a Mailbox or Hub Transport
    server of its site, and a check of its queue database. Each step compares first, so a finished step changes nothing.

    edge: {"kit_dir": str, "name": str, "data": bool (the kit has <name>.CloneConfigData.xml), "definition": bool (the kit has
    <name>.edge-definition.yml), "method": auto|cloned|declared, "subscribe": bool, "subscription_server": str | None,
    "check_queue": bool}"""
    plan.exchange_action = "edge"
    name = str(edge.get("name") or plan.host).upper()
    plan.edge = {"method": None, "file": None, "subscription_server": edge.get("subscription_server")}
    other = another_computer(plan.host, info or {})
    if other:
        plan.refusal = other
        return plan
    exchange = (info or {}).get("exchange") or {}
    if not exchange.get("installed"):
        plan.refusal = (
            f"{name} has no Exchange installed: install the Edge Transport role of the lost Edge's release on the rebuilt server "
            f"(Setup /Mode:Install /Roles:EdgeTransport; the collection does not run it), then run again"
        )
        return plan
    roles = [str(r) for r in exchange.get("roles") or []]
    if "EdgeTransportRole" not in roles:
        plan.refusal = f"{name} is in the Edge group but its Exchange has the roles {', '.join(roles) or 'none'}, not the Edge Transport role"
        return plan
    if exchange.get("incomplete") or not exchange.get("configured"):
        plan.refusal = f"the Edge Transport role on {name} is not completely installed (Setup did not finish): run Setup again, then this"
        return plan
    try:
        product = versions.release_of(str(exchange.get("version"))).product
    except ValueError as error:
        plan.refusal = f"{name}: {error}"
        return plan
    if ((info or {}).get("domain") or {}).get("joined"):
        plan.warnings.append(f"{name} is joined to a domain: an Edge Transport server belongs in the perimeter network, outside the internal forest")
    kit_dir = str(edge.get("kit_dir") or "")
    if not kit_dir:
        plan.refusal = f"{name}: set recover_edge_kit_dir, the DR kit folder on the controller with the Edge's exported configuration"
        return plan
    method = str(edge.get("method") or "auto")
    data_file, definition_file = f"{kit_dir}/{name}.CloneConfigData.xml", f"{kit_dir}/{name}.edge-definition.yml"
    if method == "auto":
        method = "cloned" if product in CLONED_PRODUCTS and edge.get("data") else "declared"
    if method == "cloned" and product not in CLONED_PRODUCTS:
        plan.refusal = f"{name} runs Exchange {product}, which has no ImportEdgeConfig.ps1: use the declared configuration ({definition_file})"
        return plan
    wanted = data_file if method == "cloned" else definition_file
    if not edge.get("data" if method == "cloned" else "definition"):
        plan.refusal = (
            f"the DR kit has no {'cloned' if method == 'cloned' else 'declared'} configuration for {name}: {wanted} is missing. Export it from "
            f"the healthy Edge beforehand (playbook exchange_dr.recovery.recover_edge with recover_edge_state=exported), or write the "
            f"definition of a 2016 or later Edge by hand (docs/transport-and-edge.md)"
        )
        return plan
    if edge.get("subscribe", True) and not edge.get("subscription_server"):
        plan.refusal = f"{name}: no Mailbox or Hub Transport server to subscribe the Edge from: set recover_edge_subscription_server"
        return plan
    plan.edge.update(method=method, file=wanted)
    plan.phases["preflight"] = True
    stopped = stopped_automatic_services(info or {})
    if stopped:
        plan.add("verify", f"start the Automatic Exchange services that are stopped: {', '.join(stopped)}")
    how = "ImportEdgeConfig.ps1 (cloned configuration)" if method == "cloned" else "the Edge cmdlets (declared configuration)"
    plan.add("edge_config", f"import {wanted} with {how}; nothing when the Edge already has it")
    if edge.get("subscribe", True):
        server = edge.get("subscription_server")
        plan.add(
            "edge_subscription",
            f"subscribe {name} to its Active Directory site from {server} (the old subscription removed first) and wait for EdgeSync; "
            f"nothing when EdgeSync already synchronizes it",
        )
    if edge.get("check_queue", True):
        plan.add("transport_queue", "read the queue database and the Transport service and judge them (no change)")
    plan.phases["final_verify"] = True
    plan.steps.append({"phase": "final_verify", "what": "read every service once more and judge the host's health (no change)"})
    return plan


def _plan_exchange(plan: HostPlan, info: dict[str, Any], reboot_first: bool) -> None:
    verdict = setup.preflight(info, reboot=reboot_first)
    plan.exchange_action = verdict.action
    plan.warnings.extend(verdict.warnings)
    if verdict.action == setup.REFUSE:
        plan.refusal = verdict.msg
        return
    if verdict.action == setup.NOTHING:
        if any((info.get("pending_reboot") or {}).values()):
            plan.add("reboot", "restart: a restart is still pending after the recovery")
        stopped = stopped_automatic_services(info)
        if stopped:
            # a run that stopped at verify (a service that would not start) left them so; verify starts them, final_verify
            # only reads
            plan.add("verify", f"start the Automatic Exchange services that are stopped: {', '.join(stopped)}")
        return
    try:
        prereq = prerequisites.plan(info)
        plan.missing_prerequisites = list(prereq.missing)
        missing = ", ".join(prereq.missing) if prereq.missing else "none of the runtimes"
        plan.add("prerequisites", f"install what {prereq.requirements.release.name} needs that is missing: {missing}; the Windows features")
    except prerequisites.PrerequisiteError as e:
        plan.refusal = f"prerequisites: {e}"
        return
    if verdict.action == setup.REBOOT:
        plan.steps.insert(0, {"phase": "prerequisites", "what": verdict.msg})
    plan.add("recover", ("resume: " if verdict.action == setup.RESUME else "") + verdict.msg)
    plan.add("reboot", "restart if Setup left a restart pending (recover_server restarts and continues when Setup asks)")


def _plan_dag(plan: HostPlan, host: str, info: dict[str, Any], given: dict[str, Any]) -> None:
    """The DAG phases of a server that was a DAG member (AD says so, or variables, a kit or an earlier run's record)."""
    ad = info.get("ad_server") or {}
    server = str(ad.get("name") or info.get("computer_name") or host).upper()
    try:
        record = given.get("record") or dag.read_record(given.get("record_path"))
        kit = dag.settings_from_kit(dag.load_kit(given.get("kit"), server), server) if given.get("kit") else None
    except dag.DagError as e:
        plan.refusal = f"{server}: {e}"
        return
    sources = [("Active Directory", ad.get("dag")), ("recover_dag_member_dag", given.get("dag")), ("the DR kit", (kit or {}).get("dag"))]
    sources.append(("the record of an earlier run", (record or {}).get("dag")))
    named = [(where, str(name)) for where, name in sources if name]
    if not named:
        return
    if len({name.casefold() for _where, name in named}) > 1:
        plan.refusal = f"{server} belongs to which DAG? " + "; ".join(f"{where} says {name}" for where, name in named) + ": fix the wrong one"
        return
    where, name = named[0]
    members = list(ad.get("dag_members") or (record or {}).get("members") or (kit or {}).get("members") or [])
    via = dag.choose_via(server, members, given.get("inventory") or [], given.get("recovering") or [], given.get("via"))
    if via is None:
        plan.refusal = (
            f"{server} was a member of {name} (from {where}); its DAG steps run on a surviving member, and none is in the inventory"
            f" (members: {', '.join(members) or 'unknown'}): add one to the inventory or set recover_dag_member_via"
        )
        return
    plan.dag = {"name": name, "source": where, "via": via, "members": members, "kit": given.get("kit") if kit else None}
    if plan.phases["recover"]:
        plan.add(
            "dag_remove",
            f"on {via}: record the settings of {server}'s copies in {name}, remove its copies and its membership"
            " (Remove-DatabaseAvailabilityGroupServer -ConfigurationOnly) and evict its cluster node",
        )
    plan.add(
        "dag_add",
        f"on {via}: add {server} back to {name} and its copies with their activation preference and lag times, and wait"
        " until every copy is healthy (Get-MailboxDatabaseCopyStatus, Test-ReplicationHealth)",
    )


def stopped_automatic_services(info: dict[str, Any]) -> list[str]:
    """Exchange services that should run (start mode Automatic, delayed or not) but do not."""
    return sorted(
        str(svc.get("name"))
        for svc in info.get("services") or []
        if str(svc.get("start_mode") or "").lower() in ("auto", "delayed") and str(svc.get("state") or "").lower() != "running"
    )


def _plan_router(plan: HostPlan, router: dict[str, Any]) -> None:
    installed = bool(router.get("installed"))
    plan.email_router_installed = installed
    state = str(router.get("service_state") or "").lower()
    if installed and state == "running" and not plan.phases["recover"]:
        # installed and running: the role still compares the configuration set and changes nothing when it is the same
        plan.add("email_router", "compare the Email Router configuration with the backup (installed and running: no reinstall)")
    elif installed:
        plan.add("email_router", "put the Email Router configuration set back and start the service (installed)")
    else:
        plan.add("email_router", "reinstall the Email Router unattended, put its configuration set back, start the service")
