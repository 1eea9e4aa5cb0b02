"""The result-key contract between each Windows module, its documentation and its simulator twin.

For every module in plugins/modules three readings of its result keys must agree:
- the .ps1: every `$module.Result.<key>` / `$module.Result['key']` it sets, read from its AST by pscheck.result_keys;
- the twin (tests/simulator/twins/exchange_dr/<name>.py): every key it puts into `m.result`, read from its Python AST
  (`m.result["k"] = ...`, an alias `r = m.result`, `.update(k=...)`/`.update({...})`, `.setdefault("k", ...)`,
  `m.result = {...}`, the extra keywords of `m.exit_json`/`m.fail_json`);
- RETURN in the .yml sidecar, which documents what the task returns: when an action plugin stands in front of the module,
  the module's keys pass through it except those the plugin drops, plus those it adds (CONTROLLER below).

Both sides are read statically rather than by running each twin: a run only shows the keys of the path it took (a key set
only on failure, or only for one operation, would be missed), while the AST holds every assignment. Nested keys are compared
one level deep where both sides are literal: a result that starts as a non-empty hashtable/dict literal (plus the sub keys
set later through `$module.Result.key.sub = ...`), or is set to the hashtable/dict literal a function of the module (its
utils) or of the twin (the twin modules it imports) returns, against the other code side and the documented `contains:` of
a `type: dict` result. Lists of dicts are built in loops on both sides and are not compared.

Keys Ansible itself adds (pscheck.ANSIBLE_KEYS: changed, failed, msg, ...) are left out everywhere. Private keys (leading
underscore, the module's channel to its action plugin, like microsoft.ad's `_do_action_reboot`) are not documented; they
must agree between the .ps1 and the twin, and the action plugin must read them (it removes them before the task returns).

Usage: python -m tests.tools.result_contract [--plugins plugins] [--twins tests/simulator/twins/exchange_dr]
Exit status: 0 when every module agrees, 1 when any finding is reported.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.tools import pscheck
from tests.tools.pscheck import ANSIBLE_KEYS, Finding

TWINS = Path("tests/simulator/twins/exchange_dr")
HERE = Path("tests/tools/result_contract.py")  # where findings about CONTROLLER point
COLLECTION_IMPORT = "ansible_collections.exchange_dr.recovery."


@dataclass(frozen=True)
class Controller:
    """What plugins/action/<name>.py does to the module's result before the task returns it (dotted names are sub keys)."""

    adds: tuple[str, ...] = ()
    drops: tuple[str, ...] = ()


