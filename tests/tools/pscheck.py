"""Static PowerShell check: every .ps1/.psm1 parses, runs on Windows PowerShell 5.1, and every module's `$spec` equals its documentation.

No PowerShell can run on our machines, so ansible-test's pslint and its PowerShell argument-spec extraction cannot run here.
This check stands in for them: the tree-sitter PowerShell grammar parses each file, the `$spec` hashtable literal (and shared
specs returned by functions in required module_utils) is evaluated without executing anything, and the options are compared
field by field with the module's YAML documentation sidecar, doc fragments included. Ansible's documentation schema has no
`no_log`, so a secret option's description carries the marker `C(no_log)` (see documented_no_log).

Rules (each finding prints `path:line: rule: message`):
  syntax         the file does not parse
  ps7-only       syntax, commands, parameters or variables Windows PowerShell 5.1 does not have (ternary, `??`, `?.`, `&&`,
                 `clean {}`, `ForEach-Object -Parallel`, `ConvertFrom-Json -AsHashtable`, `$IsWindows`, ...; see ps51.py)
  null-on-right  `$x -eq $null` (and -ne, -gt, -like, -match, ...): with a collection on the left PowerShell filters it
                 instead of comparing, so `$null` goes on the left
  result-keys    a module sets `$module.Result.<key>` (or a key of a hashtable it returns) that was not initialised right
                 after Create(), before any logic (return keys set up front)
  spec           `$spec` and the YAML documentation disagree, or the spec is not a literal

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

from tests.tools.ps51 import ALIASES, PS7_COMMANDS, PS7_PARAMETERS, PS7_VARIABLES

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
    rule: str = "spec"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.message}"


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
    return [finding for _node, finding in _syntax_errors(script)]


def _syntax_errors(script: ParsedScript) -> list[tuple[Node, Finding]]:
    errors = []
    for node in _walk(script.root):
        if node.is_error or node.is_missing:
            row, col = node.start_point
            snippet = (_text(script, node).splitlines() or [""])[0][:60] if node.is_error else ""
            what = f"missing {node.type!r}" if node.is_missing else f"unexpected {snippet!r}"
            errors.append((node, Finding(script.path, row + 1, f"syntax error at column {col + 1}: {what}", "syntax")))
    return errors


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))
        if current.is_error:
            # report the outermost error of a region only
            stack = [n for n in stack if not _is_within(n, current)]


def _walk_all(node: Node) -> Iterator[Node]:
    """Every node, parents first, error regions included (the rules look inside what the grammar could not place)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


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


# ---------------------------------------------------------------------------------------------------------------------
# Windows PowerShell 5.1: what PowerShell 6/7 added (rule ps7-only)
# ---------------------------------------------------------------------------------------------------------------------
# The grammar knows PowerShell 7, so `&&`/`||` parse; the ternary, `??`, `??=`, `?.`/`?[]` and `clean {}` end up as syntax
# errors or odd nodes instead. Both are handled the same way: tokens are searched in the source with comments and string
# contents blanked (code in a string's `$( )` is kept), and the node at each hit decides (a `?` that is a command name is the
# Where-Object alias; wildcards in bare arguments are not operators). Sources: MicrosoftDocs/PowerShell-Docs,
# reference/7.4/Microsoft.PowerShell.Core/About/about_Operators.md (ternary and `??` 7.0, `?.`/`?[]` 7.1, and that 5.1 reads
# `$a?` as a variable named `a?`, about_Variables.md of 5.1), about_Pipeline_Chain_Operators.md (7.0),
# about_Functions.md (`clean` 7.3), about_Special_Characters.md (`u{} 6.0), ForEach-Object.md (-Parallel 7.0).

