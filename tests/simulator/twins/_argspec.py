"""Argument specs of Windows modules, built from the modules' own files.

A module's options come from its DOCUMENTATION (ansible.windows: a ``.py`` stub or ``.yml`` sidecar; this collection: the
``.yml`` sidecar), with doc fragments resolved by ansible-core's own ``add_fragments``. What the documentation cannot say is
read from the ``.ps1`` next to it: which engine parses the arguments (Ansible.Basic or the Legacy ``Parse-Args``), whether
check mode is supported, and which options are ``no_log`` (also in the PowerShell module_utils it imports). Relations between
options (required_if, mutually_exclusive...) live only in the ``.ps1`` ``$spec``; twins declare them as data.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible.parsing.plugin_docs import read_docstring
from ansible.utils.plugin_docs import add_fragments

REPO_ROOT = Path(__file__).resolve().parents[3]
OWN_COLLECTION = "exchange_dr.recovery"

# Keys of an option's documentation that are also argument spec keys (same meaning on both sides).
_DOC_TO_SPEC = ("type", "required", "default", "aliases", "choices", "elements", "no_log", "apply_defaults", "deprecated_aliases")


class DocumentationError(Exception):
    """The module's documentation or .ps1 could not be found or read."""


@dataclass(frozen=True)
class ModuleFiles:
    fqcn: str
    doc: Path | None
    ps1: Path | None
    collection_root: Path | None


@dataclass
class Ps1Facts:
    """What only the .ps1 can tell: its argument engine, check-mode support and no_log options."""

    engine: str = "basic"  # 'basic' (Ansible.Basic) or 'legacy' (Ansible.ModuleUtils.Legacy Parse-Args/Get-AnsibleParam)
    supports_check_mode: bool | None = None
    no_log: set[str] = field(default_factory=set)


def collection_root(collection: str) -> Path | None:
    """The folder of an installed collection ('ns.name'); this collection is the repository itself."""
    if collection == OWN_COLLECTION:
        return REPO_ROOT
    ns, name = collection.split(".", 1)
    for entry in sys.path:
        candidate = Path(entry or ".", "ansible_collections", ns, name)
        if (candidate / "plugins").is_dir():
            return candidate
    return None


def find_module_files(fqcn: str) -> ModuleFiles:
    parts = fqcn.split(".")
    if len(parts) != 3:
        raise DocumentationError(f"'{fqcn}' is not a fully qualified module name")
    root = collection_root(".".join(parts[:2]))
    if root is None:
        return ModuleFiles(fqcn, None, None, None)
    folder = root / "plugins" / "modules"
    doc = next((p for p in (folder / f"{parts[2]}.yml", folder / f"{parts[2]}.py") if p.is_file()), None)
    ps1 = folder / f"{parts[2]}.ps1"
    return ModuleFiles(fqcn, doc, ps1 if ps1.is_file() else None, root)


class _FragmentLoader:
    """The one method of ansible's fragment_loader that ``add_fragments`` uses, without a global collection loader."""

    def get(self, name: str) -> Any:
        parts = name.split(".")
        if len(parts) == 1 or parts[:2] == ["ansible", "builtin"]:
            import ansible.plugins.doc_fragments as builtin

            path = Path(builtin.__file__).parent / f"{parts[-1]}.py"
            ansible_name = f"ansible.builtin.{parts[-1]}"
        elif len(parts) == 3:
            root = collection_root(".".join(parts[:2]))
            if root is None:
                return None
            path = root / "plugins" / "doc_fragments" / f"{parts[2]}.py"
            ansible_name = name
        else:
            return None
        if not path.is_file():
            return None
        return _load_fragment(str(path), ansible_name)


