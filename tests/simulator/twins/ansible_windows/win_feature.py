"""ansible.windows.win_feature (a Legacy module): Install-/Uninstall-WindowsFeature through the host's feature model.

In check mode the module passes -WhatIf, which still reports which features would change; the host answers that with
``what_if=True`` when it supports it, otherwise the twin derives it from the named features' install state.
"""

from __future__ import annotations

import inspect
from typing import Any

from simulator.hoststate import FeatureChange, FeatureResult
from simulator.twins import ModuleRun, twin
from simulator.winerror import WinError

_READS = ["name", "state", "include_sub_features", "include_management_tools", "source"]


@twin("ansible.windows.win_feature", legacy_reads=_READS)
def win_feature(m: ModuleRun) -> None:
    p, host = m.params, m.host
    names = [str(n) for n in p["name"]]
    present = (p["state"] or "present").lower() == "present"
    if present:
        if p["source"] and not host.exists(p["source"]):
            m.fail_json(f"Failed to find source path {p['source']} for feature install")
        kwargs = {"include_sub_features": p["include_sub_features"], "include_management_tools": p["include_management_tools"], "source": p["source"]}
        action, verb = host.install_features, "install"
    else:
        kwargs = {"include_management_tools": p["include_management_tools"]}
        action, verb = host.remove_features, "uninstall"
    try:
        if not m.check_mode:
            outcome = action(names, **kwargs)
        elif "what_if" in inspect.signature(action).parameters:
            outcome = action(names, what_if=True, **kwargs)
        else:
            outcome = _what_if(host, names, present, p["include_sub_features"])
    except WinError as e:
        m.fail_json(f"Failed to {verb} Windows Feature: {e}")
    results = []
    for change in outcome.changes:
        feature = host.feature(change.name)
        results.append(
            {
                "id": getattr(feature, "id", 0),
                "display_name": change.display_name,
                "message": [],
                "reboot_required": change.reboot_required,
                "skip_reason": "NotSkipped",
                "success": True,
            }
        )
        m.result["changed"] = True
    m.result["feature_result"] = results
    m.result["success"] = outcome.success
    m.result["exitcode"] = outcome.exit_code
    m.result["reboot_required"] = outcome.reboot_required
    m.result["failed"] = not outcome.success


def _what_if(host: Any, names: list[str], present: bool, include_sub: bool) -> FeatureResult:
    """-WhatIf without host support: the named features (and their sub-features) whose state would change."""
    changes: list[FeatureChange] = []
    for name in names:
        feature = host.feature(name)
        if feature is None:
            raise WinError(87, f"ArgumentNotValid: The role, role service, or feature name is not valid: '{name}'. The name was not found.")
        todo = [feature] + ([host.feature(s) for s in feature.sub_features] if include_sub and present else [])
        for item in todo:
            if item is not None and item.installed != present:
                changes.append(FeatureChange(item.name, item.display_name, False))
    return FeatureResult(True, "Success" if changes else "NoChangeNeeded", False, changes)
