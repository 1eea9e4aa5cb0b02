# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: dr_plan
short_description: The DR run's plan for one host, from its preflight facts
version_added: 0.1.0
author:
  - exchange_dr.recovery maintainers (@exchange-dr)
description:
  - Turns what preflight learnt about a host (an M(exchange_dr.recovery.exchange_info) result and the Email Router's state)
    into the plan C(exchange_dr.recovery.dr_run) follows - which phases have work to do on this host, in which order, and why.
  - A phase whose work is already done is left out, so a run interrupted at any phase completes without redoing finished
    work. A host that cannot be recovered (no Exchange server object in Active Directory, not domain-joined, an Edge Transport
    server outside O(edge), Scripting Agent without its configuration file, media older than the lost server, ...) gets a
    refusal instead of a plan,
    and so does an inventory host that reaches a computer of another name (a wrong C(ansible_host)).
  - A recovered server whose Automatic Exchange services are stopped (a run that stopped at C(verify)) gets the C(verify)
    phase again, which starts them.
  - The recovery judgement is the one M(exchange_dr.recovery.recover_server) applies, so the plan and the role agree.
  - An Edge Transport server (O(edge)) is planned apart - its configuration from the DR kit, a new Edge Subscription, a check
    of its queue database; each of those steps compares first and changes nothing when it is done.
options:
  _input:
    description: The host's M(exchange_dr.recovery.exchange_info) result, or C(None) when the host is not an Exchange recovery target.
    type: dict
    required: true
  host:
    description:
      - The host's inventory name, shown in the plan. Unless it is an IP address, its first DNS label must be the computer name
        M(exchange_dr.recovery.exchange_info) read.
    type: str
    default: ""
  recover:
    description: Whether the host is in the Exchange recovery group.
    type: bool
    default: true
  router:
    description:
      - "C(None) when the Email Router is not restored on this host; else what preflight learnt of it: a dict with
        C(installed) (bool) and C(service_state) (str)."
    type: dict
  reboot_first:
    description: Restart a host with a pending restart before Setup (else the host is refused, as Setup would fail).
    type: bool
    default: true
  kit:
    description:
      - The DR kit to re-apply after the recovery (a kit folder, docs/dr-kit.md); the plan gets a C(reapply) phase. C(None)
        or empty - no re-apply.
    type: str
  dag_member:
    description:
      - "What the run knows of a database availability group membership besides the AD object's (C(ad_server.dag)): a
        dict with C(dag) (the DAG's name from variables), C(via) (the inventory host that runs the DAG cmdlets), C(record)
        or C(record_path) (the record an earlier C(dag_remove) wrote, or its file on the controller), C(kit) (a DR kit
        manifest or its path), C(inventory) (every inventory host) and
        C(recovering) (the hosts being recovered). A DAG member gets the C(dag_remove) and C(dag_add) phases, run on a
        surviving member; a member with no surviving member in the inventory, or sources that disagree on its DAG, is
        refused."
    type: dict
  edge:
    description:
      - "C(None) unless the host is an Edge Transport server to recover (inventory group C(edge_servers)); then a dict:
        C(kit_dir) (the DR kit folder on the controller), C(name) (the kit files' base name), C(data) and C(definition)
        (whether C(<name>.CloneConfigData.xml) and C(<name>.edge-definition.yml) are in the kit), C(method)
        (V(auto), V(cloned) or V(declared)), C(subscribe), C(subscription_server) and C(check_queue)."
      - An Edge gets the phases C(edge_config), C(edge_subscription) and C(transport_queue) instead of Setup's; it is refused
        when Exchange or its Edge Transport role is not installed, or when the kit lacks the configuration its release needs.
    type: dict
  databases:
    description:
      - The names of the databases the C(databases) phase brings back on this host (the role
        C(exchange_dr.recovery.restore_database)); empty - no C(databases) phase.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Plan this host's part of the DR run
  ansible.builtin.set_fact:
    dr_run_plan: "{{ dr_run_exchange_info | exchange_dr.recovery.dr_plan(host=inventory_hostname, router=None) }}"

- name: Show it
  ansible.builtin.debug:
    msg: "{{ dr_run_plan.lines }}"
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    host:
      description: The host.
      type: str
    exchange_action:
      description:
        - C(recover), C(resume), C(reboot) (restart, then recover), C(none) (recovered already), C(refuse), C(skip), or C(edge)
          (an Edge Transport server).
      type: str
    refused:
      description: Whether the host cannot be recovered.
      type: bool
    refusal:
      description: Why, and what to do about it; C(None) when not refused.
      type: str
    phases:
      description:
        - "Phase name to whether it has work on this host: preflight, prerequisites,
          dag_remove, recover, reboot, reapply, verify, dag_add, databases, edge_config, edge_subscription, transport_queue,
          email_router, final_verify."
      type: dict
    run:
      description: The phases with work, in run order.
      type: list
      elements: str
    steps:
      description: The plan, in order; each item has C(phase) and C(what).
      type: list
      elements: dict
    lines:
      description: The plan as numbered lines for people.
      type: list
      elements: str
    warnings:
      description: Things to know before running (for example media newer than the lost server).
      type: list
      elements: str
    email_router_installed:
      description: Whether the Email Router service exists on the host (preflight's reading).
      type: bool
    edge:
      description: For an Edge - C(method) (V(cloned) or V(declared)), C(file) (the kit file imported), C(subscription_server); else C(None).
      type: dict
    missing_prerequisites:
      description: Runtimes Setup needs that the host lacks (dotnet, vcredist2012, vcredist2013, ucma, url_rewrite).
      type: list
      elements: str
    dag:
      description: For a DAG member, C(name) (the DAG), C(source) (who said so), C(via) (the host that runs its DAG steps), C(members); else null.
      type: dict
"""

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._dr_plan import plan_host


def dr_plan(
    info: Any,
    host: str = "",
    recover: bool = True,
    router: dict[str, Any] | None = None,
    reboot_first: bool = True,
    *,
    kit: str | None = None,
    dag_member: dict[str, Any] | None = None,
    edge: dict[str, Any] | None = None,
    databases: list[str] | None = None,
) -> dict[str, Any]:
    if info is not None and not isinstance(info, dict):
        raise AnsibleFilterError(f"dr_plan: expected an exchange_info result (a dict) or None, got {type(info).__name__}")
    if router is not None and not isinstance(router, dict):
        raise AnsibleFilterError(f"dr_plan: router must be a dict or None, got {type(router).__name__}")
    if dag_member is not None and not isinstance(dag_member, dict):
        raise AnsibleFilterError(f"dr_plan: dag_member must be a dict or None, got {type(dag_member).__name__}")
    if edge is not None and not isinstance(edge, dict):
        raise AnsibleFilterError(f"dr_plan: edge must be a dict or None, got {type(edge).__name__}")
    if databases is not None and (not isinstance(databases, list) or not all(isinstance(d, str) and d for d in databases)):
        raise AnsibleFilterError(f"dr_plan: databases must be a list of database names, got {databases!r}")
    return plan_host(
        host or str((info or {}).get("computer_name") or ""),
        info,
        recover=recover,
        router=router,
        reboot_first=reboot_first,
        kit=kit or None,
        dag_member=dag_member,
        edge=edge,
        databases=databases,
    )


class FilterModule:
    """The DR run's planner."""

    def filters(self) -> dict[str, Any]:
        return {"dr_plan": dr_plan}