# Each entry is checked: a key listed here must make a difference (the module does not already set an added key, does set a
# dropped one, RETURN documents an added one and not a dropped one) and must appear in the action plugin or the collection
# code it imports. Keep it to what the plugin really does.
CONTROLLER: dict[str, Controller] = {
    # enrich(): the release table names the builds; check_mode for roles (task-level check mode); read_options, what the read
    # was made with, for roles given an earlier read (Ansible drops invocation from registered results)
    "exchange_info": Controller(
        adds=("check_mode", "read_options", "exchange.release", "ad_server.roles", "ad_server.release", "media.release", "setup_log.last_run")
    ),
    # enrich(): the release table names the build and lists its capabilities; every database judged (a list: not compared)
    "exchange_database_info": Controller(adds=("capabilities", "summary", "exchange.release")),
    # every copy of the server judged (plugin_utils/_exchange_dag.judge), and how long it waited for healthy copies
    "exchange_dag_info": Controller(adds=("judgement", "record", "waited", "polls")),
    # plugin_utils/_recovery_database.plan judges the raw read (_read) and the applied steps (_steps) into the task's result
    "exchange_recovery_database": Controller(adds=("exchange.release", "database", "plan", "source", "recovery", "moved_aside")),
    # plugin_utils/_mailbox_restore judges the raw read and the request's statistics (private keys) into the task's result
    "exchange_mailbox_restore": Controller(adds=("exchange.release", "method", "source", "target", "request", "target_items", "polls")),
    # plugin_utils/_retention.plan judges the raw read (_read) and the applied cmdlets (_steps) into the task's result
    "exchange_retention": Controller(adds=("exchange.release", "database", "retention", "disconnected", "reconnect", "plan")),
    # the verdict of plugin_utils/_service_health.evaluate replaces the raw service read
    "service_state": Controller(
        adds=(
            "healthy",
            "summary",
            "checks",
            "hints",
            "not_running",
            "warnings_not_running",
            "exchange_version",
            "exchange_roles",
            "roles_source",
            "notes",
            "checked_at",
        ),
        drops=("services",),
    ),
    # enrich(): the release table names the build; the queues are counted, the database and the folders' rights judged
    "transport_queue_info": Controller(
        adds=("summary", "database", "rights", "exchange.release", "replay.state", "replay.header_error", "replay.logs_present", "replay.replayed")
    ),
    # drain_verdict(): what is left to deliver and what draining keeps
    "transport_queue_drain": Controller(adds=("drained", "left", "kept")),
    # plan(): the plan and the database as first read (also when the plan needs no module run)
    "transport_queue_database": Controller(adds=("plan", "before")),
    # the data file is fetched into the DR kit and checked there; the kit files are described
    "edge_config_export": Controller(adds=("files",)),
    # the data file and the answer file are checked and the declared changes computed on the controller
    "edge_config_import": Controller(adds=("method", "differences", "changes")),
    # the file is fetched to the controller and only its metadata returned
    "edge_subscription_file": Controller(adds=("dest", "subscription")),
    # the subscription file is checked and copied by the plugin, and deleted on the controller after the import
    "edge_subscription": Controller(adds=("subscription", "file_removed", "synchronized")),
    # the set is read and compared on the controller: the module's read returns only the raw files (private keys)
    "email_router_config": Controller(adds=("source", "files", "changed_files", "errors")),
    # issue 13: the module only reads (private _read); the kit, its version and the comparison are made on the controller
    "dr_kit_capture": Controller(adds=("kit", "version", "previous", "new_version", "differences", "summary", "counts", "baseline_recorded")),
    # issue 13: the kit is checked and the steps planned on the controller; the module reads (_read) and runs steps (_results)
    "dr_kit_apply": Controller(adds=("kit", "kit_version", "steps", "notes", "summary")),
    # the plugin plans every step and judges the run: the module returns only its raw reads and step outcomes (private keys)
    "exchange_database": Controller(
        adds=(
            "database",
            "server",
            "release",
            "action",
            "plan",
            "steps",
            "mounted",
            "before",
            "after",
            "aside",
            "database_copy",
            "restored_from",
            "recovery_verdict",
            "repair_request",
        )
    ),
    # the plugin judges the run (preflight, exit code, log) and returns its own verdict; reboots come from _module_with_reboot
    "recover_server": Controller(
        adds=(
            "action",
            "release",
            "server",
            "check",
            "exit_code",
            "transport_services",
            "reboot_required",
            "rebooted",
            "setup_log.succeeded",
            "setup_log.errors",
        ),
        drops=("computer_name", "rc", "stdout_lines", "exchange", "setup_log.exists"),
    ),
}


@dataclass
class Keys:
    """Result keys as one side states them: key -> line, and for dict results the sub keys (None: not literal, not compared)."""

    path: Path
    top: dict[str, int] = field(default_factory=dict)
    sub: dict[str, dict[str, int] | None] = field(default_factory=dict)

    def shape(self, key: str) -> dict[str, int] | None:
        return self.sub.get(key) or None

    def line(self, dotted: str) -> int:
        key, _dot, sub = dotted.partition(".")
        if sub:
            return (self.shape(key) or {}).get(sub, self.top.get(key, 1))
        return self.top.get(key, 1)


# ---------------------------------------------------------------------------------------------------------------------
# The three readings
# ---------------------------------------------------------------------------------------------------------------------


