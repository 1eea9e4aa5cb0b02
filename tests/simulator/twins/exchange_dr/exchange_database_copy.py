"""exchange_dr.recovery.exchange_database_copy: what plugins/modules/exchange_database_copy.ps1 does, step by step -
Get-ExchangeServer, Get-MailboxDatabase, Get-DatabaseAvailabilityGroup -Status, every copy planned and checked, then
Add-, Set- or Remove-MailboxDatabaseCopy for each copy that needs it (none when any copy is refused).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_dag import parse_timespan
from simulator.exchange import cmdlets
from simulator.twins import ModuleRun, twin
from simulator.twins.exchange_dr._exchange_dag import copy_settings, get_dags, server_name
from simulator.twins.exchange_dr._exchange_shell import invoke, open_exchange_shell, prop, text
from simulator.twins.exchange_dr._exchange_state import exchange_state

CMDLETS = {"add": "Add-MailboxDatabaseCopy", "update": "Set-MailboxDatabaseCopy", "remove": "Remove-MailboxDatabaseCopy"}


def same_lag(have: str | None, want: str) -> bool:
    """Test-ExDrSameLag: [TimeSpan]::Parse of both."""
    return parse_timespan(have or "00:00:00") == parse_timespan(want)


@twin("exchange_dr.recovery.exchange_database_copy", required_together=[["exchange_username", "exchange_password"]])
def exchange_database_copy(m: ModuleRun) -> None:
    p, host, r = m.params, m.host, m.result
    r["changed"] = False
    r["server"] = None
    r["copies"] = []
    r["commands"] = []

    computer = host.name.upper()
    state = exchange_state(host)
    if not state["installed"] or not state["version"]:
        m.fail_json(f"Failed to manage database copies from {computer}: Exchange Server is not installed on it")
    version = str(state["version"])
    if int(version.split(".", maxsplit=1)[0]) < 14:
        m.fail_json(f"Failed to manage database copies from {computer}: database copies exist from Exchange 2010; this is Exchange {version}")
    name = p["server"].split(".", maxsplit=1)[0].upper()
    r["server"] = name
    absent = p["state"] == "absent"

    plans: list[dict[str, Any]] = []
    refusals: list[str] = []
    commands: list[str] = []
    failure = None
    shell = open_exchange_shell(
        m,
        version,
        [
            "Get-ExchangeServer",
            "Get-DatabaseAvailabilityGroup",
            "Get-MailboxDatabase",
            "Add-MailboxDatabaseCopy",
            "Set-MailboxDatabaseCopy",
            "Remove-MailboxDatabaseCopy",
        ],
    )
    try:
        servers = invoke(shell, "Get-ExchangeServer", {})
        if not any(server_name(prop(s, "Name")) == name for s in servers):
            refusals.append(f"there is no Exchange server {name} in the organisation")
        databases = invoke(shell, "Get-MailboxDatabase", {})
        dags = get_dags(shell)
        for wanted in p["copies"]:
            db = next((d for d in databases if str(text(prop(d, "Name"))).casefold() == wanted["database"].casefold()), None)
            if db is None:
                refusals.append(f"there is no mailbox database {wanted['database']}")
                continue
            db_name = text(prop(db, "Name"))
            settings = copy_settings(db)
            active = server_name(prop(db, "Server"))
            has = name in settings
            before = settings[name] if has else {"activation_preference": None, "replay_lag_time": None, "truncation_lag_time": None}
            plan: dict[str, Any] = {
                "database": db_name,
                "present_before": has,
                "action": "none",
                **{k: before[k] for k in ("activation_preference", "replay_lag_time", "truncation_lag_time")},
                "before": {k: before[k] for k in ("activation_preference", "replay_lag_time", "truncation_lag_time")},
                "parameters": None,
            }
            if absent:
                if has and active == name:
                    refusals.append(
                        f"{db_name}\\{name} is the active copy of {db_name}; an active copy cannot be removed (activate a copy on another member first)"
                    )
                elif has:
                    plan.update(
                        action="remove",
                        parameters={"Identity": f"{db_name}\\{name}", "Confirm": False},
                        activation_preference=None,
                        replay_lag_time=None,
                        truncation_lag_time=None,
                    )
                plans.append(plan)
                continue
            dag = next((d for d in dags if any(s in d["members"] for s in settings)), None)
            if dag is None or name not in dag["members"]:
                where = f"{dag['name']} (the DAG of {db_name})" if dag is not None else f"a DAG with {db_name}'s server"
                refusals.append(f"{name} is not a member of {where}: add it to the DAG first (exchange_dag_member)")
                plans.append(plan)
                continue
            count = len(settings) + (0 if has else 1)
            if wanted["activation_preference"] is not None and wanted["activation_preference"] > count:
                refusals.append(
                    f"the activation preference {wanted['activation_preference']} of {db_name}\\{name} is larger than its number of copies ({count})"
                )
                plans.append(plan)
                continue
            if not has:
                plan["action"] = "add"
                parameters: dict[str, Any] = {"Identity": db_name, "MailboxServer": name}
                for key in ("activation_preference", "replay_lag_time", "truncation_lag_time"):
                    if wanted[key] is not None:
                        plan[key] = wanted[key]
                if plan["activation_preference"] is None:
                    plan["activation_preference"] = count
                plan["replay_lag_time"] = plan["replay_lag_time"] or "00:00:00"
                plan["truncation_lag_time"] = plan["truncation_lag_time"] or "00:00:00"
            else:
                parameters = {"Identity": f"{db_name}\\{name}"}
            if wanted["activation_preference"] is not None and (not has or wanted["activation_preference"] != before["activation_preference"]):
                parameters["ActivationPreference"] = int(wanted["activation_preference"])
                plan["activation_preference"] = wanted["activation_preference"]
            for key, parameter in (("replay_lag_time", "ReplayLagTime"), ("truncation_lag_time", "TruncationLagTime")):
                want = wanted[key]
                if want is not None and (not has or not same_lag(before[key], want)):
                    parameters[parameter] = want
                    plan[key] = want
            if not has:
                plan["parameters"] = parameters
            elif len(parameters) > 1:
                plan.update(action="update", parameters=parameters)
            plans.append(plan)

        if not refusals:
            for plan in plans:
                if plan["action"] == "none":
                    continue
                cmdlet = CMDLETS[plan["action"]]
                line = cmdlet + "".join(f" -{k} '{v}'" for k, v in sorted(plan["parameters"].items(), key=lambda kv: kv[0].casefold()) if k != "Confirm")
                commands.append(line)
                if not m.check_mode:
                    invoke(shell, cmdlet, plan["parameters"])
                r["changed"] = True
    except cmdlets.CmdletError as error:
        failure = error
    finally:
        shell.close()
    r["commands"] = list(commands)
    r["copies"] = [
        {k: plan[k] for k in ("database", "action", "present_before", "activation_preference", "replay_lag_time", "truncation_lag_time", "before")}
        for plan in plans
    ]
    if failure is not None:
        m.fail_json(f"Failed to manage the database copies of {name}: {failure}")
    if refusals:
        m.fail_json(f"Failed to manage the database copies of {name}, nothing was changed: {'; '.join(refusals)}")
