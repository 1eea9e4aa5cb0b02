# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: dag_member_plan
short_description: What recovering a DAG member takes, from a read of its DAG
version_added: 0.1.0
author:
  - exchange_dr.recovery maintainers (@exchange-dr)
description:
  - Turns an M(exchange_dr.recovery.exchange_dag_info) result, read on a surviving DAG member, into the steps of the
    C(exchange_dr.recovery.recover_dag_member) role for a lost server.
  - "V(remove): the copies to remove, whether the membership and the cluster node are still there, and a refusal when a copy
    on the server is still the active one."
  - "V(add): the DAG and the copies to put back with their activation preference, replay lag time and truncation lag time -
    from O(copies) and O(dag) first, then a DR kit (O(kit)), then the record the C(remove) step wrote (the read's C(record)),
    then what the read shows of a member that is still there - and per copy whether to add it, update it or leave it."
  - Bad input (settings out of range, sources that disagree on the DAG, nothing that names a DAG) comes back as C(refusal).
options:
  _input:
    description: The M(exchange_dr.recovery.exchange_dag_info) result.
    type: dict
    required: true
  step:
    description: V(remove) or V(add).
    type: str
    required: true
  server:
    description: The lost server.
    type: str
    required: true
  dag:
    description: The DAG's name from variables, if given.
    type: str
  copies:
    description: The copies' settings from variables (C(database), C(activation_preference), C(replay_lag_time), C(truncation_lag_time)).
    type: list
    elements: dict
  kit:
    description: A DR kit manifest (a dict) or the path of its JSON file on the controller.
    type: raw
"""

EXAMPLES = r"""
- name: Plan the removal of EX02
  ansible.builtin.set_fact:
    plan: "{{ dag_read | exchange_dr.recovery.dag_member_plan(step='remove', server='EX02') }}"
"""

RETURN = r"""
_value:
  description:
    - C(refusal) (why nothing may change, or null), C(dag), C(member), and per step C(copies) - for V(remove) the databases
      whose copy to remove and C(cluster_node); for V(add) each copy with its settings and C(action) (V(add), V(update),
      V(none)), plus C(source) (where the settings came from) and C(expected) (the settings to wait for).
  type: dict
"""

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_dag import member_plan


def dag_member_plan(info: Any, *, step: str, server: str, dag: str | None = None, copies: list[Any] | None = None, kit: Any = None) -> dict[str, Any]:
    if not isinstance(info, dict):
        raise AnsibleFilterError(f"dag_member_plan: expected an exchange_dag_info result (a dict), got {type(info).__name__}")
    return member_plan(info, step, server, dag=dag or None, copies=copies or None, kit=kit or None)


class FilterModule:
    """The recover_dag_member role's planner."""

    def filters(self) -> dict[str, Any]:
        return {"dag_member_plan": dag_member_plan}
