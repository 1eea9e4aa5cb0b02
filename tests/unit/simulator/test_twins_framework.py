"""The twin framework: argument specs from module documentation, Ansible.Basic and Legacy argument handling, output shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from simulator.twins import _argspec, _validate
from simulator.twins._framework import ModuleRun, TwinInfo, run_module

PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


class TinyHost:
    """Only what the framework itself touches: a name and a temp folder tree."""

    def __init__(self) -> None:
        self.name = "WIN01"
        self.dirs: set[str] = set()

    def exists(self, path: str) -> bool:
        return path.lower() in self.dirs

    def mkdir(self, path: str, parents: bool = True) -> None:
        self.dirs.add(path.lower())

    def mkdtemp(self, base: str, prefix: str) -> str:
        path = f"{base}\\{prefix}x1"
        self.dirs.add(path.lower())
        return path

    def remove(self, path: str, recursive: bool = False) -> None:
        self.dirs.discard(path.lower())


def run(fqcn: str, args: dict[str, Any], func=None, host=None, **info: Any) -> tuple[int, dict]:
    """Run ``func`` as the twin of ``fqcn`` (default: echo the params) and decode the output."""

    def echo(m: ModuleRun) -> None:
        m.result["params"] = m.params

    twin_info = TwinInfo(fqcn, func or echo, **info)
    rc, out = ModuleRun(twin_info, host or TinyHost(), "Administrator").execute(args)
    return rc, json.loads(out)


def basic(spec: dict, args: dict[str, Any]) -> _validate.BasicEngine:
    engine = _validate.BasicEngine(spec, env={"TEMP": "C:\\Temp", "SystemRoot": "C:\\Windows"})
    engine.run(args)
    return engine


# ------------------------------------------------------------------------------------------------- specs from docs
def test_spec_from_py_stub_documentation():
    spec = _argspec.build_spec("ansible.windows.win_stat")
    assert spec["supports_check_mode"] is True
    assert spec["options"]["path"] == {"type": "path", "required": True, "aliases": ["dest", "name"]}
    assert spec["options"]["checksum_algorithm"]["choices"] == ["md5", "sha1", "sha256", "sha384", "sha512"]


def test_spec_from_yml_sidecar_and_fragments():
    assert "gather_timeout" in _argspec.build_spec("ansible.windows.setup")["options"]
    package = _argspec.build_spec("ansible.windows.win_package")["options"]
    assert package["url_timeout"]["default"] == 30  # from the ansible.windows.web_request fragment
    assert package["url_password"]["no_log"] is True  # the .ps1's module_util WebRequest declares it no_log


def test_ps1_facts_engine_and_check_mode():
    assert _argspec.ps1_facts("ansible.windows.win_file").engine == "legacy"
    assert _argspec.ps1_facts("ansible.windows.win_service").engine == "basic"
    assert _argspec.ps1_facts("ansible.windows.win_service").no_log == {"password"}
    assert _argspec.build_spec("ansible.windows.win_command")["supports_check_mode"] is False


def test_nested_options_from_suboptions():
    failure_actions = _argspec.build_spec("ansible.windows.win_service")["options"]["failure_actions"]
    assert failure_actions["elements"] == "dict"
    assert failure_actions["options"]["type"]["required"] is True


def test_unknown_module_is_not_modelled():
    rc, out = run_module("ansible.windows.win_nothing_like_this", {}, TinyHost(), "Administrator")
    assert rc == 1
    assert json.loads(out) == {"changed": False, "failed": True, "msg": "ansible.windows.win_nothing_like_this is not modelled by the simulator"}


# ------------------------------------------------------------------------------------------------- Ansible.Basic
def test_defaults_aliases_invocation():
    rc, out = run("ansible.windows.win_stat", {"dest": "C:\\x", "_ansible_check_mode": False, "_ansible_module_name": "win_stat"})
    assert rc == 0
    assert out["params"]["path"] == "C:\\x"
    assert out["params"]["get_checksum"] is True
    # the alias given stays beside the option, defaults are filled in, no _ansible_ keys
    assert out["invocation"]["module_args"] == {
        "dest": "C:\\x",
        "path": "C:\\x",
        "get_checksum": True,
        "get_size": True,
        "checksum_algorithm": "sha1",
        "follow": False,
    }
    assert out["changed"] is False


def test_missing_required():
    rc, out = run("ansible.windows.win_stat", {})
    assert rc == 1
    assert out["failed"] is True
    assert out["msg"] == "missing required arguments: path"
    assert "invocation" in out


def test_unsupported_parameter_lists_legal_inputs():
    rc, out = run("ansible.windows.win_ping", {"dataa": "x", "_ansible_module_name": "ansible.windows.win_ping"})
    assert rc == 1
    assert out["msg"] == "Unsupported parameters for (ansible.windows.win_ping) module: dataa. Supported parameters include: data"


def test_ignore_unknown_opts():
    rc, out = run("ansible.windows.win_ping", {"dataa": "x", "_ansible_ignore_unknown_opts": True})
    assert rc == 0
    assert out["params"]["data"] == "pong"


def test_option_names_are_case_insensitive():
    rc, out = run("ansible.windows.win_ping", {"DATA": "hi"})
    assert rc == 0
    assert out["params"]["data"] == "hi"


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        (
            {"path": "C:\\x", "get_size": "maybe"},
            "argument for get_size is of type System.String and we were unable to convert to bool: "
            "The value 'maybe' is not a valid boolean. Valid booleans include: y, yes, on, 1, true, t, 1.0, n, no, off, 0, false, f, 0.0",
        ),
        (
            {"path": "C:\\x", "checksum_algorithm": "crc32"},
            "value of checksum_algorithm must be one of: md5, sha1, sha256, sha384, sha512. Got no match for: crc32",
        ),
        (
            {"path": "C:\\<x>"},
            "argument for path is of type System.String and we were unable to convert to path: "
            "string value contains invalid path characters, cannot convert to path",
        ),
    ],
)
def test_conversion_and_choice_errors(args, msg):
    rc, out = run("ansible.windows.win_stat", args)
    assert (rc, out["msg"]) == (1, msg)


def test_choices_match_case_insensitively_and_keep_the_given_case():
    rc, out = run("ansible.windows.win_stat", {"path": "C:\\x", "checksum_algorithm": "SHA256", "get_size": "yes"})
    assert rc == 0
    assert out["params"]["checksum_algorithm"] == "SHA256"
    assert out["params"]["get_size"] is True


def test_path_expands_host_environment():
    _rc, out = run("ansible.windows.win_stat", {"path": "%TEMP%\\f.txt"})
    assert out["params"]["path"] == "C:\\Users\\Administrator\\AppData\\Local\\Temp\\f.txt"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5), (7, 7), ("1.5", "Input string was not in a correct format."), (2**40, "Value was either too large or too small for an Int32.")],
)
def test_int_conversion(value, expected):
    spec = {"options": {"n": {"type": "int"}}}
    if isinstance(expected, int):
        assert basic(spec, {"n": value}).params["n"] == expected
    else:
        with pytest.raises(_validate.ModuleFailure, match="unable to convert to int: " + expected.replace(".", r"\.")):
            basic(spec, {"n": value})


def test_list_conversion_splits_and_trims_and_converts_elements():
    spec = {"options": {"codes": {"type": "list", "elements": "int"}, "names": {"type": "list"}}}
    params = basic(spec, {"codes": "0, 3010", "names": 5}).params
    assert params["codes"] == [0, 3010]
    assert params["names"] == [5]
    with pytest.raises(_validate.ModuleFailure) as e:
        basic(spec, {"codes": ["x"]})
    assert e.value.msg == (
        "argument for list entry codes is of type System.String and we were unable to convert to int: Exception has been thrown by the target of an invocation."
    )


def test_dict_conversion_from_key_value_string():
    spec = {"options": {"d": {"type": "dict"}}}
    assert basic(spec, {"d": "a=1 b='x y'"}).params["d"] == {"a": "1", "b": "x y"}
    assert basic(spec, {"d": '{"a": 1}'}).params["d"] == {"a": 1}


def test_str_conversion_uses_dotnet_spelling():
    spec = {"options": {"s": {"type": "str"}}}
    assert basic(spec, {"s": True}).params["s"] == "True"
    assert basic(spec, {"s": [1]}).params["s"] == "System.Object[]"


def test_mutually_exclusive_and_required_one_of_from_ps1_relations():
    relations = {"mutually_exclusive": [["_raw_params", "argv", "cmd"]], "required_one_of": [["_raw_params", "argv", "cmd"]]}
    options = {"_raw_params": {"type": "str"}}
    _rc, out = run("ansible.windows.win_command", {"cmd": "a", "argv": ["b"]}, options=options, relations=relations)
    assert out["msg"] == "parameters are mutually exclusive: _raw_params, argv, cmd"
    _rc, out = run("ansible.windows.win_command", {}, options=options, relations=relations)
    assert out["msg"] == "one of the following is required: _raw_params, argv, cmd"


def test_required_if_all_and_any():
    relations = {"required_if": [["state", "present", ["path"]], ["state", "absent", ["path", "product_id"], True]]}
    rc, out = run("ansible.windows.win_package", {"state": "absent"}, relations=relations)
    assert out["msg"] == "state is absent but any of the following are missing: path, product_id"
    rc, out = run("ansible.windows.win_package", {}, relations=relations)  # default state=present
    assert out["msg"] == "state is present but all of the following are missing: path"
    rc, out = run("ansible.windows.win_package", {"state": "absent", "product_id": "{X}"}, relations=relations)
    assert rc == 0


def test_required_by_and_required_together():
    _rc, out = run("ansible.windows.win_service", {"name": "svc", "password": "pw"}, relations={"required_by": {"password": ["username"]}})
    assert out["msg"] == "missing parameter(s) required by 'password': username"
    spec = {"options": {"a": {}, "b": {}}, "required_together": [["a", "b"]]}
    with pytest.raises(_validate.ModuleFailure, match="parameters are required together: a, b"):
        basic(spec, {"a": "1"})


def test_nested_options_validate_with_context():
    rc, out = run("ansible.windows.win_service", {"name": "svc", "failure_actions": [{"delay_ms": 5}]})
    assert out["msg"] == "missing required arguments: type found in failure_actions"
    rc, out = run("ansible.windows.win_service", {"name": "svc", "failure_actions": [{"type": "restart", "delay": 10}]})
    assert rc == 0
    assert out["params"]["failure_actions"] == [{"type": "restart", "delay": 10, "delay_ms": 10}]


def test_no_log_values_masked_in_invocation_and_fail_message():
    def fail_with_secret(m: ModuleRun) -> None:
        m.fail_json(f"could not log on with {m.params['password']}")

    args = {"name": "svc", "username": "CONTOSO\\svc", "password": "S3cret!"}
    _rc, out = run("ansible.windows.win_service", args, func=fail_with_secret)
    assert out["invocation"]["module_args"]["password"] == PLACEHOLDER
    assert out["msg"] == "could not log on with ********"
    assert "S3cret!" not in json.dumps(out)


def test_no_log_values_are_not_masked_in_other_result_keys():
    """Ansible.Basic masks invocation and FailJson's msg only; a module that returns a secret leaks it on Windows too."""

    def leak(m: ModuleRun) -> None:
        m.result["echo"] = m.params["password"]

    _rc, out = run("ansible.windows.win_service", {"name": "svc", "username": "u", "password": "S3cret!"}, func=leak)
    assert out["echo"] == "S3cret!"