_PS7_TOKENS: tuple[tuple[re.Pattern[bytes], frozenset[str], str], ...] = (
    (re.compile(rb"\?\?="), frozenset({"generic_token"}), "the null-coalescing assignment `??=` is PowerShell 7.0+; use if ($null -eq $x) { $x = ... }"),
    (re.compile(rb"\?\?(?!=)"), frozenset({"generic_token"}), "the null-coalescing operator `??` is PowerShell 7.0+; use if/else"),
    (
        re.compile(rb"[\w})\]](\?)[.\[]"),
        frozenset({"generic_token"}),
        "null-conditional access `?.`/`?[]` is PowerShell 7.1+ (Windows PowerShell 5.1 reads `$name?` as a variable named `name?`)",
    ),
    (re.compile(rb"&&"), frozenset(), "the pipeline chain operator `&&` is PowerShell 7.0+; use if ($?) or -and"),
    (re.compile(rb"\|\|"), frozenset(), "the pipeline chain operator `||` is PowerShell 7.0+; use if (-not $?) or -or"),
    (re.compile(rb"(?<=\s)\?(?=\s)"), frozenset({"generic_token", "command_name"}), "the ternary operator `? :` is PowerShell 7.0+; use if/else"),
    (re.compile(rb"(?<![\w$.\-])clean\s*\{"), frozenset({"generic_token", "switch_clause_condition"}), "the `clean` block is PowerShell 7.3+"),
)
_UNICODE_ESCAPE = re.compile(r"(?<!`)(?:``)*`u\{")


def ps7_findings(script: ParsedScript) -> list[Finding]:
    """Syntax, commands, parameters and automatic variables Windows PowerShell 5.1 does not have."""
    found: dict[tuple[int, str], Finding] = {}

    def add(node_or_offset: Node | int, message: str) -> None:
        offset = node_or_offset if isinstance(node_or_offset, int) else node_or_offset.start_byte
        line = script.source.count(b"\n", 0, offset) + 1
        found.setdefault((line, message), Finding(script.path, line, message, "ps7-only"))

    masked = _code_only(script)
    for pattern, skip_in, message in _PS7_TOKENS:
        for match in pattern.finditer(masked):
            offset = match.start(1) if pattern.groups else match.start()
            node = script.root.descendant_for_byte_range(offset, offset + 1)
            if not _has_ancestor(node, skip_in):
                add(offset, message)
    for node in _walk_all(script.root):
        if node.type == "command":
            for offset, message in _ps7_command_uses(script, node):
                add(offset, message)
        elif node.type in {"variable", "braced_variable"}:
            if _variable_name(_text(script, node)) in PS7_VARIABLES:
                add(node, f"the automatic variable {_text(script, node)} exists from PowerShell 6.0; on Windows PowerShell 5.1 it is $null")
        elif node.type in {"expandable_string_literal", "expandable_here_string_literal"}:
            text = _text(script, node)
            for match in _UNICODE_ESCAPE.finditer(text):
                add(node.start_byte + len(text[: match.start()].encode()), "the `u{...} escape is PowerShell 6.0+ (Windows PowerShell 5.1 writes u{...})")
    return sorted(found.values(), key=lambda f: f.line)


def _code_only(script: ParsedScript) -> bytes:
    """The source with comments and string contents blanked (newlines kept), the code in a string's `$( )` left in place."""
    masked = bytearray(script.source)
    for node in _walk_all(script.root):  # parents first: a string inside `$( )` of a string is blanked again
        if node.type in {"comment", "string_literal"}:
            masked[node.start_byte : node.end_byte] = bytes(b if b == 0x0A else 0x20 for b in script.source[node.start_byte : node.end_byte])
        elif node.type == "sub_expression" and _has_ancestor(node, frozenset({"string_literal"})):
            masked[node.start_byte : node.end_byte] = script.source[node.start_byte : node.end_byte]
    return bytes(masked)


def _has_ancestor(node: Node | None, types: frozenset[str]) -> bool:
    while node is not None:
        if node.type in types:
            return True
        node = node.parent
    return False


def _variable_name(text: str) -> str:
    """`$Global:IsWindows`, `${IsWindows}` -> iswindows."""
    name = text.lstrip("$@").strip("{}")
    return name.rsplit(":", 1)[-1].lower()


def _ps7_command_uses(script: ParsedScript, command: Node) -> Iterator[tuple[int, str]]:
    name_node = next((c for c in command.named_children if c.type == "command_name"), None)
    if name_node is None:
        return
    written = _text(script, name_node)
    name = written.rsplit("\\", 1)[-1].lower()  # Microsoft.PowerShell.Core\ForEach-Object
    if name in ALIASES:
        written = f"{written} ({ALIASES[name]})"
        name = ALIASES[name].lower()
    if name in PS7_COMMANDS:
        yield name_node.start_byte, f"the command {written} is PowerShell 6/7 only; Windows PowerShell 5.1 does not have it"
        return
    parameters = PS7_PARAMETERS.get(name)
    if not parameters:
        return
    for node in _walk_all(command):
        if node.type != "command_parameter":
            continue
        given = _text(script, node).lstrip("-").rstrip(":").lower()
        for parameter, shortest in parameters.items():
            if len(given) >= shortest and parameter.lower().startswith(given):
                yield node.start_byte, f"{written} -{parameter} is PowerShell 6/7 only; Windows PowerShell 5.1's {written} has no such parameter"


