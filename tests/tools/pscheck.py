"""Static PowerShell check: every .ps1/.psm1 parses, and every module's Ansible.Basic `$spec` equals its documentation.

No PowerShell can run on our machines, so ansible-test's pslint and its PowerShell argument-spec extraction cannot run here.
This check stands in for them: the tree-sitter PowerShell grammar parses each file, the `$spec` hashtable literal (and shared
specs returned by functions in required module_utils) is evaluated without executing anything, and the options are compared
field by field with the module's YAML documentation sidecar, doc fragments included. Ansible's documentation schema has no
`no_log`, so a secret option's description carries the marker `C(no_log)` (see documented_no_log).

Usage: python -m tests.tools.pscheck [PATH ...]   (directories are searched for .ps1 and .psm1 files)
Exit status: 0 when clean, 1 when any finding is reported.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tree_sitter_powershell
import yaml
from tree_sitter import Language, Node, Parser

PARSER = Parser(Language(tree_sitter_powershell.language()))

# Option keys compared with the documentation, with the value Ansible.Basic assumes when the key is absent
# (Ansible.Basic.cs specDefaults). Keys Ansible.Basic accepts but documentation does not describe are only checked for validity.
COMPARED_KEYS: dict[str, Any] = {
    "type": "str",
    "required": False,
    "default": None,
    "choices": None,
    "no_log": False,
    "aliases": (),
    "elements": None,
}
SPEC_ONLY_KEYS = {
    "apply_defaults",
    "deprecated_aliases",
    "mutually_exclusive",
    "options",
    "removed_in_version",
    "removed_at_date",
    "removed_from_collection",
    "required_by",
    "required_if",
    "required_one_of",
    "required_together",
    "supports_check_mode",
}
VALID_OPTION_KEYS = set(COMPARED_KEYS) | SPEC_ONLY_KEYS
VALID_TYPES = {"bool", "dict", "float", "int", "json", "list", "path", "raw", "sid", "str"}
REQUIRES_PS_UTIL = re.compile(r"^#AnsibleRequires\s+-PowerShell\s+(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class SpecError(Exception):
    """The `$spec` is not a literal this check can evaluate (the module must keep it declarative)."""

    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.line = node.start_point[0] + 1


@dataclass
class ParsedScript:
    path: Path
    source: bytes
    root: Node
    functions: dict[str, Node] = field(default_factory=dict)


def parse_script(path: Path) -> ParsedScript:
    source = path.read_bytes()
    tree = PARSER.parse(source)
    script = ParsedScript(path, source, tree.root_node)
    for node in _walk(tree.root_node):
        if node.type == "function_statement":
            name = next((c for c in node.named_children if c.type == "function_name"), None)
            if name is not None:
                script.functions[_text(script, name).lower()] = node
    return script


def syntax_findings(script: ParsedScript) -> list[Finding]:
    findings = []
    for node in _walk(script.root):
        if node.is_error or node.is_missing:
            row, col = node.start_point
            snippet = _text(script, node).splitlines()[0][:60] if node.is_error else ""
            what = f"missing {node.type!r}" if node.is_missing else f"unexpected {snippet!r}"
            findings.append(Finding(script.path, row + 1, f"syntax error at column {col + 1}: {what}"))
    return findings


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))
        if current.is_error:
            # report the outermost error of a region only
            stack = [n for n in stack if not _is_within(n, current)]


def _is_within(node: Node, parent: Node) -> bool:
    return parent.start_byte <= node.start_byte and node.end_byte <= parent.end_byte


def _text(script: ParsedScript, node: Node) -> str:
    return script.source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def _unwrap(node: Node) -> Node:
    """Skip the grammar's chains of single-child precedence nodes (pipeline → … → unary_expression)."""
    while node.named_child_count == 1 and node.type not in {"hash_literal_expression", "array_expression", "string_literal", "command"}:
        if node.type == "unary_expression" and node.child_count > 1:
            break
        node = node.named_children[0]
    return node


