# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Database availability groups on the controller: the settings of a DAG member's database copies, where they come from
(variables, a DR kit, the record of an earlier run, the live read), what removing and adding the member means, and whether
its copies are healthy.

For internal collection use only. The modules exchange_dag_info, exchange_dag_member and exchange_database_copy only read or
change what they are told; the decisions are here, unit-tested: which copies to remove and add back with which settings,
which refusals stop a run before anything changes, when a copy counts as healthy. Facts and sources: docs/dag.md.

- ActivationPreference is 1 or more and at most the number of copies; ReplayLagTime and TruncationLagTime are time spans
  from 00:00:00 to 14.00:00:00 (PS Add-MailboxDatabaseCopy, Set-MailboxDatabaseCopy; ODX ha/database-copies.md).
- A copy is healthy when Get-MailboxDatabaseCopyStatus says Status Healthy (Mounted for the active copy), its queues are
  short and its content index Healthy (ODX DR/recover-dag-member-servers.md, "How do you know this worked"; manage-ha/
  monitor-dags.md). A lagged copy keeps the logs of its lag window in the replay queue by design, so its replay queue is not
  held against it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._dr_kit import manifest_checksum  # the capture's own

MAX_LAG_SECONDS = 14 * 86400
LAG_KEYS = ("replay_lag_time", "truncation_lag_time")
SETTING_KEYS = ("activation_preference", *LAG_KEYS)
HEALTHY_PASSIVE = "Healthy"
HEALTHY_ACTIVE = "Mounted"
CONTENT_INDEX_HEALTHY = ("Healthy",)
DEFAULT_MAX_COPY_QUEUE = 10
DEFAULT_MAX_REPLAY_QUEUE = 10
RECORD_SCHEMA = "exchange_dr.recovery/dag_member/v1"
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?$")


class DagError(ValueError):
    """Bad input: the message names what is wrong and where."""