def ps1_keys(path: Path) -> Keys:
    script = pscheck.parse_script(path)
    found = pscheck.result_keys(script)
    keys = Keys(path)
    if found is None:
        return keys
    keys.top = {k: v for k, v in found.assigned.items() if _compared(k)}
    for key in keys.top:
        literal, called = found.shape(key) or {}, found.called.get(key, {})
        keys.sub[key] = {**called, **literal} if literal or called else None
    return keys


def twin_keys(path: Path) -> Keys:
    keys = Keys(path)
    functions = _TwinFunctions(path)
    literal: dict[str, dict[str, int]] = {}
    nested: dict[str, dict[str, int]] = {}
    for function in (n for n in ast.walk(functions.tree(path)) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
        reader = _TwinReader(function, functions)
        for key, line, value in reader.sets:
            if _compared(key):
                keys.top.setdefault(key, line)
                shape = reader.dict_keys(value)
                if shape:
                    literal.setdefault(key, {}).update({k: v for k, v in shape.items() if k not in literal.get(key, {})})
        for key, sub, line in reader.nested:
            nested.setdefault(key, {}).setdefault(sub, line)
    keys.sub = {k: ({**nested.get(k, {}), **literal[k]} if literal.get(k) else None) for k in keys.top}
    return keys


class _TwinFunctions:
    """The functions a twin file can call by name: its own and those it imports from other twin modules (simulator.twins.*)."""

    PACKAGE = "simulator.twins."

    def __init__(self, twin: Path) -> None:
        self.root = twin.parent.parent  # tests/simulator/twins
        self.trees: dict[Path, ast.Module] = {}
        self.names: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.busy: set[str] = set()
        module = self.tree(twin)
        for node in module.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(self.PACKAGE):
                source = self.root.joinpath(*node.module[len(self.PACKAGE) :].split(".")).with_suffix(".py")
                if source.is_file():
                    defined = {f.name: f for f in self.tree(source).body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)}
                    self.names.update({a.asname or a.name: defined[a.name] for a in node.names if a.name in defined})
        self.names.update({f.name: f for f in module.body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)})

    def tree(self, path: Path) -> ast.Module:
        if path not in self.trees:
            self.trees[path] = ast.parse(path.read_text(encoding="utf-8"), str(path))
        return self.trees[path]

    def returned_keys(self, name: str) -> set[str]:
        """Keys of the dict literals function `name` returns (directly, or through a local name bound to one)."""
        function = self.names.get(name)
        if function is None or name in self.busy:
            return set()
        self.busy.add(name)
        try:
            reader = _TwinReader(function, self)
            nested = [n for n in ast.walk(function) if n is not function and isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)]
            returns = [n for n in ast.walk(function) if isinstance(n, ast.Return) and not any(n in set(ast.walk(f)) for f in nested)]
            return {key for r in returns for key in reader.dict_keys(r.value)}
        finally:
            self.busy.discard(name)