# ---------------------------------------------------------------------------------------------------------------------
# Evaluating the declarative subset of PowerShell a `$spec` is written in
# ---------------------------------------------------------------------------------------------------------------------


def evaluate(script: ParsedScript, node: Node) -> Any:
    node = _unwrap(node)
    kind = node.type
    if kind == "hash_literal_expression":
        return _evaluate_hashtable(script, node)
    if kind == "array_expression":  # @( ... )
        inner = [c for c in node.named_children if c.type != "comment"]
        if not inner:
            return []
        if _text(script, inner[0]).lstrip().startswith(","):  # @(, @(...)): the unary comma keeps the inner array whole
            return [evaluate(script, _unwrap(inner[0]).named_children[-1])]
        value = evaluate(script, inner[0])
        return value if isinstance(value, list) else [value]
    if kind == "array_literal_expression":  # a, b, c
        return [evaluate(script, c) for c in node.named_children if c.type != "comment"]
    if kind == "string_literal":
        return _evaluate_string(script, node)
    if kind in {"integer_literal", "decimal_integer_literal"}:
        return int(_text(script, node))
    if kind == "real_literal":
        return float(_text(script, node))
    if kind == "variable":
        constants = {"$true": True, "$false": False, "$null": None}
        name = _text(script, node).lower()
        if name in constants:
            return constants[name]
        raise SpecError(node, f"variable {_text(script, node)} in the spec: keep the spec a literal so it can be checked")
    if kind == "unary_expression" and _text(script, node).startswith("-"):
        value = evaluate(script, node.named_children[-1])
        if isinstance(value, int | float):
            return -value
    if kind == "command":
        return _evaluate_function_call(script, node)
    raise SpecError(node, f"unsupported expression in the spec: {_text(script, node)[:60]!r}")


def _evaluate_hashtable(script: ParsedScript, node: Node) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entry in _walk(node):
        if entry.type != "hash_entry" or _owning_hashtable(entry) != node:
            continue
        key_node, value_node = entry.named_children[0], entry.named_children[-1]
        key = _text(script, key_node).strip("'\"")
        if key in result:
            raise SpecError(entry, f"duplicate key {key!r} in a spec hashtable")
        result[key] = evaluate(script, value_node)
    return result


def _owning_hashtable(entry: Node) -> Node | None:
    parent = entry.parent
    while parent is not None and parent.type != "hash_literal_expression":
        parent = parent.parent
    return parent


def _evaluate_string(script: ParsedScript, node: Node) -> str:
    literal = node.named_children[0] if node.named_child_count == 1 else None
    if literal is None or literal.type not in {"verbatim_string_characters", "expandable_string_literal"}:
        raise SpecError(node, f"string with expressions in the spec: {_text(script, node)!r}")
    text = _text(script, literal)
    if literal.type == "verbatim_string_characters":
        return text[1:-1].replace("''", "'")
    if "$" in text or "`" in text:
        raise SpecError(node, f"expandable string in the spec: {text!r}; use single quotes")
    return text[1:-1]


def _evaluate_function_call(script: ParsedScript, node: Node) -> Any:
    name_node = next((c for c in node.named_children if c.type == "command_name"), None)
    if name_node is None or node.named_child_count != 1:
        raise SpecError(node, f"only argument-less calls of shared spec functions are supported: {_text(script, node)!r}")
    function = _find_function(script, _text(script, name_node))
    if function is None:
        raise SpecError(node, f"function {_text(script, name_node)} not found in this file or its #AnsibleRequires -PowerShell utils")
    owner, definition = function
    body = next(c for c in definition.named_children if c.type == "script_block")
    statements = [c for c in _walk(body) if c.type == "hash_literal_expression" and _is_top_statement(c, body)]
    if len(statements) != 1:
        raise SpecError(definition, "a shared spec function must return exactly one hashtable literal")
    return evaluate(owner, statements[0])