@functools.cache
def _load_fragment(path: str, ansible_name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"_simulator_doc_fragment_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fragment = module.ModuleDocFragment
    return types.SimpleNamespace(**{k: v for k, v in vars(fragment).items() if k.isupper()}, ansible_name=ansible_name)


def plain(value: Any) -> Any:
    """Ansible's doc parser returns trust-tagged containers and scalars; turn them into plain Python data."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value


@functools.cache
def _documentation(doc_path: str) -> tuple[dict, dict]:
    raw = read_docstring(doc_path, verbose=False, ignore_errors=False)
    doc = raw.get("doc")
    if not doc:
        raise DocumentationError(f"no DOCUMENTATION in {doc_path}")
    add_fragments(doc, doc_path, fragment_loader=_FragmentLoader(), is_module=True)
    return plain(doc), plain(raw.get("returndocs") or {})


def load_documentation(fqcn: str) -> tuple[dict, dict]:
    """(DOCUMENTATION with fragments merged, RETURN) of a module; copies, safe to modify."""
    files = find_module_files(fqcn)
    if files.doc is None:
        raise DocumentationError(f"no documentation found for {fqcn}")
    doc, returns = _documentation(str(files.doc))
    return copy.deepcopy(doc), copy.deepcopy(returns)


_REQUIRES_BASIC = re.compile(r"^#AnsibleRequires\s+-CSharpUtil\s+Ansible\.Basic\b", re.M | re.I)
_REQUIRES_LEGACY = re.compile(r"^#Requires\s+-Module\s+Ansible\.ModuleUtils\.Legacy\b", re.M | re.I)
_REQUIRES_PS_UTIL = re.compile(r"^#AnsibleRequires\s+-PowerShell\s+(\S+)", re.M | re.I)
_BASIC_CHECK_MODE = re.compile(r"supports_check_mode\s*=\s*\$(true|false)", re.I)
_LEGACY_CHECK_MODE = re.compile(r"Parse-Args\b[^\n]*-supports_check_mode\s+\$(true|false)", re.I)
_NO_LOG_OPTION = re.compile(r"(\w+)\s*=\s*@\{[^{}]*?\bno_log\s*=\s*\$true", re.I)


def _module_util_texts(ps1: Path, text: str, root: Path | None) -> list[str]:
    """Texts of the collection's PowerShell module_utils a .ps1 imports (``..module_utils.Name``): shared specs live there."""
    texts = []
    for ref in _REQUIRES_PS_UTIL.findall(text):
        if ref.startswith("..module_utils.") and root is not None:
            util = root / "plugins" / "module_utils" / f"{ref.removeprefix('..module_utils.')}.psm1"
            if util.is_file():
                texts.append(util.read_text(encoding="utf-8-sig"))
    return texts


@functools.cache
def ps1_facts(fqcn: str) -> Ps1Facts:
    files = find_module_files(fqcn)
    if files.ps1 is None:
        return Ps1Facts()
    text = files.ps1.read_text(encoding="utf-8-sig")
    facts = Ps1Facts(engine="legacy" if _REQUIRES_LEGACY.search(text) and not _REQUIRES_BASIC.search(text) else "basic")
    check = (_LEGACY_CHECK_MODE if facts.engine == "legacy" else _BASIC_CHECK_MODE).search(text)
    if check:
        facts.supports_check_mode = check.group(1).lower() == "true"
    elif facts.engine == "legacy":
        facts.supports_check_mode = False  # Parse-Args' default
    for source in [text, *_module_util_texts(files.ps1, text, files.collection_root)]:
        facts.no_log.update(_NO_LOG_OPTION.findall(source))
    return facts


def option_spec(doc_option: dict, collection: str | None = None) -> dict:
    """One option's documentation → its Ansible.Basic argument spec entry (suboptions → options)."""
    spec = {key: copy.deepcopy(doc_option[key]) for key in _DOC_TO_SPEC if key in doc_option}
    spec.setdefault("type", "str")
    deprecated = doc_option.get("deprecated")
    if isinstance(deprecated, dict):
        if "removed_in" in deprecated:
            spec["removed_in_version"] = str(deprecated["removed_in"])
        if "removed_at_date" in deprecated:
            spec["removed_at_date"] = str(deprecated["removed_at_date"])
        spec["removed_from_collection"] = deprecated.get("collection_name", collection)
    if doc_option.get("suboptions"):
        spec["options"] = {name: option_spec(sub, collection) for name, sub in doc_option["suboptions"].items()}
    return spec


def _merge_option(spec: dict, overlay: dict) -> dict:
    merged = {**spec, **{k: v for k, v in overlay.items() if k != "options"}}
    if "options" in overlay:
        subs = dict(spec.get("options") or {})
        for name, sub in overlay["options"].items():
            subs[name] = _merge_option(subs.get(name, {}), sub)
        merged["options"] = subs
    return merged


def _mark_no_log(options: dict, names: set[str]) -> None:
    for name, option in options.items():
        if name in names:
            option["no_log"] = True
        if option.get("options"):
            _mark_no_log(option["options"], names)


def build_spec(fqcn: str, options: dict | None = None, **relations: Any) -> dict:
    """The module's Ansible.Basic argument spec: documented options + .ps1 facts + the twin's ``options``/relations overlay.

    ``options`` adds options the documentation leaves out (internal ones such as ``_copy_mode``) or corrects an option
    where the .ps1 differs from its documentation; ``relations`` are spec keys such as ``required_if``.
    """
    doc, _returns = load_documentation(fqcn)
    collection = ".".join(fqcn.split(".")[:2])
    spec_options = {name: option_spec(opt, collection) for name, opt in (doc.get("options") or {}).items()}
    for name, overlay in (options or {}).items():
        spec_options[name] = _merge_option(spec_options.get(name, {"type": "str"}), overlay)
    facts = ps1_facts(fqcn)
    _mark_no_log(spec_options, facts.no_log)
    supports_check_mode = facts.supports_check_mode
    if supports_check_mode is None:
        support = ((doc.get("attributes") or {}).get("check_mode") or {}).get("support", "none")
        supports_check_mode = support in ("full", "partial")
    spec = {"options": spec_options, "supports_check_mode": supports_check_mode}
    spec.update({k: copy.deepcopy(v) for k, v in relations.items() if v is not None})
    return spec