# -- time spans --------------------------------------------------------------------------------------------------------------
def parse_timespan(value: Any) -> int:
    """Seconds of an Exchange time span ('d.hh:mm:ss', 'hh:mm:ss'); ValueError when it is not one."""
    m = _TIMESPAN.match(str(value).strip())
    if not m or isinstance(value, bool):
        raise ValueError(f"expected a time span d.hh:mm:ss such as 1.00:00:00, got {value!r}")
    days, hours, minutes, seconds = int(m.group(1) or 0), int(m.group(2)), int(m.group(3)), int(m.group(4))
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(f"{value!r}: hours, minutes or seconds out of range")
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def format_timespan(seconds: int) -> str:
    """As Exchange prints a time span: '1.00:00:00', '02:00:00' below a day."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}.{clock}" if days else clock


def normalize_lag(value: Any, where: str) -> str:
    """A replay or truncation lag as Exchange prints it; DagError naming `where` outside 00:00:00-14.00:00:00."""
    try:
        seconds = parse_timespan(value)
    except ValueError as e:
        raise DagError(f"{where}: {e}") from None
    if seconds > MAX_LAG_SECONDS:
        raise DagError(f"{where}: {value} is above the maximum 14.00:00:00 (14 days)")
    return format_timespan(seconds)


def same_lag(a: Any, b: Any) -> bool:
    try:
        return parse_timespan(a if a not in (None, "") else "00:00:00") == parse_timespan(b if b not in (None, "") else "00:00:00")
    except ValueError:
        return False


# -- copy settings -----------------------------------------------------------------------------------------------------------
def normalize_copy(entry: Any, where: str) -> dict[str, Any]:
    """One copy's settings: database (required), activation_preference (1 or more), replay and truncation lag (normalized).
    A setting that is not given stays None (Exchange's default, or the current value, is kept)."""
    if not isinstance(entry, Mapping):
        raise DagError(f"{where}: expected a mapping with database, activation_preference, replay_lag_time, truncation_lag_time")
    unknown = sorted(set(entry) - {"database", *SETTING_KEYS})
    if unknown:
        raise DagError(f"{where}.{unknown[0]}: unknown key (allowed: database, {', '.join(SETTING_KEYS)})")
    database = entry.get("database")
    if not isinstance(database, str) or not database.strip():
        raise DagError(f"{where}.database: required (the mailbox database whose copy this is)")
    out: dict[str, Any] = {"database": database.strip(), "activation_preference": None, "replay_lag_time": None, "truncation_lag_time": None}
    preference = entry.get("activation_preference")
    if preference is not None:
        if isinstance(preference, bool) or (not isinstance(preference, int) and not (isinstance(preference, str) and preference.strip().isdigit())):
            raise DagError(f"{where}.activation_preference: expected a whole number of 1 or more, got {preference!r}")
        if int(preference) < 1:
            raise DagError(f"{where}.activation_preference: {preference} is out of range (1 is the first preference; the largest is the number of copies)")
        out["activation_preference"] = int(preference)
    for key in LAG_KEYS:
        if entry.get(key) not in (None, ""):
            out[key] = normalize_lag(entry[key], f"{where}.{key}")
    return out


def validate_copies(copies: Any, where: str = "copies") -> list[dict[str, Any]]:
    """Every copy normalized; a database named twice is refused."""
    if not isinstance(copies, list):
        raise DagError(f"{where}: expected a list of copies")
    out = [normalize_copy(c, f"{where}[{i}]") for i, c in enumerate(copies)]
    seen: dict[str, int] = {}
    for i, c in enumerate(out):
        key = c["database"].casefold()
        if key in seen:
            raise DagError(f"{where}[{i}].database: {c['database']} is already {where}[{seen[key]}]")
        seen[key] = i
    return out


def copies_of(info: Mapping[str, Any], server: str) -> list[dict[str, Any]]:
    """The copies `server` holds in an exchange_dag_info result, with their settings and status."""
    out = []
    for db in info.get("databases") or []:
        for copy in db.get("copies") or []:
            if str(copy.get("server") or "").casefold() == server.casefold():
                out.append({"database": db.get("name"), "active_server": db.get("active_server"), "copy_count": len(db.get("copies") or []), **copy})
    return out


def settings_of(copy: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "database": copy.get("database"),
        "activation_preference": copy.get("activation_preference"),
        "replay_lag_time": normalize_lag(copy.get("replay_lag_time") or "00:00:00", f"{copy.get('database')}.replay_lag_time"),
        "truncation_lag_time": normalize_lag(copy.get("truncation_lag_time") or "00:00:00", f"{copy.get('database')}.truncation_lag_time"),
    }


# -- where the settings come from --------------------------------------------------------------------------------------------
def record_from_info(info: Mapping[str, Any], server: str, previous: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """What to remember of a DAG member before it is removed: its DAG and its copies' settings (the live read). A read that
    no longer shows copies (a rerun after they were removed) keeps the copies of the previous record."""
    member = bool((info.get("server") or {}).get("member"))
    dag = (info.get("dag") or {}).get("name") if member else None
    copies = [settings_of(c) for c in copies_of(info, server)]
    previous = dict(previous or {})
    if not dag and not copies:
        return dict(previous) if previous else None
    return {
        "schema": RECORD_SCHEMA,
        "server": server.upper(),
        "dag": dag or previous.get("dag"),
        "witness_server": (info.get("dag") or {}).get("witness_server") or previous.get("witness_server"),
        "members": list((info.get("dag") or {}).get("members") or previous.get("members") or []),
        "copies": copies or list(previous.get("copies") or []),
        "source": "live" if copies else previous.get("source", "live"),
    }


def read_record(path: str | None) -> dict[str, Any] | None:
    """The record an earlier run wrote (a JSON file on the controller; a relative path is relative to the folder
    ansible-playbook runs in), or None when there is none. DagError when it is not a record."""
    if not path:
        return None
    full = Path(path).expanduser().resolve()
    if not full.is_file():
        return None
    try:
        data = json.loads(full.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DagError(f"{full}: not a readable DAG member record: {e}") from None
    if not isinstance(data, dict) or data.get("schema") != RECORD_SCHEMA:
        raise DagError(f"{full}: not a DAG member record (schema {RECORD_SCHEMA})")
    return data


def write_record(path: str, record: Mapping[str, Any]) -> bool:
    """Write the record (atomically) when it differs from what is there; True when it was written."""
    full = Path(path).expanduser().resolve()
    text = json.dumps(dict(record), indent=1, sort_keys=True) + "\n"
    if full.is_file() and full.read_text(encoding="utf-8") == text:
        return False
    full.parent.mkdir(parents=True, exist_ok=True)
    temporary = full.with_name(full.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(full)
    return True


def load_kit(kit: Any, server: str | None = None) -> Any:
    """A DR kit manifest: given as a dict, or as a path on the controller - the manifest file, a kit version's folder
    (manifest.json), a server's kit folder (index.json: its newest version) or the kit root (<root>/<SERVER>/index.json;
    None when that server has no kit there). A manifest whose checksum does not match is refused."""
    if kit is None or kit == "":
        return None
    if isinstance(kit, Mapping):
        manifest: Any = dict(kit)
    else:
        path = Path(str(kit)).expanduser().resolve()
        own = server.split(".", maxsplit=1)[0].upper() if server else None
        if path.is_dir() and own and (path / own / "index.json").is_file():
            path = path / own
        elif path.is_dir() and own and not (path / "index.json").is_file() and not (path / "manifest.json").is_file():
            return None
        if path.is_dir() and (path / "index.json").is_file():
            try:
                versions = json.loads((path / "index.json").read_text(encoding="utf-8")).get("versions") or []
            except (OSError, ValueError, AttributeError) as e:
                raise DagError(f"the DR kit index {path / 'index.json'}: {e}") from None
            if not versions:
                return None
            path = path / str(versions[-1]["version"])
        if path.is_dir():
            path = path / "manifest.json"
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise DagError(f"the DR kit {path}: {e}") from None
    checksum = (manifest.get("checksum") or {}).get("manifest") if isinstance(manifest, Mapping) else None
    if checksum and checksum != manifest_checksum(dict(manifest)):
        raise DagError("the DR kit's manifest fails its checksum (it was changed after the capture); take another version")
    return manifest


def settings_from_kit(manifest: Any, server: str) -> dict[str, Any] | None:
    """The DAG part of a DR kit manifest (capture_dr_kit, schema exchange_dr.recovery/dr_kit/v1, docs/dr-kit.md): the
    `dag` section's `name` and, of its `database_copies` (every copy of the server's databases), those on `server`. Also
    accepts `copies` without `server` (all of them the server's) and Exchange's property names (Name, DatabaseName,
    ActivationPreference, ReplayLagTime, TruncationLagTime). A kit of another server is refused; a kit of a server that
    was no DAG member gives None."""
    if not isinstance(manifest, Mapping):
        return None
    owner = manifest.get("server")
    owner = owner.get("name") if isinstance(owner, Mapping) else owner or manifest.get("server_name")
    kit_server = str(owner or "").split(".", maxsplit=1)[0]
    if kit_server and kit_server.casefold() != server.split(".", maxsplit=1)[0].casefold():
        raise DagError(f"the DR kit is of {kit_server}, not of {server}")
    dag = manifest.get("dag")
    if not isinstance(dag, Mapping) or dag.get("member") is False:
        return None
    name = dag.get("name") or dag.get("Name")
    if not name:
        return None
    copies = []
    for i, raw in enumerate(dag.get("database_copies") or dag.get("copies") or []):
        if not isinstance(raw, Mapping):
            raise DagError(f"kit dag.database_copies[{i}]: expected a mapping")
        holder = raw.get("server") or raw.get("MailboxServer")
        if holder and str(holder).split(".", maxsplit=1)[0].casefold() != server.split(".", maxsplit=1)[0].casefold():
            continue
        entry = {
            "database": raw.get("database") or raw.get("DatabaseName"),
            "activation_preference": raw.get("activation_preference", raw.get("ActivationPreference")),
            "replay_lag_time": raw.get("replay_lag_time", raw.get("ReplayLagTime")),
            "truncation_lag_time": raw.get("truncation_lag_time", raw.get("TruncationLagTime")),
        }
        copies.append(normalize_copy({k: v for k, v in entry.items() if v is not None}, f"kit dag.database_copies[{i}]"))
    witness = dag.get("witness_server") or dag.get("WitnessServer")
    return {"dag": str(name), "copies": copies, "witness_server": witness, "members": list(dag.get("servers") or []), "source": "kit"}


def choose_settings(
    server: str,
    *,
    dag: str | None = None,
    copies: list[Any] | None = None,
    kit: Any = None,
    record: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The DAG and the copy settings to put back, in order of precedence: variables (dag, copies), the DR kit, the record
    of the removal. Raises DagError when nothing says which DAG, or when sources disagree on it."""
    from_kit = settings_from_kit(load_kit(kit, server), server) if kit else None
    sources = [("variables", dag, validate_copies(copies, "recover_dag_member_copies") if copies else None)]
    if from_kit:
        sources.append(("kit", from_kit["dag"], from_kit["copies"]))
    if record:
        sources.append(("record", record.get("dag"), validate_copies(list(record.get("copies") or []), "record copies")))
    names = {str(s[1]).casefold(): (s[0], s[1]) for s in sources if s[1]}
    if len(names) > 1:
        said = "; ".join(f"{where} says {name}" for where, name in names.values())
        raise DagError(f"{server}: the sources disagree on the DAG ({said}); fix or remove the wrong one")
    chosen_dag = next((s[1] for s in sources if s[1]), None)
    if not chosen_dag:
        raise DagError(
            f"{server}: nothing says which DAG it was a member of (no recover_dag_member_dag, no DR kit with a dag section, no record of an earlier run)"
        )
    for where, _name, found in sources:
        if found:
            return {"dag": str(chosen_dag), "copies": found, "source": where}
    return {"dag": str(chosen_dag), "copies": [], "source": next(s[0] for s in sources if s[1])}


# -- removing and adding ------------------------------------------------------------------------------------------------------
def plan_remove(info: Mapping[str, Any], server: str) -> dict[str, Any]:
    """What removing `server` from its DAG takes, from an exchange_dag_info read made on a surviving member: the copies to
    remove, whether the membership and the cluster node are still there, and a refusal when a copy on the server is
    still the active one (an active copy can't be removed: another copy must be activated first)."""
    srv = info.get("server") or {}
    if not srv.get("exists", True):
        return {"refusal": f"there is no Exchange server {server} in the organisation", "copies": [], "member": False, "cluster_node": False}
    copies = copies_of(info, server)
    active = [c["database"] for c in copies if str(c.get("active_server") or "").casefold() == server.casefold()]
    refusal = None
    if active:
        refusal = (
            f"the active copy of {', '.join(active)} is still on {server}: activate a healthy copy on a surviving member first "
            f"(Move-ActiveMailboxDatabase <database> -ActivateOnServer <member>), then run again"
        )
    nodes = {str(n.get("name") or "").casefold(): str(n.get("state") or "") for n in (info.get("cluster") or {}).get("nodes") or []}
    return {
        "refusal": refusal,
        "copies": [{"database": c["database"]} for c in copies],
        "member": bool(srv.get("member")),
        "dag": (info.get("dag") or {}).get("name") if srv.get("member") else None,
        "cluster_node": server.casefold() in nodes,
        # a node that is not Up (or no longer in the cluster) belongs to a server that is gone: -ConfigurationOnly and the
        # eviction by hand (DR/recover-dag-member-servers.md); a server that still answers is removed the ordinary way
        "configuration_only": nodes.get(server.casefold(), "Down").casefold() != "up",
    }


def plan_add(info: Mapping[str, Any], server: str, dag: str, copies: list[dict[str, Any]]) -> dict[str, Any]:
    """What adding `server` back takes: membership, and per copy add or update (settings that differ) or nothing."""
    srv = info.get("server") or {}
    current = {c["database"].casefold(): c for c in copies_of(info, server)}
    if srv.get("member") and str(srv.get("dag") or "").casefold() != dag.casefold():
        return {"refusal": f"{server} is a member of {srv.get('dag')}, not of {dag}", "member": True, "copies": []}
    steps = []
    for wanted in copies:
        have = current.get(wanted["database"].casefold())
        if have is None:
            steps.append({**wanted, "action": "add"})
            continue
        differs = [
            k
            for k in SETTING_KEYS
            if wanted.get(k) is not None and not (same_lag(wanted[k], have.get(k)) if k in LAG_KEYS else int(wanted[k]) == int(have.get(k) or 0))
        ]
        steps.append({**wanted, "action": "update" if differs else "none", "differs": differs})
    return {"refusal": None, "member": bool(srv.get("member")), "copies": steps}


# -- health ------------------------------------------------------------------------------------------------------------------
def judge_copy(
    copy: Mapping[str, Any],
    *,
    expected: Mapping[str, Any] | None = None,
    max_copy_queue: int = DEFAULT_MAX_COPY_QUEUE,
    max_replay_queue: int = DEFAULT_MAX_REPLAY_QUEUE,
    content_index_ok: Iterable[str] = CONTENT_INDEX_HEALTHY,
) -> dict[str, Any]:
    """One copy's verdict: healthy (bool), the reasons it is not, and whether its settings are the expected ones."""
    status = str(copy.get("status") or "Unknown")
    active = bool(copy.get("active"))
    reasons = []
    if status != (HEALTHY_ACTIVE if active else HEALTHY_PASSIVE):
        reasons.append(f"status {status}")
    copy_queue = copy.get("copy_queue_length")
    replay_queue = copy.get("replay_queue_length")
    lagged = not same_lag(copy.get("replay_lag_time"), "00:00:00")
    if isinstance(copy_queue, int) and copy_queue > max_copy_queue:
        reasons.append(f"copy queue {copy_queue} (at most {max_copy_queue})")
    if isinstance(replay_queue, int) and replay_queue > max_replay_queue and not lagged:
        reasons.append(f"replay queue {replay_queue} (at most {max_replay_queue})")
    index = copy.get("content_index_state")
    if index not in tuple(content_index_ok):
        reasons.append(f"content index {index}")
    mismatched = []
    for key in SETTING_KEYS:
        want = (expected or {}).get(key)
        if want is None:
            continue
        have = copy.get(key)
        same = same_lag(want, have) if key in LAG_KEYS else have is not None and int(want) == int(have)
        if not same:
            mismatched.append(f"{key} {have} (expected {want})")
    return {
        "database": copy.get("database"),
        "server": copy.get("server"),
        "status": status,
        "copy_queue_length": copy_queue,
        "replay_queue_length": replay_queue,
        "content_index_state": index,
        "activation_preference": copy.get("activation_preference"),
        "replay_lag_time": copy.get("replay_lag_time"),
        "truncation_lag_time": copy.get("truncation_lag_time"),
        "lagged": lagged,
        "healthy": not reasons,
        "reasons": reasons,
        "settings_match": not mismatched,
        "settings_mismatch": mismatched,
    }


def judge(
    info: Mapping[str, Any],
    server: str,
    expected: list[dict[str, Any]] | None = None,
    *,
    max_copy_queue: int = DEFAULT_MAX_COPY_QUEUE,
    max_replay_queue: int = DEFAULT_MAX_REPLAY_QUEUE,
) -> dict[str, Any]:
    """Every copy `server` holds (and every expected one that is missing), judged; `all_healthy` when each is healthy and
    has its expected settings."""
    have = {c["database"].casefold(): c for c in copies_of(info, server)}
    wanted = {c["database"].casefold(): c for c in expected or []}
    verdicts = []
    for key in list(wanted) + [k for k in have if k not in wanted]:
        copy = have.get(key)
        if copy is None:
            verdicts.append(
                {
                    "database": wanted[key]["database"],
                    "server": server.upper(),
                    "status": "Missing",
                    "healthy": False,
                    "settings_match": False,
                    "reasons": ["no copy"],
                }
            )
            continue
        verdicts.append(judge_copy(copy, expected=wanted.get(key), max_copy_queue=max_copy_queue, max_replay_queue=max_replay_queue))
    bad = [v for v in verdicts if not v["healthy"] or not v.get("settings_match", True)]
    lines = [copy_line(v) for v in verdicts]
    message = (
        f"every copy on {server.upper()} is healthy: " if not bad else f"{len(bad)} of {len(verdicts)} copies on {server.upper()} not healthy yet: "
    ) + "; ".join(lines)
    return {"all_healthy": not bad, "copies": verdicts, "unhealthy": [v["database"] for v in bad], "lines": lines, "message": message}


def copy_line(v: Mapping[str, Any]) -> str:
    """One copy for people: 'DB01\\EX02 Healthy (copy 0, replay 3, index Healthy, preference 2, replay lag 1.00:00:00, ...)'."""
    if v.get("status") == "Missing":
        return f"{v['database']}\\{v['server']} missing"
    parts = [
        f"copy {v.get('copy_queue_length')}",
        f"replay {v.get('replay_queue_length')}",
        f"index {v.get('content_index_state')}",
        f"preference {v.get('activation_preference')}",
        f"replay lag {v.get('replay_lag_time')}",
        f"truncation lag {v.get('truncation_lag_time')}",
    ]
    extra = [*v.get("reasons", []), *v.get("settings_mismatch", [])]
    return f"{v['database']}\\{v['server']} {v['status']} ({', '.join(parts)})" + (f" - {'; '.join(extra)}" if extra else "")


def replication_health_failures(rows: Iterable[Mapping[str, Any]] | None) -> list[str]:
    """The Test-ReplicationHealth checks that did not pass ('Passed' is the only pass; real output may print '*FAILED*')."""
    return [f"{r.get('check')}: {r.get('error') or r.get('result')}" for r in rows or [] if str(r.get("result") or "").strip().casefold() != "passed"]


# -- which host runs the DAG cmdlets -------------------------------------------------------------------------------------------
def short_name(name: str) -> str:
    return str(name).split(".", maxsplit=1)[0].casefold()


def choose_via(server: str, members: Iterable[str], inventory: Iterable[str], recovering: Iterable[str], given: str | None = None) -> str | None:
    """The inventory host that runs the DAG cmdlets for lost `server`: `given`, else the first other DAG member in the
    inventory that is not being recovered itself, else the first other member in the inventory."""
    hosts = list(inventory)
    if given:
        return next((h for h in hosts if short_name(h) == short_name(given)), given)
    others = [m for m in members if short_name(m) != short_name(server)]
    busy = {short_name(h) for h in recovering}
    for candidates in ([m for m in others if short_name(m) not in busy], others):
        for member in candidates:
            found = next((h for h in hosts if short_name(h) == short_name(member)), None)
            if found is not None:
                return found
    return None


# -- the recover_dag_member role's steps ----------------------------------------------------------------------------------------
def member_plan(
    info: Mapping[str, Any],
    step: str,
    server: str,
    *,
    dag: str | None = None,
    copies: list[Any] | None = None,
    kit: Any = None,
) -> dict[str, Any]:
    """What the recover_dag_member role does in `step` (remove or add) for lost `server`, from an exchange_dag_info read
    made on a surviving member (with its `record`). Bad input and refusals come back as `refusal`, never raised."""
    server = server.split(".", maxsplit=1)[0].upper()
    record = info.get("record") or None
    try:
        if step == "remove":
            out = plan_remove(info, server)
            out["dag"] = out.get("dag") or (record or {}).get("dag") or dag
            return out
        if step != "add":
            return {"refusal": f"step must be remove or add, not {step!r}"}
        live = None
        if not dag and not copies and not kit and not record and (info.get("server") or {}).get("member"):
            live = record_from_info(info, server)
        settings = choose_settings(server, dag=dag, copies=copies, kit=kit, record=record or live)
        if live is not None and settings["source"] == "record":
            settings["source"] = "live"
        out = plan_add(info, server, settings["dag"], settings["copies"])
        return {**out, "dag": settings["dag"], "source": settings["source"], "expected": settings["copies"]}
    except DagError as error:
        return {"refusal": str(error), "copies": [], "member": False, "dag": dag}
