# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The --diff of the modules that change a host: ``before``/``after`` built on the controller from what the module returned.

For internal collection use only. As microsoft.ad's modules do, a diff is a pair of plain dicts (Ansible renders their
difference). In check mode ``after`` is the planned state, so ``--check --diff`` previews the change. Only facts go in:
never an option value that may be a secret (the Email Router's service password is not even read here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_services import roles_from_role_keys
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import release_of

# service_state: the actions that touch a service (the others leave it as it was read).
SERVICE_ACTIONS = ("started", "would_start", "waited", "start_failed")


def service_state_diff(services: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """State before and after of each service the call started, waited for or failed to start (``would_start`` in check
    mode: planned ``running``), from the module's raw ``services`` read."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for service in services:
        action = service.get("action")
        if action not in SERVICE_ACTIONS:
            continue
        name = str(service.get("name"))
        before[name] = service.get("state_before")
        after[name] = "running" if action == "would_start" else service.get("state")
    return {"before": {"services": before}, "after": {"services": after}}


EMAIL_ROUTER_FACTS = ("installed", "version", "service_account")


def email_router_diff(result: Mapping[str, Any], state: str, check_mode: bool, service_account: str | None = None) -> dict[str, dict[str, Any]]:
    """The Email Router before (the module's ``before``) and after the task. In check mode the module reports the router as
    it found it (with the planned service account), so ``after`` is planned here: removed, or installed by setup - whose
    version, and account unless `service_account` is set, are known only once setup has run (null)."""
    before = {key: (result.get("before") or {}).get(key) for key in EMAIL_ROUTER_FACTS}
    after = {key: result.get(key) for key in EMAIL_ROUTER_FACTS}
    if check_mode and result.get("changed"):
        if state == "absent":
            after = {"installed": False, "version": None, "service_account": None}
        elif state == "reinstalled" or not before["installed"]:
            after = {"installed": True, "version": None, "service_account": service_account or None}
    return {"before": before, "after": after}


def exchange_install_state(exchange: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the registry says about Exchange (exchange_info's and recover_server's ``exchange``), for a diff: installed,
    configured, an interrupted Setup, the build and its release, and the installed roles as users name them."""
    exchange = exchange or {}
    version = exchange.get("version")
    release = _release(version)
    keys = sorted(str(k) for k in exchange.get("roles") or [])
    return {
        "installed": bool(exchange.get("installed")),
        "configured": bool(exchange.get("configured")),
        "incomplete": bool(exchange.get("incomplete")),
        "version": version,
        "release": release.name if release else None,
        # the role keys themselves when the build is unknown: the product decides what they mean
        "roles": roles_from_role_keys(release.product, keys) if release else keys,
    }


def planned_recovery_state(media_version: str | None, ad_roles: Iterable[str]) -> dict[str, Any]:
    """What /Mode:RecoverServer leaves: Exchange of the media's build, configured, with the roles of the server's AD object
    (as the object names them: from 2016 on Exchange reports them all as the Mailbox role once installed)."""
    release = _release(media_version)
    return {
        "installed": True,
        "configured": True,
        "incomplete": False,
        "version": media_version,
        "release": release.name if release else None,
        "roles": list(ad_roles),
    }


def _release(version: Any) -> Any:
    if not version:
        return None
    try:
        return release_of(str(version))
    except ValueError:
        return None