# ---------------------------------------------------------------------------------------------------------------------
# $null on the right of a comparison (rule null-on-right)
# ---------------------------------------------------------------------------------------------------------------------
# With a collection on the left, -eq/-ne/-gt/-like/-match/... return the matching elements instead of a boolean, so
# `@() -eq $null` is an empty array (false) and `@($null, 1) -ne $null` is `1` (true). Source: MicrosoftDocs/PowerShell-Docs,
# reference/7.4/Microsoft.PowerShell.Core/About/about_Comparison_Operators.md ("put $null on the left-hand side").

_NULL_SENSITIVE = frozenset(
    f"-{case}{operator}" for case in ("", "c", "i") for operator in ("eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch")
)


def null_comparison_findings(script: ParsedScript) -> list[Finding]:
    findings = []
    for node in _walk_all(script.root):
        if node.type != "comparison_operator":
            continue
        operator = _text(script, node).lower()
        right = node.next_named_sibling
        if operator in _NULL_SENSITIVE and right is not None and _is_null(script, right):
            message = f"$null is on the right of {operator}: with a collection on the left PowerShell filters it instead of comparing; put $null on the left"
            findings.append(Finding(script.path, node.start_point[0] + 1, message, "null-on-right"))
    return findings


def _is_null(script: ParsedScript, node: Node) -> bool:
    node = _unwrap(node)
    return node.type in {"variable", "braced_variable"} and _variable_name(_text(script, node)) == "null"


# ---------------------------------------------------------------------------------------------------------------------
# Result keys set up front (rule result-keys); also what the contract check reads from a module
# ---------------------------------------------------------------------------------------------------------------------

# Keys Ansible.Basic and ansible-core put into a result themselves (Ansible.Basic.cs: `changed` starts false; FailJson sets
# failed/msg/exception; invocation, warnings, deprecations and diff are added at exit; skipped for check mode): a module
# may set them anywhere and does not document them.
ANSIBLE_KEYS = frozenset({"changed", "failed", "msg", "skipped", "invocation", "warnings", "deprecations", "exception", "diff"})
# Commands that may sit between Create() and the result keys without counting as logic.
_SETUP_COMMANDS = frozenset({"add-type", "set-strictmode"})


@dataclass
class ResultKeys:
    """The `$module.Result` keys a module sets, read from its AST."""

    create_line: int
    upfront: dict[str, int] = field(default_factory=dict)  # key -> line, in the statements right after Create()
    shapes: dict[str, dict[str, int]] = field(default_factory=dict)  # key -> {sub key: line} of the hashtable literal it starts as
    assigned: dict[str, int] = field(default_factory=dict)  # every key set anywhere -> first line
    nested: dict[str, dict[str, int]] = field(default_factory=dict)  # key -> {sub key: first line} of $module.Result.key.sub = ...
    # key -> {sub key: line of the call} when it is set to what a function of the module or its utils returns (a hashtable literal)
    called: dict[str, dict[str, int]] = field(default_factory=dict)

    def shape(self, key: str) -> dict[str, int] | None:
        """Sub keys of `key` when it starts as a non-empty hashtable literal (plus those set later), else None (unknown)."""
        if not self.shapes.get(key):
            return None
        return {**self.nested.get(key, {}), **self.shapes[key]}


