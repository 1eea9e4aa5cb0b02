"""Argument handling as the host-side engines do it: Ansible.Basic (C#) and Ansible.ModuleUtils.Legacy (PowerShell).

The controller does not validate arguments of PowerShell modules, so this is what a user really sees on Windows. It follows
ansible-core's ``module_utils/csharp/Ansible.Basic.cs`` step by step (order of checks, message texts, .NET conversions)
rather than ``ArgumentSpecValidator``, whose behaviour differs from the C# engine in ways a user notices:
- Ansible.Basic stops at the first error; Python collects all of them and words them differently;
- choices and option names match case-insensitively in C#, strictly in Python;
- ``list`` splits a string on ',' and trims each part; an int becomes ``[int]`` (Python: ``[str]``);
- ``path`` expands Windows ``%VARS%`` of the host (Python: ``~`` and ``$VARS`` of the controller);
- type errors name .NET types ("System.String") and .NET messages ("Input string was not in a correct format.").
Legacy modules (``Parse-Args``/``Get-AnsibleParam``) validate much less: no unknown-option check, no ``invocation``, and
their own conversions (``ConvertTo-Bool`` makes anything but yes/on/1/true false).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from decimal import Decimal, InvalidOperation
from typing import Any

NO_LOG_PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

# Ansible.Basic: _ansible_<key> → property it sets (None: accepted, not used)
PASS_VARS: dict[str, str | None] = {
    "check_mode": "check_mode",
    "debug": "debug",
    "diff": "diff_mode",
    "keep_remote_files": "keep_remote_files",
    "ignore_unknown_opts": "ignore_unknown_opts",
    "module_name": "module_name",
    "no_log": "no_log",
    "remote_tmp": "remote_tmp",
    "selinux_special_fs": None,
    "shell_executable": None,
    "socket": None,
    "syslog_facility": None,
    "target_log_info": "target_log_info",
    "tracebacks_for": None,
    "tmpdir": "tmpdir",
    "verbosity": "verbosity",
    "version": "ansible_version",
}
PASS_BOOLS = ("check_mode", "debug", "diff", "keep_remote_files", "ignore_unknown_opts", "no_log")
BOOLEANS_TRUE = ["y", "yes", "on", "1", "true", "t", "1.0"]
BOOLEANS_FALSE = ["n", "no", "off", "0", "false", "f", "0.0"]

_INT32 = (-(2**31), 2**31 - 1)
_FORMAT_ERROR = "Input string was not in a correct format."
# Path.GetInvalidPathChars() of .NET Framework (Windows PowerShell 5.1)
_INVALID_PATH_CHARS = set('"<>|\0') | {chr(c) for c in range(1, 32)}


class ModuleFailure(Exception):
    """Raised by an engine where the module would call FailJson; ``msg`` is unmasked."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


class CheckModeSkip(Exception):
    """Ansible.Basic/Parse-Args exit early because the module does not support check mode."""


class InternalError(Exception):
    """Ansible.Basic could not even read its spec or arguments: ``{failed, msg: "internal error: ..."}`` without invocation."""


class UnhandledError(Exception):
    """What PowerShell would raise as an unhandled exception; module_wrapper.ps1 reports it."""


# ----------------------------------------------------------------------------------------------- .NET value semantics
def dotnet_type(value: Any) -> str:
    """The .NET type a JSON value has after the exec wrapper's ConvertFrom-Json (Windows PowerShell 5.1)."""
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, int):
        return "System.Int32" if _INT32[0] <= value <= _INT32[1] else "System.Int64"
    if isinstance(value, float):
        return "System.Decimal"
    if isinstance(value, str):
        return "System.String"
    if isinstance(value, list | tuple):
        return "System.Object[]"
    if isinstance(value, dict | MutableMapping):
        return "System.Collections.Hashtable"
    return type(value).__name__