def test_check_mode_unsupported_is_skipped():
    rc, out = run("ansible.windows.win_command", {"cmd": "whoami", "_ansible_check_mode": True, "_ansible_module_name": "win_command"})
    assert rc == 0
    assert out["skipped"] is True
    assert out["changed"] is False
    assert out["msg"] == "remote module (win_command) does not support check mode"
    assert out["invocation"]["module_args"] == {"cmd": "whoami"}


def test_check_and_diff_mode_reach_the_twin_and_diff_is_only_returned_in_diff_mode():
    def twin(m: ModuleRun) -> None:
        m.result["modes"] = [m.check_mode, m.diff_mode]
        m.diff["before"] = "a"

    _rc, out = run("ansible.windows.win_ping", {"_ansible_check_mode": True, "_ansible_diff": True}, func=twin)
    assert out["modes"] == [True, True]
    assert out["diff"] == {"before": "a"}
    _rc, out = run("ansible.windows.win_ping", {"_ansible_diff": False}, func=twin)
    assert "diff" not in out


def test_warnings_and_deprecations():
    def twin(m: ModuleRun) -> None:
        m.warn("careful")
        m.deprecate("old", version="2.0.0", collection_name="ansible.windows")

    _rc, out = run("ansible.windows.win_ping", {}, func=twin)
    assert out["warnings"] == ["careful"]
    assert out["deprecations"] == [{"msg": "old", "version": "2.0.0", "collection_name": "ansible.windows"}]