def result_keys(script: ParsedScript) -> ResultKeys | None:
    """The keys the module sets on its result; None when the file has no AnsibleModule.Create() call."""
    create = _find_create_call(script)
    if create is None:
        return None
    keys = ResultKeys(create.start_point[0] + 1)
    module_var = _module_variable(script, create)
    for node in _walk_all(script.root):
        target = _result_target(script, node, module_var)
        if target is None:
            continue
        key, sub, line = target
        keys.assigned.setdefault(key, line)
        if sub is not None:
            keys.nested.setdefault(key, {}).setdefault(sub, line)
        elif node.type == "assignment_expression" and _unwrap(node.named_children[-1]).type == "command":
            for returned in _function_result_keys(script, _unwrap(node.named_children[-1])):
                keys.called.setdefault(key, {}).setdefault(returned, line)
    for statement in _statements_after(create):
        if statement.type in {"comment", "empty_statement"}:
            continue
        assignment = _only_child(statement, "assignment_expression")
        target = _result_target(script, assignment, module_var) if assignment is not None else None
        if target is not None and target[1] is None:
            key, _sub, line = target
            keys.upfront.setdefault(key, line)
            value = _unwrap(assignment.named_children[-1])
            if value.type == "hash_literal_expression":
                keys.shapes[key] = _hashtable_keys(script, value)
            continue
        if _command_name(script, statement) in _SETUP_COMMANDS:
            continue
        break
    return keys


def result_key_findings(script: ParsedScript) -> list[Finding]:
    """Every key the module sets is initialised right after Create(); private keys (leading `_`) are exempt: see developing.md."""
    keys = result_keys(script)
    if keys is None:
        return []
    findings = []
    for key, line in keys.assigned.items():
        if key in keys.upfront or key in ANSIBLE_KEYS or key.startswith("_"):
            continue
        findings.append(
            Finding(
                script.path,
                line,
                f"result key {key!r} is not set up front: set it with the other keys right after Create() (line {keys.create_line}), "
                "before any logic, so every result (failures included) carries it",
                "result-keys",
            )
        )
    for key, subs in keys.nested.items():
        literal = keys.shapes.get(key)
        if not literal:
            continue
        for sub, line in subs.items():
            if sub not in literal:
                message = f"result key '{key}.{sub}' is set here but {key!r} is initialised at line {keys.upfront[key]} without it: add {sub} to that hashtable"
                findings.append(Finding(script.path, line, message, "result-keys"))
    return sorted(findings, key=lambda f: f.line)


def _function_result_keys(script: ParsedScript, command: Node) -> set[str]:
    """Keys of the hashtable literals a function of this file or its required utils returns (`return @{...}`, `return $x`,
    or a trailing `$x`, where `$x = @{...}` in the function, plus its `$x.key = ...`); empty when it returns anything else."""
    name = next((c for c in command.named_children if c.type == "command_name"), None)
    found = _find_function(script, _text(script, name)) if name is not None else None
    if found is None:
        return set()
    owner, definition = found
    body = next((c for c in definition.named_children if c.type == "script_block"), None)
    if body is None:
        return set()
    nested = _nested_blocks(body)
    own = [n for n in _walk_all(body) if not any(_is_within(n, f) for f in nested)]
    tables: dict[str, set[str]] = {}
    for node in own:
        if node.type == "assignment_expression":
            path = _access_path(owner, _unwrap(node.named_children[0]))
            value = _unwrap(node.named_children[-1])
            if path is not None and len(path) == 1 and value.type == "hash_literal_expression":
                tables.setdefault(path[0], set()).update(_hashtable_keys(owner, value))
            elif path is not None and len(path) == 2 and path[0] in tables:
                tables[path[0]].add(path[1])
    returned = [
        n.named_children[-1] for n in own if n.type == "flow_control_statement" and n.named_child_count and _text(owner, n).lower().startswith("return")
    ]
    statements = next((c for c in _walk_all(body) if c.type == "statement_list"), None)
    returned += [c for c in (statements.named_children if statements is not None else []) if c.type == "pipeline"]
    keys: set[str] = set()
    for expression in returned:
        value = _unwrap(expression)
        if value.type == "hash_literal_expression":
            keys.update(_hashtable_keys(owner, value))
        elif value.type == "variable":
            keys.update(tables.get(_variable_name(_text(owner, value)), set()))
    return keys


def _nested_blocks(body: Node) -> list[Node]:
    """Functions and script blocks inside a function body: their `return` and assignments are not the function's."""
    return [n for n in _walk_all(body) if n != body and n.type in {"function_statement", "script_block_expression"}]


def _module_variable(script: ParsedScript, create: Node) -> str:
    node = create.parent
    while node is not None and node.type != "assignment_expression":
        node = node.parent
    if node is not None:
        target = _unwrap(node.named_children[0])
        if target.type == "variable":
            return _variable_name(_text(script, target))
    return "module"


