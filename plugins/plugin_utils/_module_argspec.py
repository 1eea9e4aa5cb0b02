# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An action plugin's argument spec, built from its Windows module's YAML documentation sidecar.

For internal collection use only. The controller does not validate the arguments of PowerShell modules, so an action plugin
that decides things before calling its module validates the task's arguments itself, with the same documentation the
module's `$spec` is checked against (`make pscheck`): one source of truth for names, types, defaults, choices and no_log.

    spec = argument_spec("service_state")
    result = ArgumentSpecValidator(**spec).validate(task_args)
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import Any

import yaml

MODULES_DIR = Path(__file__).resolve().parents[1] / "modules"
_SPEC_KEYS = ("type", "required", "default", "choices", "elements", "aliases")
NO_LOG_MARKER = "C(no_log)"


def _convert(options: dict[str, Any] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for name, doc in (options or {}).items():
        entry = {key: doc[key] for key in _SPEC_KEYS if key in doc}
        description = doc.get("description") or ""
        lines = [description] if isinstance(description, str) else list(description)
        if any(NO_LOG_MARKER in line for line in lines):
            entry["no_log"] = True
        if doc.get("suboptions"):
            entry["options"] = _convert(doc["suboptions"])
        spec[name] = entry
    return spec


def _fragment_options(name: str) -> dict[str, Any]:
    """Options of one of this collection's doc fragments (`exchange_dr.recovery.<name>`); others add none."""
    parts = name.split(".")
    if parts[:2] != ["exchange_dr", "recovery"] or len(parts) != 3:
        return {}
    module = importlib.import_module(f"ansible_collections.exchange_dr.recovery.plugins.doc_fragments.{parts[2]}")
    return (yaml.safe_load(module.ModuleDocFragment.DOCUMENTATION) or {}).get("options") or {}


@functools.cache
def _documentation(module: str) -> dict[str, Any]:
    path = MODULES_DIR / f"{module}.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))["DOCUMENTATION"]


def argument_spec(module: str) -> dict[str, Any]:
    """`{"argument_spec": ...}` for ArgumentSpecValidator, from plugins/modules/<module>.yml (doc fragments included)."""
    doc = _documentation(module)
    options: dict[str, Any] = {}
    for fragment in doc.get("extends_documentation_fragment") or []:
        options.update(_fragment_options(fragment))
    options.update(doc.get("options") or {})
    return {"argument_spec": _convert(options)}