def test_fail_json_exception_only_with_high_verbosity():
    def twin(m: ModuleRun) -> None:
        m.fail_json("Failed to do it", exception="trace")

    assert "exception" not in run("ansible.windows.win_ping", {}, func=twin)[1]
    assert run("ansible.windows.win_ping", {"_ansible_verbosity": 3}, func=twin)[1]["exception"] == "trace"


def test_module_tmpdir_is_created_and_removed():
    host = TinyHost()

    def twin(m: ModuleRun) -> None:
        m.result["tmp"] = m.tmpdir

    _rc, out = run("ansible.windows.win_ping", {"_ansible_remote_tmp": "%TEMP%"}, func=twin, host=host)
    assert "\\ansible-moduletmp-" in out["tmp"]
    assert not host.exists(out["tmp"])
    assert out["warnings"][0].startswith("Module remote_tmp C:\\Users\\Administrator\\AppData\\Local\\Temp did not exist")
    _rc, out = run("ansible.windows.win_ping", {"_ansible_tmpdir": "C:\\t\\ansible-tmp-1"}, func=twin)
    assert out["tmp"] == "C:\\t\\ansible-tmp-1"


def test_unhandled_win_error_is_reported_like_module_wrapper():
    from simulator.winerror import WinError

    def twin(m: ModuleRun) -> None:
        raise WinError(5)

    rc, out = run("ansible.windows.win_ping", {}, func=twin)
    assert rc == 1
    assert out["msg"] == "Unhandled exception while executing module: Access is denied."