def _result_target(script: ParsedScript, node: Node, module_var: str) -> tuple[str, str | None, int] | None:
    """(key, sub key or None, line) when `node` sets `$module.Result.key[.sub]` / `$module.Result['key']` / `.Result.Add('key', v)`."""
    if node.type == "assignment_expression":
        path = _access_path(script, _unwrap(node.named_children[0]))
    elif node.type == "invokation_expression" and node.named_child_count >= 3 and node.named_children[1].type == "member_name":
        if _text(script, node.named_children[1]).lower() != "add":
            return None
        arguments = next((n for n in _walk_all(node.named_children[2]) if n.type == "argument_expression_list"), None)
        first = _unwrap(arguments.named_children[0]) if arguments is not None and arguments.named_child_count else None
        if first is None or first.type != "string_literal":
            return None
        path = _access_path(script, node.named_children[0])
        if path is not None:
            path = [*path, _text(script, first).strip("'\"")]
    else:
        return None
    if path is None or len(path) < 3 or path[0] != module_var or path[1].lower() != "result":
        return None
    return path[2], (path[3] if len(path) > 3 else None), node.start_point[0] + 1


def _access_path(script: ParsedScript, node: Node) -> list[str] | None:
    """`$module.Result.a['b']` -> ['module', 'Result', 'a', 'b'] (variable name lower-cased); None for anything else."""
    if node.type == "variable":
        return [_variable_name(_text(script, node))]
    if node.type == "member_access" and node.named_child_count >= 2:
        inner = _access_path(script, _unwrap(node.named_children[0]))
        member = node.named_children[-1]
        return [*inner, _text(script, member)] if inner is not None and member.type == "member_name" else None
    if node.type == "element_access" and node.named_child_count >= 2:
        inner = _access_path(script, _unwrap(node.named_children[0]))
        index = _unwrap(node.named_children[-1])
        if inner is None or index.type != "string_literal":
            return None
        return [*inner, _text(script, index).strip("'\"")]
    return None


def _statements_after(create: Node) -> list[Node]:
    """The top-level statements that follow the one holding the Create() call."""
    statement = create
    while statement.parent is not None and statement.parent.type != "statement_list":
        statement = statement.parent
    following = []
    sibling = statement.next_sibling
    while sibling is not None:
        following.append(sibling)
        sibling = sibling.next_sibling
    return following


def _only_child(statement: Node, kind: str) -> Node | None:
    node = statement
    while node.named_child_count == 1 and node.type != kind:
        node = node.named_children[0]
    return node if node.type == kind else None


def _command_name(script: ParsedScript, statement: Node) -> str | None:
    command = _only_child(statement, "command")
    name = next((c for c in command.named_children if c.type == "command_name"), None) if command is not None else None
    return _text(script, name).lower() if name is not None else None


def _hashtable_keys(script: ParsedScript, table: Node) -> dict[str, int]:
    return {
        _text(script, entry.named_children[0]).strip("'\""): entry.start_point[0] + 1
        for entry in _walk_all(table)
        if entry.type == "hash_entry" and _owning_hashtable(entry) == table
    }


def check_module(path: Path) -> list[Finding]:
    script = parse_script(path)
    ps7 = ps7_findings(script)
    # a syntax error that a ps7-only finding explains (the grammar cannot place `??`, `? :`, `?.`) is reported once, as that
    errors = [f for node, f in _syntax_errors(script) if not any(_explains(node, p) for p in ps7)]
    if errors:
        return sorted([*errors, *ps7], key=lambda f: f.line)
    findings = [*ps7, *null_comparison_findings(script)]
    if path.suffix.lower() != ".ps1" or path.parent.name != "modules":
        return findings
    findings.extend(result_key_findings(script))
    sidecar = path.with_suffix(".yml")
    if not sidecar.is_file():
        return [*findings, Finding(path, 1, f"no documentation sidecar {sidecar.name}")]
    try:
        doc = load_documentation(sidecar)
    except (ValueError, yaml.YAMLError) as error:
        return [*findings, Finding(sidecar, 1, str(error))]
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


def _explains(error: Node, finding: Finding) -> bool:
    first, last = error.start_point[0] + 1, error.end_point[0] + 1
    return first <= finding.line <= last


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