def _is_top_statement(node: Node, body: Node) -> bool:
    parent = node.parent
    while parent is not None and parent != body:
        if parent.type in {"hash_literal_expression", "script_block", "array_expression"}:
            return False
        parent = parent.parent
    return True


def _find_function(script: ParsedScript, name: str) -> tuple[ParsedScript, Node] | None:
    if name.lower() in script.functions:
        return script, script.functions[name.lower()]
    for util in required_utils(script):
        found = util.functions.get(name.lower())
        if found is not None:
            return util, found
    return None


def required_utils(script: ParsedScript) -> list[ParsedScript]:
    """Module utils named by `#AnsibleRequires -PowerShell ..module_utils._Name` (relative to plugins/modules)."""
    utils = []
    for reference in REQUIRES_PS_UTIL.findall(script.source.decode("utf-8", errors="replace")):
        if reference.startswith(".."):
            util_path = script.path.parent.parent / Path(*reference.lstrip(".").split(".")).with_suffix(".psm1")
        else:  # ansible_collections.ns.name.plugins.module_utils.X
            util_path = script.path.parent.parent / "module_utils" / (reference.rsplit(".", 1)[-1] + ".psm1")
        if util_path.is_file():
            utils.append(parse_script(util_path))
    return utils


# ---------------------------------------------------------------------------------------------------------------------
# Locating the module's spec
# ---------------------------------------------------------------------------------------------------------------------


def module_spec(script: ParsedScript) -> tuple[dict[str, Any], int]:
    """The spec passed to AnsibleModule.Create, merged with shared specs like Ansible.Basic does, and its line."""
    create = _find_create_call(script)
    if create is None:
        raise SpecError(script.root, "no [Ansible.Basic.AnsibleModule]::Create($args, $spec) call found")
    arguments = next((n for n in _walk(create) if n.type == "argument_expression_list"), None)
    values = [_unwrap(a) for a in arguments.named_children] if arguments is not None else []
    if len(values) < 2:
        raise SpecError(create, "Create() needs ($args, $spec)")
    spec = _evaluate_spec_argument(script, values[1])
    if len(values) > 2:
        for extra in evaluate(script, values[2]):
            if not isinstance(extra, dict):
                raise SpecError(values[2], "shared specs must be hashtables")
            _merge_spec(spec, extra, values[2])
    return spec, create.start_point[0] + 1


def _find_create_call(script: ParsedScript) -> Node | None:
    for node in _walk(script.root):
        if node.type == "invokation_expression" and re.search(r"AnsibleModule\]\s*::\s*Create$", _text(script, node).split("(")[0]):
            return node
    return None


def _evaluate_spec_argument(script: ParsedScript, node: Node) -> dict[str, Any]:
    if node.type == "variable":
        name = _text(script, node).lower()
        assignment = _find_assignment(script, name)
        if assignment is None:
            raise SpecError(node, f"{_text(script, node)} is not assigned a hashtable literal in this file")
        node = assignment
    spec = evaluate(script, node)
    if not isinstance(spec, dict):
        raise SpecError(node, "the spec must be a hashtable")
    return spec


def _find_assignment(script: ParsedScript, variable: str) -> Node | None:
    for node in _walk(script.root):
        if node.type == "assignment_expression":
            target = _unwrap(node.named_children[0])
            if target.type == "variable" and _text(script, target).lower() == variable:
                return node.named_children[-1]
    return None


def _merge_spec(spec: dict[str, Any], extra: dict[str, Any], node: Node) -> None:
    for key, value in extra.items():
        if key == "options":
            options = spec.setdefault("options", {})
            for name, option in value.items():
                if name in options:
                    raise SpecError(node, f"option {name!r} is declared both in the module spec and a shared spec")
                options[name] = option
        elif isinstance(value, list):
            spec[key] = list(spec.get(key, [])) + value
        else:
            spec.setdefault(key, value)