def test_internal_error_for_required_with_default():
    spec = {"options": {"a": {"required": True, "default": "x"}}}
    with pytest.raises(_validate.InternalError, match="required and default are mutually exclusive for a"):
        basic(spec, {})


# ------------------------------------------------------------------------------------------------- Legacy
def test_legacy_missing_required_and_no_invocation():
    rc, out = run("ansible.windows.win_file", {})
    assert rc == 1
    assert out == {"msg": "Get-AnsibleParam: Missing required argument: path", "failed": True, "changed": False}


def test_legacy_validateset_message_and_unknown_options_ignored():
    _rc, out = run("ansible.windows.win_file", {"dest": "C:\\x", "state": "gone", "bogus": 1})
    assert out["msg"] == "Get-AnsibleParam: Argument state needs to be one of absent,directory,file,touch but was gone."


def test_legacy_bool_conversion_is_lenient():
    assert _validate.convert_to_bool("y") is False
    assert _validate.convert_to_bool("Yes") is True
    assert _validate.convert_to_bool(1) is True


def test_legacy_check_mode_unsupported_message():
    spec = {"options": {}, "supports_check_mode": False}
    engine = _validate.LegacyEngine(spec, env={})
    with pytest.raises(_validate.CheckModeSkip, match=r"^remote module does not support check mode$"):
        engine.run({"_ansible_check_mode": True})


def test_spec_from_own_collection_sidecar_with_fragment(tmp_path, monkeypatch):
    """This collection's modules: a YAML sidecar next to the .ps1, doc fragments from plugins/doc_fragments."""
    modules, fragments = tmp_path / "plugins" / "modules", tmp_path / "plugins" / "doc_fragments"
    modules.mkdir(parents=True)
    fragments.mkdir(parents=True)
    (fragments / "exchange.py").write_text(
        "class ModuleDocFragment:\n"
        "    DOCUMENTATION = r'''\noptions:\n  exchange_url:\n    description: [Where.]\n    type: str\n    default: http://localhost/powershell\n'''\n"
    )
    (modules / "exchange_info.yml").write_text(
        "DOCUMENTATION:\n  module: exchange_info\n  short_description: x\n  description: [x]\n"
        "  extends_documentation_fragment: [exchange_dr.recovery.exchange]\n"
        "  options:\n    server:\n      description: [x]\n      type: str\n      required: true\n"
        "    admin_password:\n      description: [x]\n      type: str\n"
        "  attributes:\n    check_mode: {support: full, description: x}\n"
        "EXAMPLES: ''\nRETURN: {}\n"
    )
    (modules / "exchange_info.ps1").write_text(
        "#!powershell\n#AnsibleRequires -CSharpUtil Ansible.Basic\n"
        "$spec = @{ options = @{ server = @{ type = 'str'; required = $true }; admin_password = @{ type = 'str'; no_log = $true } }\n"
        "    supports_check_mode = $true }\n"
    )
    monkeypatch.setattr(_argspec, "REPO_ROOT", tmp_path)
    _argspec.ps1_facts.cache_clear()
    try:
        spec = _argspec.build_spec("exchange_dr.recovery.exchange_info")
    finally:
        _argspec.ps1_facts.cache_clear()
    assert spec["supports_check_mode"] is True
    assert spec["options"]["server"] == {"type": "str", "required": True}
    assert spec["options"]["admin_password"]["no_log"] is True
    assert spec["options"]["exchange_url"]["default"] == "http://localhost/powershell"


def test_deprecated_alias_and_removed_option_are_reported():
    spec = {
        "options": {
            "name": {"aliases": ["n"], "deprecated_aliases": [{"name": "n", "version": "3.0.0", "collection_name": "x.y"}]},
            "old": {"removed_in_version": "4.0.0", "removed_from_collection": "x.y"},
        }
    }
    engine = basic(spec, {"n": "a", "old": "b"})
    assert engine.params["name"] == "a"
    assert engine.deprecations == [
        {"msg": "Alias 'n' is deprecated. See the module docs for more information", "version": "3.0.0", "collection_name": "x.y"},
        {"msg": "Param 'old' is deprecated. See the module docs for more information", "version": "4.0.0", "collection_name": "x.y"},
    ]