class _TwinReader:
    """The result keys one twin function sets (names bound to `<x>.result` are followed; dict literals give sub keys)."""

    def __init__(self, function: ast.FunctionDef | ast.AsyncFunctionDef, functions: _TwinFunctions) -> None:
        self.function = function
        self.functions = functions
        self.aliases: set[str] = set()
        self.locals: dict[str, list[ast.AST]] = {}  # name -> dict literals assigned to it and its .update()/[k]= parts
        self.sets: list[tuple[str, int, ast.AST | None]] = []
        self.nested: list[tuple[str, str, int]] = []
        nodes = sorted((n for n in ast.walk(function) if hasattr(n, "lineno")), key=lambda n: (n.lineno, n.col_offset))
        for node in nodes:
            self._bindings(node)
        for node in nodes:
            self._keys(node)

    def is_result(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Attribute) and node.attr == "result" and isinstance(node.value, ast.Name):
            return True
        return isinstance(node, ast.Name) and node.id in self.aliases

    def _bindings(self, node: ast.AST) -> None:
        targets: list[tuple[ast.AST, ast.AST | None]] = []
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple) and len(target.elts) == len(node.value.elts):
                    targets.extend(zip(target.elts, node.value.elts, strict=True))
                else:
                    targets.append((target, node.value))
        elif isinstance(node, ast.AnnAssign):
            targets.append((node.target, node.value))
        for target, value in targets:
            if not isinstance(target, ast.Name) or value is None:
                continue
            if self.is_result(value):
                self.aliases.add(target.id)
            elif isinstance(value, ast.Dict):
                self.locals.setdefault(target.id, []).append(value)

    def _keys(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            value = getattr(node, "value", None)
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                self._target(target, value, node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner, method = node.func.value, node.func.attr
            if method == "update" and self.is_result(owner):
                for keyword in node.keywords:
                    if keyword.arg is not None:
                        self.sets.append((keyword.arg, node.lineno, keyword.value))
                for argument in node.args:
                    for key, value in self._dict_items(argument):
                        self.sets.append((key, node.lineno, value))
            elif method == "setdefault" and self.is_result(owner) and node.args and _constant(node.args[0]) is not None:
                self.sets.append((_constant(node.args[0]), node.lineno, node.args[1] if len(node.args) > 1 else None))
            elif method in {"exit_json", "fail_json"} and isinstance(owner, ast.Name):
                for keyword in node.keywords:
                    if keyword.arg not in {None, "msg", "exception"}:
                        self.sets.append((keyword.arg, node.lineno, keyword.value))
            elif method == "update" and isinstance(owner, ast.Name) and owner.id in self.locals:
                self.locals[owner.id].append(node)

    def _target(self, target: ast.AST, value: ast.AST | None, line: int) -> None:
        if isinstance(target, ast.Attribute) and target.attr == "result" and isinstance(value, ast.Dict):
            for key, item in self._dict_items(value):
                self.sets.append((key, line, item))
        elif isinstance(target, ast.Subscript) and _constant(target.slice) is not None:
            if self.is_result(target.value):
                self.sets.append((_constant(target.slice), line, value))
            elif isinstance(target.value, ast.Subscript) and self.is_result(target.value.value) and _constant(target.value.slice) is not None:
                self.nested.append((_constant(target.value.slice), _constant(target.slice), line))
            elif isinstance(target.value, ast.Name) and target.value.id in self.locals:
                self.locals[target.value.id].append(target)

    def _dict_items(self, node: ast.AST) -> list[tuple[str, ast.AST]]:
        if not isinstance(node, ast.Dict):
            return []
        return [(_constant(k), v) for k, v in zip(node.keys, node.values, strict=True) if k is not None and _constant(k) is not None]

    def dict_keys(self, value: ast.AST | None) -> dict[str, int]:
        """Sub keys of a dict literal, of a local name bound to one (with its later `.update(k=)` and `[k] =`), or of what a
        function of the twin (or of the twin modules it imports) returns."""
        if isinstance(value, ast.Dict):
            return {key: item.lineno for key, item in self._dict_items(value)}
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            return dict.fromkeys(self.functions.returned_keys(value.func.id), value.lineno)
        if not (isinstance(value, ast.Name) and value.id in self.locals):
            return {}
        keys: dict[str, int] = {}
        for part in self.locals[value.id]:
            if isinstance(part, ast.Dict):
                keys.update({k: v.lineno for k, v in self._dict_items(part) if k not in keys})
            elif isinstance(part, ast.Call):
                keys.update({k.arg: part.lineno for k in part.keywords if k.arg is not None and k.arg not in keys})
            elif isinstance(part, ast.Subscript) and _constant(part.slice) is not None:
                keys.setdefault(_constant(part.slice), part.lineno)
        return keys


def _constant(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def doc_keys(sidecar: Path) -> Keys:
    """RETURN keys with their lines; `contains:` of `type: dict` results as sub keys."""
    keys = Keys(sidecar)
    document = yaml.compose(sidecar.read_text(encoding="utf-8"))
    section = _mapping_value(document, "RETURN")
    offset = 0
    if isinstance(section, yaml.ScalarNode):  # RETURN: | (a YAML string)
        offset = section.start_mark.line + (1 if section.style in {"|", ">"} else 0)
        section = yaml.compose(section.value)
    if not isinstance(section, yaml.MappingNode):
        return keys
    for key_node, value_node in section.value:
        if not _compared(key_node.value):
            continue
        keys.top[key_node.value] = key_node.start_mark.line + 1 + offset
        value = yaml.safe_load(yaml.serialize(value_node)) or {}
        contains = _mapping_value(value_node, "contains")
        if isinstance(value, dict) and value.get("type") == "dict" and isinstance(contains, yaml.MappingNode):
            keys.sub[key_node.value] = {k.value: k.start_mark.line + 1 + offset for k, _v in contains.value}
    return keys


def _mapping_value(node: yaml.Node | None, name: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == name), None)


def _compared(key: str) -> bool:
    return key not in ANSIBLE_KEYS and not key.startswith("_ansible_")


# ---------------------------------------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------------------------------------


def check_module(ps1: Path, twins: Path, controllers: dict[str, Controller] | None = None) -> list[Finding]:
    name = ps1.stem
    sidecar, twin = ps1.with_suffix(".yml"), twins / f"{name}.py"
    action = ps1.parent.parent / "action" / f"{name}.py"
    if not sidecar.is_file():
        return [Finding(ps1, 1, f"no documentation sidecar {sidecar}", "contract")]
    if not twin.is_file():
        return [Finding(ps1, 1, f"no simulator twin {twin} (every module has one: docs/developing.md)", "contract")]
    module, model, documented = ps1_keys(ps1), twin_keys(twin), doc_keys(sidecar)
    controller = (CONTROLLER if controllers is None else controllers).get(name, Controller())
    used: set[str] = set()
    findings = _module_vs_twin(module, model)
    findings += _against_documentation(module, documented, controller, used)
    findings += _against_documentation(model, documented, controller, used)
    mentioned = _mentioned(action)
    findings += _private_keys(module, action, mentioned)
    findings += _stale_declarations(name, controller, used, action=action, mentioned=mentioned)
    unique = {(f.path, f.line, f.message): f for f in findings}
    return sorted(unique.values(), key=lambda f: (str(f.path), f.line, f.message))


def _module_vs_twin(module: Keys, model: Keys) -> list[Finding]:
    findings = []
    for key in sorted(set(module.top) - set(model.top)):
        findings.append(_finding(module, key, f"result key {key!r} is set but the twin {model.path} never returns it"))
    for key in sorted(set(model.top) - set(module.top)):
        findings.append(_finding(model, key, f"result key {key!r} is returned by the twin but {module.path} never sets it"))
    for key in sorted(set(module.top) & set(model.top)):
        ours, theirs = module.shape(key), model.shape(key)
        if ours is None or theirs is None:
            continue
        for sub in sorted(set(ours) - set(theirs)):
            findings.append(_finding(module, f"{key}.{sub}", f"result key '{key}.{sub}' is set but the twin {model.path} never returns it"))
        for sub in sorted(set(theirs) - set(ours)):
            findings.append(_finding(model, f"{key}.{sub}", f"result key '{key}.{sub}' is returned by the twin but {module.path} never sets it"))
    return findings


def _against_documentation(side: Keys, documented: Keys, controller: Controller, used: set[str]) -> list[Finding]:
    """Keys `side` (the .ps1 or the twin) returns, through the action plugin, against RETURN."""
    what = "is set" if side.path.suffix == ".ps1" else "is returned by the twin"
    sets = "sets" if side.path.suffix == ".ps1" else "returns"
    findings = []
    public = {k for k in side.top if not k.startswith("_")}
    pairs = [(key, public, set(documented.top)) for key in sorted(public | set(documented.top))]
    for key in sorted(public & set(documented.top)):
        ours, theirs = side.shape(key), documented.shape(key)
        if ours is not None and theirs is not None:
            pairs.extend((f"{key}.{sub}", {f"{key}.{s}" for s in ours}, {f"{key}.{s}" for s in theirs}) for sub in sorted(set(ours) | set(theirs)))
    for dotted, returned, docs in pairs:
        if dotted in returned and dotted not in docs:
            if dotted in controller.drops:
                used.add(dotted)
                continue
            findings.append(_finding(side, dotted, f"result key {dotted!r} {what} but not documented in {documented.path} RETURN"))
        elif dotted in docs and dotted not in returned:
            if dotted in controller.adds:
                used.add(dotted)
                continue
            hint = " (if the action plugin adds it, list it in CONTROLLER of tests/tools/result_contract.py)"
            findings.append(_finding(documented, dotted, f"RETURN documents {dotted!r} but {side.path} never {sets} it{hint}"))
    return findings


def _private_keys(module: Keys, action: Path, mentioned: set[str]) -> list[Finding]:
    findings = []
    for key in sorted(k for k in module.top if k.startswith("_")):
        if key not in mentioned:
            where = action if action.is_file() else f"an action plugin ({action} does not exist)"
            findings.append(_finding(module, key, f"private result key {key!r} is set but {where} never reads it: it would reach the user undocumented"))
    return findings


def _stale_declarations(name: str, controller: Controller, used: set[str], *, action: Path, mentioned: set[str]) -> list[Finding]:
    """A CONTROLLER entry that excuses no difference is wrong, and so is an added key the action plugin never mentions.

    (A dropped key need not be mentioned: a plugin may discard what the module returns.)
    """
    findings = []
    for kind, declared in (("adds", controller.adds), ("drops", controller.drops)):
        for dotted in declared:
            last = dotted.rsplit(".", 1)[-1]
            if dotted not in used:
                message = (
                    f"CONTROLLER[{name!r}].{kind} lists {dotted!r} but it makes no difference "
                    "(the module already sets it, or does not set it, or RETURN says otherwise)"
                )
                findings.append(Finding(HERE, 1, message, "contract"))
            elif kind == "adds" and last not in mentioned:
                message = f"CONTROLLER[{name!r}].adds lists {dotted!r} but {action} (and the collection code it imports) never mentions {last!r}"
                findings.append(Finding(HERE, 1, message, "contract"))
    return findings


def _finding(side: Keys, dotted: str, message: str) -> Finding:
    return Finding(side.path, side.line(dotted), message, "contract")


def _mentioned(action: Path) -> set[str]:
    """Every string constant, keyword name and attribute name in the action plugin and the collection modules it imports."""
    seen: set[Path] = set()
    words: set[str] = set()
    pending = [action] if action.is_file() else []
    plugins = action.parent.parent
    while pending:
        path = pending.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                words.add(node.value)
            elif isinstance(node, ast.keyword) and node.arg:
                words.add(node.arg)
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(COLLECTION_IMPORT + "plugins."):
                parts = node.module[len(COLLECTION_IMPORT + "plugins.") :].split(".")
                pending.append(plugins.joinpath(*parts).with_suffix(".py"))
    return words


def check(plugins: Path, twins: Path, controllers: dict[str, Controller] | None = None) -> list[Finding]:
    controllers = CONTROLLER if controllers is None else controllers
    findings = []
    for ps1 in sorted((plugins / "modules").glob("*.ps1")):
        findings.extend(check_module(ps1, twins, controllers))
    for name in sorted(set(controllers) - {p.stem for p in (plugins / "modules").glob("*.ps1")}):
        findings.append(Finding(HERE, 1, f"CONTROLLER lists {name!r} but there is no module {plugins / 'modules' / name}.ps1", "contract"))
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugins", type=Path, default=Path("plugins"))
    parser.add_argument("--twins", type=Path, default=TWINS)
    args = parser.parse_args(argv)
    findings = check(args.plugins, args.twins)
    for finding in findings:
        print(finding)
    modules = len(list((args.plugins / "modules").glob("*.ps1")))
    print(f"result contract: {modules} module(s) against their RETURN and twin, {len(findings)} finding(s)", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