def dotnet_str(value: Any) -> str:
    """``value.ToString()`` in .NET."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, list | tuple | dict | MutableMapping):
        return dotnet_type(value)
    return str(value)


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = dotnet_str(value).lower().strip()
    if text in BOOLEANS_TRUE:
        return True
    if text in BOOLEANS_FALSE:
        return False
    raise ValueError(f"The value '{text}' is not a valid boolean. Valid booleans include: {', '.join(BOOLEANS_TRUE + BOOLEANS_FALSE)}")


def _int32_parse(text: str) -> int:
    stripped = text.strip()
    if not re.fullmatch(r"[+-]?\d+", stripped):
        raise ValueError(_FORMAT_ERROR)
    number = int(stripped)
    if not _INT32[0] <= number <= _INT32[1]:
        raise ValueError("Value was either too large or too small for an Int32.")
    return number


def parse_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and _INT32[0] <= value <= _INT32[1]:
        return value
    return _int32_parse(dotnet_str(value))


def parse_float(value: Any) -> float:
    if isinstance(value, float):
        return value
    try:
        return float(Decimal(dotnet_str(value).strip()))
    except InvalidOperation:
        raise ValueError(_FORMAT_ERROR) from None


def _split_key_value(text: str) -> dict[str, Any]:
    fields: list[str] = []
    buffer: list[str] = []
    quote: str | None = None
    escape = False
    for char in text:
        if escape:
            buffer.append(char)
            escape = False
        elif char == "\\":
            escape = True
        elif quote is None and char in "'\"":
            quote = char
        elif quote is not None and char == quote:
            quote = None
        elif quote is None and char in ", ":
            if buffer:
                fields.append("".join(buffer))
            buffer = []
        else:
            buffer.append(char)
    if buffer:
        fields.append("".join(buffer))
    result: dict[str, Any] = {}
    for entry in dict.fromkeys(fields):  # Distinct(), order kept
        key, _sep, rest = entry.partition("=")
        if key in result:
            raise ValueError("An item with the same key has already been added.")
        result[key] = rest if "=" in entry else None
    return result


def parse_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict | MutableMapping):
        return dict(value)
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}"):
            try:
                loaded = json.loads(value)
            except json.JSONDecodeError as e:
                raise ValueError(f"Invalid JSON primitive: {e.doc[e.pos : e.pos + 20]}.") from None
            if not isinstance(loaded, dict):
                raise ValueError("Cannot convert object to a dictionary.")
            return loaded
        if "=" in value:
            return _split_key_value(value)
        raise ValueError("string cannot be converted to a dict, must either be a JSON string or in the key=value form")
    raise ValueError(f"{dotnet_type(value)} cannot be converted to a dict")


def parse_list(value: Any) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")]
    if dotnet_type(value) == "System.Int32":
        return [value]
    raise ValueError(f"{dotnet_type(value)} cannot be converted to a list")


def parse_json(value: Any) -> str:
    if isinstance(value, dict | MutableMapping):
        return json.dumps(dict(value), separators=(",", ":"))
    if isinstance(value, str):
        return value
    raise ValueError(f"{dotnet_type(value)} cannot be converted to json")


def expand_environment(text: str, env: MutableMapping[str, str] | dict[str, str]) -> str:
    """Environment.ExpandEnvironmentVariables: %NAME% (case-insensitive), unknown names stay as they are."""
    lookup = {k.lower(): v for k, v in env.items()}
    return re.sub(r"%([^%]+)%", lambda m: lookup.get(m.group(1).lower(), m.group(0)), text)


def parse_path(value: Any, env: dict[str, str]) -> str:
    text = dotnet_str(value)
    if text.startswith("\\\\?\\"):
        return text
    text = expand_environment(text, env)
    if any(c in _INVALID_PATH_CHARS for c in text):
        raise ValueError("string value contains invalid path characters, cannot convert to path")
    if ":" in text[2:] or (":" in text[:2] and not re.match(r"^[A-Za-z]:", text)):
        raise ValueError("The given path's format is not supported.")  # Path.GetFullPath
    return text


def parse_sid(value: Any, resolve: Callable[[str], str | None]) -> str:
    text = dotnet_str(value)
    if re.fullmatch(r"S-1-\d+(-\d+)*", text, re.I):
        return text.upper()
    sid = resolve(text)
    if sid is None:
        raise ValueError("Some or all identity references could not be translated.")
    return sid


# --------------------------------------------------------------------------------------------------- no_log masking
def remove_no_log_values(value: Any, no_log: set[str]) -> Any:
    """Ansible.Basic RemoveNoLogValues: exact match → placeholder; a string containing a secret has it starred."""
    if value is None:
        return None
    if isinstance(value, bool | int | float):
        text = dotnet_str(value)
        if any(secret in text for secret in no_log):
            return NO_LOG_PLACEHOLDER
        return value
    if isinstance(value, list | tuple):
        return [remove_no_log_values(v, no_log) for v in value]
    if isinstance(value, dict | MutableMapping):
        return {k: remove_no_log_values(v, no_log) for k, v in value.items()}
    text = str(value)
    if text in no_log:
        return NO_LOG_PLACEHOLDER
    for secret in no_log:
        if secret in text:
            return text.replace(secret, "********")  # only the first secret found, as the C# does
    return text


# ------------------------------------------------------------------------------------------- case-insensitive params
class CaseInsensitiveDict(MutableMapping):
    """A PowerShell ``@{}`` Hashtable: keys match case-insensitively, the first spelling is kept."""

    def __init__(self, data: Iterable[tuple[str, Any]] | dict | None = None) -> None:
        self._data: dict[str, tuple[str, Any]] = {}
        for key, value in dict(data or {}).items():
            self[key] = value

    def __getitem__(self, key: str) -> Any:
        return self._data[key.lower()][1]

    def __setitem__(self, key: str, value: Any) -> None:
        existing = self._data.get(key.lower())
        self._data[key.lower()] = (existing[0] if existing else key, value)

    def __delitem__(self, key: str) -> None:
        del self._data[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return (original for original, _value in self._data.values())

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._data


# ------------------------------------------------------------------------------------------------- Ansible.Basic
_SPEC_DEFAULTS: dict[str, Callable[[], Any]] = {
    "apply_defaults": lambda: False,
    "aliases": list,
    "choices": list,
    "default": lambda: None,
    "deprecated_aliases": list,
    "elements": lambda: None,
    "mutually_exclusive": list,
    "no_log": lambda: False,
    "options": dict,
    "removed_in_version": lambda: None,
    "removed_at_date": lambda: None,
    "removed_from_collection": lambda: None,
    "required": lambda: False,
    "required_by": dict,
    "required_if": list,
    "required_one_of": list,
    "required_together": list,
    "supports_check_mode": lambda: False,
    "type": lambda: "str",
}


def _with_defaults(spec: dict) -> dict:
    """SetArgumentSpecDefaults: every metadata key present, recursively."""
    full = {key: spec[key] if key in spec else make() for key, make in _SPEC_DEFAULTS.items()}
    unknown = set(spec) - set(_SPEC_DEFAULTS)
    if unknown:
        raise InternalError(f"argument spec entry contains an invalid key '{sorted(unknown)[0]}', valid keys: {', '.join(_SPEC_DEFAULTS)}")
    full["options"] = {name: _with_defaults(option) for name, option in (full["options"] or {}).items()}
    return full


class BasicEngine:
    """Ansible.Basic.AnsibleModule's constructor: parses ``complex_args`` against a spec.

    After ``run()``: ``params`` (converted, every option present, None if unset), ``invocation`` (masked), the module
    properties (``check_mode``, ``diff_mode``, ...), ``no_log_values``, ``warnings`` and ``deprecations``.
    """

    def __init__(self, spec: dict, env: dict[str, str], resolve_sid: Callable[[str], str | None] | None = None) -> None:
        self.spec = _with_defaults(spec)
        self.env = env
        self.resolve_sid = resolve_sid or (lambda _name: None)
        self.no_log_values: set[str] = set()
        self.context: list[str] = []
        self.warnings: list[str] = []
        self.deprecations: list[dict[str, Any]] = []
        self.props: dict[str, Any] = {
            "check_mode": False,
            "debug": False,
            "diff_mode": False,
            "keep_remote_files": False,
            "ignore_unknown_opts": False,
            "module_name": "undefined win module",
            "no_log": bool(spec.get("no_log", False)),
            "remote_tmp": None,
            "target_log_info": "",
            "tmpdir": None,
            "verbosity": 0,
            "ansible_version": None,
        }
        self.params: CaseInsensitiveDict = CaseInsensitiveDict()
        self.invocation: dict[str, Any] | None = None

    # .. entry point
    def run(self, complex_args: dict[str, Any]) -> None:
        self.params = CaseInsensitiveDict(complex_args)
        aliases = self._aliases(self.spec, self.params)
        self._set_no_log_values(self.spec, self.params)
        legal = ["_ansible_" + key for key in PASS_VARS] + list(self.spec["options"]) + list(aliases)
        self._check_arguments(self.spec, self.params, legal)
        self.invocation = {"module_args": self.masked(self.params)}

    def masked(self, value: Any) -> Any:
        return remove_no_log_values(value, self.no_log_values)

    def fail(self, msg: str) -> None:
        raise ModuleFailure(self._in_context(msg))

    def _in_context(self, msg: str, prefix: str = " ") -> str:
        return f"{msg}{prefix}found in {' -> '.join(self.context)}" if self.context else msg

    # .. GetAliases / SetNoLogValues
    def _aliases(self, spec: dict, params: MutableMapping) -> dict[str, str]:
        result: dict[str, str] = {}
        for name, option in spec["options"].items():
            if option["default"] is not None and option["required"]:
                raise InternalError(f"required and default are mutually exclusive for {name}")
            for alias in option["aliases"]:
                if alias in result:
                    raise InternalError("An item with the same key has already been added.")
                result[alias] = name
                if alias in params:
                    params[name] = params[alias]
            for info in option["deprecated_aliases"]:
                if info.get("name") in params:
                    msg = self._in_context(f"Alias '{info['name']}' is deprecated. See the module docs for more information", " - ")
                    when = {"version": str(info["version"])} if "version" in info else {"date": str(info.get("date"))}
                    self.deprecations.append({"msg": msg, **when, "collection_name": info.get("collection_name")})
        return result

    def _set_no_log_values(self, spec: dict, params: MutableMapping) -> None:
        for name, option in spec["options"].items():
            if option["no_log"]:
                value = params.get(name)
                text = "" if value is None else dotnet_str(value)
                if text:
                    self.no_log_values.add(text)
            if name in params:
                collection = option["removed_from_collection"]
                msg = f"Param '{name}' is deprecated. See the module docs for more information"
                if option["removed_in_version"] is not None:
                    self.deprecations.append({"msg": msg, "version": str(option["removed_in_version"]), "collection_name": collection})
                if option["removed_at_date"] is not None:
                    self.deprecations.append({"msg": msg, "date": str(option["removed_at_date"]), "collection_name": collection})

    # .. CheckArguments
    def _check_arguments(self, spec: dict, params: MutableMapping, legal: list[str]) -> None:
        self._check_unsupported(params, legal)
        if self.props["check_mode"] and not spec["supports_check_mode"] and not self.context:
            raise CheckModeSkip(f"remote module ({self.props['module_name']}) does not support check mode")
        options = spec["options"]
        self._check_mutually_exclusive(params, spec["mutually_exclusive"])
        self._check_required(options, params)
        for name, option in options.items():
            if params.get(name) is not None:
                params[name] = self._convert(name, option, params[name])
        self._check_required_together(params, spec["required_together"])
        self._check_required_one_of(params, spec["required_one_of"])
        self._check_required_if(params, spec["required_if"])
        self._check_required_by(params, spec["required_by"])
        for name, option in options.items():
            if name not in params:
                params[name] = None
            self._check_sub_option(params, name, option)

    def _check_unsupported(self, params: MutableMapping, legal: list[str]) -> None:
        legal_lower = {name.lower(): name for name in legal}
        unsupported: list[str] = []
        wrong_case: list[str] = []
        for key in list(params):
            if key.lower() not in legal_lower:
                unsupported.append(key)
            elif key not in legal:
                wrong_case.append(key)
            elif key.startswith("_ansible_"):
                self._set_pass_var(key.removeprefix("_ansible_"), params.pop(key))
        if unsupported and not self.props["ignore_unknown_opts"]:
            shown = [name for name in legal if name.replace("_ansible_", "") not in PASS_VARS]
            msg = self._in_context(f"Unsupported parameters for ({self.props['module_name']}) module: {', '.join(dict.fromkeys(unsupported))}")
            raise ModuleFailure(f"{msg}. Supported parameters include: {', '.join(shown)}")
        for key in wrong_case:
            value = params.pop(key)
            if isinstance(params, CaseInsensitiveDict):
                params._data[key.lower()] = (legal_lower[key.lower()], value)
            else:
                params[legal_lower[key.lower()]] = value

    def _set_pass_var(self, key: str, value: Any) -> None:
        prop = PASS_VARS[key]
        if prop is None or (key == "no_log" and self.props["no_log"]):
            return
        try:
            if key in PASS_BOOLS:
                value = parse_bool(value)
            elif key == "verbosity":
                value = parse_int(value)
        except ValueError as e:
            raise UnhandledError(f'Exception calling "Create" with "2" argument(s): "{e}"') from None
        self.props[prop] = value

    def _check_mutually_exclusive(self, params: MutableMapping, groups: list) -> None:
        for group in groups:
            if sum(1 for name in group if name in params) > 1:
                self.fail(f"parameters are mutually exclusive: {', '.join(group)}")

    def _check_required(self, options: dict, params: MutableMapping) -> None:
        missing = []
        for name, option in options.items():
            if option["default"] is not None and name not in params:
                params[name] = option["default"]
            if option["required"] and name not in params:
                missing.append(name)
        if missing:
            self.fail(f"missing required arguments: {', '.join(missing)}")

    def _converter(self, type_name: str) -> Callable[[Any], Any]:
        converters: dict[str, Callable[[Any], Any]] = {
            "bool": parse_bool,
            "dict": parse_dict,
            "float": parse_float,
            "int": parse_int,
            "json": parse_json,
            "list": parse_list,
            "path": lambda v: parse_path(v, self.env),
            "raw": lambda v: v,
            "sid": lambda v: parse_sid(v, self.resolve_sid),
            "str": dotnet_str,
        }
        if callable(type_name):
            return type_name
        if type_name not in converters:
            raise InternalError(f"type '{type_name}' is unsupported. Valid types are: {', '.join(converters)}")
        return converters[type_name]

    def _convert(self, name: str, option: dict, value: Any) -> Any:
        type_name = option["type"]
        try:
            converted = self._converter(type_name)(value)
        except ValueError as e:
            shown = type_name if isinstance(type_name, str) else "delegate"
            self.fail(f"argument for {name} is of type {dotnet_type(value)} and we were unable to convert to {shown}: {e}")
        choices = [dotnet_str(c) for c in option["choices"]]
        if choices:
            if type_name == "list":
                values, wording = [dotnet_str(v) for v in converted], "one or more of"
            else:
                values, wording = [dotnet_str(converted)], "one of"
            lowered = {c.lower() for c in choices}
            no_match = list(dict.fromkeys(v for v in values if v.lower() not in lowered))
            if no_match:
                self.fail(f"value of {name} must be {wording}: {', '.join(choices)}. Got no match for: {', '.join(no_match)}")
        return converted

    def _check_required_together(self, params: MutableMapping, groups: list) -> None:
        for group in groups:
            found = {name in params for name in group}
            if found == {True, False}:
                self.fail(f"parameters are required together: {', '.join(group)}")

    def _check_required_one_of(self, params: MutableMapping, groups: list) -> None:
        for group in groups:
            if not any(name in params for name in group):
                self.fail(f"one of the following is required: {', '.join(group)}")

    def _check_required_if(self, params: MutableMapping, rules: list) -> None:
        for rule in rules:
            if len(rule) < 3:
                self.fail(f"internal error: invalid required_if value count of {len(rule)}, expecting 3 or 4 entries")
            key, expected, requirements = rule[0], rule[1], rule[2]
            any_of = len(rule) == 4 and bool(rule[3])
            if params.get(key) is None or dotnet_str(params[key]) != dotnet_str(expected):
                continue
            missing = [name for name in requirements if name not in params]
            if len(missing) >= (len(requirements) if any_of else 1):
                term = "any" if any_of else "all"
                self.fail(f"{key} is {dotnet_str(expected)} but {term} of the following are missing: {', '.join(missing)}")

    def _check_required_by(self, params: MutableMapping, rules: dict) -> None:
        for key, requires in rules.items():
            if key not in params:
                continue
            missing = [name for name in parse_list(requires) or [] if name not in params]
            if missing:
                self.fail(f"missing parameter(s) required by '{key}': {', '.join(missing)}")

    # .. sub options
    def _check_sub_option(self, params: MutableMapping, name: str, option: dict) -> None:
        type_name, elements = option["type"], option["elements"]
        if not (type_name == "dict" or (type_name == "list" and elements is not None)):
            return
        value = params[name]
        if type_name == "dict":
            params[name] = self._sub_spec(option, value, name)
            return
        if value is None:
            return
        converted = []
        for element in value:
            if elements == "dict":
                converted.append(self._sub_spec(option, element, name))
                continue
            try:
                converted.append(self._converter(elements)(element))
            except ValueError:
                # DynamicInvoke wraps the converter's exception; Ansible.Basic prints the wrapper's message.
                self.fail(
                    f"argument for list entry {name} is of type {dotnet_type(element)} and we were unable to convert to {elements}: "
                    "Exception has been thrown by the target of an invocation."
                )
        params[name] = converted

    def _sub_spec(self, option: dict, value: Any, context: str) -> Any:
        options = option["options"]
        if option["apply_defaults"] and options and value is None:
            value = {}
        elif not options or value is None:
            return value
        self.context.append(context)
        try:
            sub = parse_dict(value)
        except ValueError as e:
            raise UnhandledError(f'Exception calling "Create" with "2" argument(s): "{e}"') from None
        aliases = self._aliases(option, sub)
        self._set_no_log_values(option, sub)
        self._check_arguments(option, sub, list(options) + list(aliases))
        self.context.pop()
        return sub


# ------------------------------------------------------------------------------------------------------- Legacy
def convert_to_bool(value: Any) -> bool:
    """ConvertTo-Bool of Ansible.ModuleUtils.Legacy: true only for $true, 1 and yes/on/1/true (any case)."""
    if isinstance(value, bool):
        return value
    return dotnet_str(value).lower() in ("yes", "on", "1", "true")


def _as_int(value: Any) -> int | None:
    """PowerShell ``-as [int]``: rounds half to even, None when it cannot convert."""
    if isinstance(value, bool):
        return int(value)
    try:
        number = Decimal(dotnet_str(value).strip())
    except InvalidOperation:
        return None
    rounded = int(number.to_integral_value(rounding="ROUND_HALF_EVEN"))
    return rounded if _INT32[0] <= rounded <= _INT32[1] else None


class LegacyEngine:
    """Parse-Args + Get-AnsibleParam of Ansible.ModuleUtils.Legacy, driven by the spec's options in order."""

    def __init__(self, spec: dict, env: dict[str, str]) -> None:
        self.spec = spec
        self.env = env
        self.params: dict[str, Any] = {}
        self.raw: CaseInsensitiveDict = CaseInsensitiveDict()
        self.check_mode = False
        self.diff_mode = False

    def run(self, complex_args: dict[str, Any]) -> None:
        self.raw = CaseInsensitiveDict(complex_args)
        self.check_mode = convert_to_bool(self.raw.get("_ansible_check_mode", False))
        self.diff_mode = convert_to_bool(self.raw.get("_ansible_diff", False))
        if self.check_mode and not self.spec.get("supports_check_mode", False):
            raise CheckModeSkip("remote module does not support check mode")
        # A Legacy module reads only the options its .ps1 asks for, in that order (``legacy_reads``; default: all documented).
        for name in self.spec.get("legacy_reads") or self.spec["options"]:
            self.params[name] = self.get_param(name, self.spec["options"][name])

    def get_param(self, name: str, option: dict) -> Any:
        found = next((key for key in [name, *option.get("aliases", [])] if key in self.raw), None)
        required = option.get("required")
        if callable(required):  # -failifempty computed from options read before it
            required = required(self.params)
        if found is None:
            if required:
                raise ModuleFailure(f"Get-AnsibleParam: Missing required argument: {name}")
            value = option.get("default")
        else:
            value = self.raw[found]
            choices = option.get("choices")
            if choices and not any(_ps_equal(choice, value) for choice in choices):
                shown = ",".join(dotnet_str(c) for c in choices)
                raise ModuleFailure(f"Get-AnsibleParam: Argument {found} needs to be one of {shown} but was {dotnet_str(value)}.")
        if value is None:
            return None
        return self._convert(found or name, option.get("type"), value)

    def _convert(self, name: str, type_name: str | None, value: Any) -> Any:
        if type_name == "path":
            text = expand_environment(dotnet_str(value), self.env)
            if any(c in _INVALID_PATH_CHARS for c in text):
                raise ModuleFailure(f"Get-AnsibleParam: Parameter '{name}' has an invalid path '{text}' specified.")
            return text
        if type_name == "str":
            return dotnet_str(value)
        if type_name == "bool":
            return convert_to_bool(value)
        if type_name == "int":
            return _as_int(value)
        if type_name == "float":
            try:
                return float(Decimal(dotnet_str(value).strip()))
            except InvalidOperation:
                return None
        if type_name == "list":
            if isinstance(value, list | tuple):
                return list(value)
            if isinstance(value, str):
                return [part.strip() for part in value.split(",")]
            if isinstance(value, int) and not isinstance(value, bool):
                return [value]
            raise ModuleFailure(f"Get-AnsibleParam: Parameter '{name}' is not a YAML list.")
        return value


def _ps_equal(left: Any, right: Any) -> bool:
    """PowerShell ``-contains``/``-eq``: strings compare case-insensitively, the right side converts to the left's type."""
    if isinstance(left, str):
        return left.lower() == dotnet_str(right).lower()
    return left == right