# ---------------------------------------------------------------------------------------------------------------------
# Documentation (YAML sidecar) with doc fragments resolved
# ---------------------------------------------------------------------------------------------------------------------


def load_documentation(sidecar: Path) -> dict[str, Any]:
    data = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
    for section in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
        if section not in data:
            raise ValueError(f"{sidecar}: no top-level {section}")
    doc = data["DOCUMENTATION"]
    doc = yaml.safe_load(doc) if isinstance(doc, str) else doc
    fragments = doc.get("extends_documentation_fragment") or []
    for fragment in [fragments] if isinstance(fragments, str) else fragments:
        _merge_fragment(doc, _load_fragment(sidecar, fragment), fragment)
    return doc


def _load_fragment(sidecar: Path, reference: str) -> dict[str, Any]:
    parts = reference.split(".")
    if len(parts) < 3:
        raise ValueError(f"documentation fragment {reference!r}: use the full name (namespace.collection.fragment)")
    name, variant = parts[2], (parts[3].upper() if len(parts) > 3 else "DOCUMENTATION")
    fragment_file = sidecar.parent.parent / "doc_fragments" / f"{name}.py"
    if parts[:2] == ["ansible", "builtin"]:
        import ansible.plugins.doc_fragments  # ansible-core's own fragments

        fragment_file = Path(ansible.plugins.doc_fragments.__path__[0], f"{name}.py")
    elif not fragment_file.is_file():
        if parts[:2] != ["exchange_dr", "recovery"]:
            import ansible_collections  # external fragments: found through the installed collections

            for base in ansible_collections.__path__:
                candidate = Path(base, parts[0], parts[1], "plugins", "doc_fragments", f"{name}.py")
                if candidate.is_file():
                    fragment_file = candidate
                    break
        if not fragment_file.is_file():
            raise ValueError(f"documentation fragment {reference!r} not found")
    spec = importlib.util.spec_from_file_location(f"_pscheck_fragment_{name}", fragment_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return yaml.safe_load(getattr(module.ModuleDocFragment, variant))


def _merge_fragment(doc: dict[str, Any], fragment: dict[str, Any], reference: str) -> None:
    for key, value in fragment.items():
        if key == "options":
            options = doc.setdefault("options", {})
            for name, option in value.items():
                if name in options:
                    raise ValueError(f"option {name!r} is documented both in the module and in fragment {reference}")
                options[name] = option
        elif isinstance(value, list):
            doc[key] = list(doc.get(key, [])) + value
        elif isinstance(value, dict):
            doc[key] = {**value, **doc.get(key, {})}
        else:
            doc.setdefault(key, value)


# ---------------------------------------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------------------------------------


def compare_options(spec_options: dict[str, Any], doc_options: dict[str, Any], where: str = "") -> list[str]:
    problems = []
    for name in sorted(set(spec_options) - set(doc_options)):
        problems.append(f"option {where}{name} is in $spec but not documented")
    for name in sorted(set(doc_options) - set(spec_options)):
        problems.append(f"option {where}{name} is documented but not in $spec")
    for name in sorted(set(spec_options) & set(doc_options)):
        spec_option, doc_option = spec_options[name] or {}, doc_options[name] or {}
        label = f"{where}{name}"
        unknown = sorted(set(spec_option) - VALID_OPTION_KEYS)
        if unknown:
            problems.append(f"option {label}: invalid spec key(s) {', '.join(unknown)} (Ansible.Basic rejects them)")
        for key, absent in COMPARED_KEYS.items():
            spec_value = _normalise(key, spec_option.get(key, absent), spec_option)
            doc_value = documented_no_log(doc_option) if key == "no_log" else _normalise(key, doc_option.get(key, absent), doc_option)
            if spec_value != doc_value:
                problems.append(f"option {label}: {key} is {_show(spec_value)} in $spec but {_show(doc_value)} in the documentation")
        if spec_option.get("type", "str") not in VALID_TYPES:
            problems.append(f"option {label}: unknown type {spec_option.get('type')!r}")
        sub_spec, sub_doc = spec_option.get("options"), doc_option.get("suboptions")
        if sub_spec or sub_doc:
            problems.extend(compare_options(sub_spec or {}, sub_doc or {}, f"{label}."))
    return problems


NO_LOG_MARKER = "C(no_log)"


def documented_no_log(option: dict[str, Any]) -> bool:
    """Ansible's documentation schema has no `no_log` key, so a secret option says so in its description: `C(no_log)`.

    Users see it in ansible-doc; this check holds the description and the spec to the same answer.
    """
    description = option.get("description") or ""
    lines = [description] if isinstance(description, str) else description
    return bool(option.get("no_log")) or any(NO_LOG_MARKER in line for line in lines)


def _normalise(key: str, value: Any, option: dict[str, Any]) -> Any:
    if key == "aliases":
        return tuple(sorted(value or ()))
    if key == "choices" and value is not None:
        return tuple(sorted((_coerce(v, option.get("elements") or option.get("type", "str")) for v in value), key=repr))
    if key == "default":
        if value is None:
            return None
        option_type = option.get("type", "str")
        if option_type == "list":
            items = value if isinstance(value, list) else [value]
            return tuple(_coerce(v, option.get("elements") or "raw") for v in items)
        return _coerce(value, option_type)
    return value


def _coerce(value: Any, option_type: str) -> Any:
    """Defaults are compared after the conversion Ansible.Basic applies, so `5` and `'5'` for an int are equal."""
    try:
        if option_type == "int":
            return int(value)
        if option_type == "float":
            return float(value)
        if option_type == "bool" and isinstance(value, str):
            return value.lower() in {"yes", "true", "on", "1", "y"}
        if option_type in {"str", "path"}:
            return str(value)
    except (TypeError, ValueError):
        return value
    return value


def _show(value: Any) -> str:
    return "unset" if value is None else repr(list(value) if isinstance(value, tuple) else value)


def check_module(path: Path) -> list[Finding]:
    script = parse_script(path)
    findings = syntax_findings(script)
    if findings or path.suffix.lower() != ".ps1" or path.parent.name != "modules":
        return findings
    sidecar = path.with_suffix(".yml")
    if not sidecar.is_file():
        return [Finding(path, 1, f"no documentation sidecar {sidecar.name}")]
    try:
        doc = load_documentation(sidecar)
    except (ValueError, yaml.YAMLError) as error:
        return [Finding(sidecar, 1, str(error))]
    if doc.get("module") != path.stem:
        findings.append(Finding(sidecar, 1, f"DOCUMENTATION.module is {doc.get('module')!r}, expected {path.stem!r}"))
    try:
        spec, line = module_spec(script)
    except SpecError as error:
        return [*findings, Finding(path, error.line, str(error))]
    findings.extend(Finding(path, line, problem) for problem in compare_options(spec.get("options") or {}, doc.get("options") or {}))
    check_mode_doc = ((doc.get("attributes") or {}).get("check_mode") or {}).get("support")
    if check_mode_doc is not None and bool(spec.get("supports_check_mode", False)) != (check_mode_doc in {"full", "partial"}):
        findings.append(
            Finding(path, line, f"supports_check_mode is {spec.get('supports_check_mode', False)} but attributes.check_mode.support is {check_mode_doc!r}")
        )
    return findings


def discover(paths: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in {".ps1", ".psm1"}))
        else:
            files.append(path)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["plugins"])
    args = parser.parse_args(argv)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"pscheck: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    files = discover(args.paths)
    findings = [finding for path in files for finding in check_module(path)]
    for finding in findings:
        print(finding)
    modules = sum(1 for f in files if f.suffix.lower() == ".ps1" and f.parent.name == "modules")
    print(f"pscheck: {len(files)} PowerShell file(s), {modules} module spec(s) compared, {len(findings)} finding(s)", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
