"""The PowerShell check must pass a consistent module and catch each kind of spec/documentation mismatch and syntax error.

Every case starts from the same small fixture collection (a module whose $spec and YAML sidecar agree, a shared spec in a
module_util and a doc fragment) and applies exactly one edit, so a pass proves the check notices that edit.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tools import pscheck

FIXTURE = Path(__file__).parent / "fixtures" / "pscheck" / "plugins"


@pytest.fixture
def plugins(tmp_path: Path) -> Path:
    target = tmp_path / "plugins"
    shutil.copytree(FIXTURE, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1))


def findings(plugins: Path) -> list[str]:
    return [str(f) for f in pscheck.check_module(plugins / "modules" / "sample.ps1")]


def test_consistent_module_passes(plugins: Path) -> None:
    assert findings(plugins) == []
    assert pscheck.main([str(plugins)]) == 0


def test_spec_includes_shared_spec_and_nested_options(plugins: Path) -> None:
    spec = pscheck.module_spec(pscheck.parse_script(plugins / "modules" / "sample.ps1"))[0]
    assert spec["options"]["shared_timeout"] == {"type": "int", "default": 600}
    assert spec["options"]["settings"]["options"]["mode"]["choices"] == ["read", "write"]
    assert spec["required_if"] == [["state", "started", ["name"]]]


# (file, text in the fixture, replacement, text the finding must contain)
MISMATCHES = {
    "undocumented option": (
        "sample.ps1",
        "        description = @{}",
        "        description = @{}\n        extra = @{ type = 'str' }",
        "option extra is in $spec but not documented",
    ),
    "option missing from spec": ("sample.ps1", "        force = @{ type = 'bool'; default = $false }\n", "", "option force is documented but not in $spec"),
    "type": ("sample.yml", "      type: int\n      default: 30", "      type: str\n      default: 30", "option timeout: type is 'int' in $spec but 'str'"),
    "required": ("sample.ps1", "name = @{ type = 'str'; required = $true;", "name = @{ type = 'str';", "option name: required is False in $spec but True"),
    "default": ("sample.yml", "default: 30", "default: 60", "option timeout: default is 30 in $spec but 60"),
    "choices": ("sample.yml", "choices: [stopped, started]", "choices: [stopped, started, paused]", "option state: choices"),
    "no_log": (
        "sample.ps1",
        "password = @{ type = 'str'; no_log = $true }",
        "password = @{ type = 'str' }",
        "option password: no_log is False in $spec but True",
    ),
    "no_log marker missing": (
        "sample.yml",
        "Secret; never logged or returned (C(no_log)).",
        "Secret.",
        "option password: no_log is True in $spec but False",
    ),
    "aliases": ("sample.yml", "aliases: [service_name]", "aliases: [svc]", "option name: aliases is ['service_name'] in $spec but ['svc']"),
    "elements": ("sample.ps1", "elements = 'str'", "elements = 'int'", "option names: elements is 'int' in $spec but 'str'"),
    "list default": ("sample.yml", "default: [a, b]", "default: [a]", "option names: default is ['a', 'b'] in $spec but ['a']"),
    "bool default": (
        "sample.ps1",
        "force = @{ type = 'bool'; default = $false }",
        "force = @{ type = 'bool'; default = $true }",
        "option force: default is True",
    ),
    "suboption": ("sample.yml", "          choices: [read, write]", "          choices: [read]", "option settings.mode: choices"),
    "suboption missing": (
        "sample.yml",
        "        path:\n          description: Path.\n          type: path\n          required: true\n",
        "",
        "option settings.path is in $spec",
    ),
    "shared spec vs fragment": ("_SampleShared.psm1", "default = 600", "default = 300", "option shared_timeout: default is 300 in $spec but 600"),
    "check mode attribute": ("sample.yml", "support: full", "support: none", "supports_check_mode is True but attributes.check_mode.support is 'none'"),
    "invalid spec key": (
        "sample.ps1",
        "timeout = @{ type = 'int'; default = 30 }",
        "timeout = @{ type = 'int'; default = 30; requried = $true }",
        "invalid spec key(s) requried",
    ),
    "module name": ("sample.yml", "  module: sample", "  module: other", "DOCUMENTATION.module is 'other'"),
    "spec not a literal": (
        "sample.ps1",
        "timeout = @{ type = 'int'; default = 30 }",
        "timeout = @{ type = 'int'; default = $defaultTimeout }",
        "variable $defaultTimeout in the spec",
    ),
}


@pytest.mark.parametrize("case", MISMATCHES, ids=list(MISMATCHES))
def test_each_mismatch_is_reported(plugins: Path, case: str) -> None:
    name, old, new, expected = MISMATCHES[case]
    location = {"sample.ps1": "modules", "sample.yml": "modules", "_SampleShared.psm1": "module_utils"}[name]
    edit(plugins / location / name, old, new)
    result = findings(plugins)
    assert any(expected in line for line in result), result
    assert pscheck.main([str(plugins)]) == 1


SYNTAX_ERRORS = {
    "unclosed hashtable": ("$module.ExitJson()", "$broken = @{ a = 1\n$module.ExitJson()"),
    "operator without operand": ("if (-not $module.CheckMode) {", "if ($module.CheckMode -eq ) {"),
    "unclosed block": ("    $module.Result.changed = $true\n}", "    $module.Result.changed = $true\n"),
}


@pytest.mark.parametrize("case", SYNTAX_ERRORS, ids=list(SYNTAX_ERRORS))
def test_syntax_errors_are_reported_with_their_line(plugins: Path, case: str) -> None:
    old, new = SYNTAX_ERRORS[case]
    module = plugins / "modules" / "sample.ps1"
    edit(module, old, new)
    result = pscheck.check_module(module)
    assert result, "a syntax error went unnoticed"
    assert all("syntax error" in f.message for f in result)
    first_changed_line = module.read_text().splitlines().index(new.splitlines()[0]) + 1
    assert any(f.line >= first_changed_line for f in result)


def test_syntax_error_in_module_util_is_reported(plugins: Path) -> None:
    edit(plugins / "module_utils" / "_SampleShared.psm1", "Export-ModuleMember -Function Get-SampleSharedSpec", "Export-ModuleMember -Function (")
    assert pscheck.main([str(plugins)]) == 1


def test_module_without_sidecar_is_reported(plugins: Path) -> None:
    (plugins / "modules" / "sample.yml").unlink()
    assert any("no documentation sidecar" in line for line in findings(plugins))


def test_sidecar_without_return_section_is_reported(plugins: Path) -> None:
    sidecar = plugins / "modules" / "sample.yml"
    sidecar.write_text(sidecar.read_text().split("RETURN:")[0])
    assert any("no top-level RETURN" in line for line in findings(plugins))


def test_finding_names_path_line_and_rule(plugins: Path) -> None:
    edit(plugins / "modules" / "sample.ps1", "if (-not $module.CheckMode) {", "if ($module.CheckMode -eq $null) {")
    module = plugins / "modules" / "sample.ps1"
    line = module.read_text().splitlines().index("if ($module.CheckMode -eq $null) {") + 1
    assert f"{module}:{line}: null-on-right: $null is on the right of -eq" in findings(plugins)[0]


# Each rule fixture marks the lines that must be reported with `# finding`; every other line (the constructs Windows
# PowerShell 5.1 has, tokens in strings and comments) must not be.
RULES = {
    "ps7_only": (pscheck.ps7_findings, "ps7-only"),
    "null_on_right": (pscheck.null_comparison_findings, "null-on-right"),
    "result_keys": (pscheck.result_key_findings, "result-keys"),
}


@pytest.mark.parametrize("fixture", RULES)
def test_rule_reports_exactly_the_marked_lines(fixture: str) -> None:
    rule, name = RULES[fixture]
    path = FIXTURE.parent / "rules" / f"{fixture}.ps1"
    marked = {n for n, line in enumerate(path.read_text().splitlines(), 1) if line.rstrip().endswith("# finding")}
    reported = rule(pscheck.parse_script(path))
    assert marked, "the fixture marks no line"
    assert {f.line for f in reported} == marked
    assert {f.rule for f in reported} == {name}


# (text in sample.ps1, replacement, text the finding must contain): each makes `make pscheck` fail with its rule
PS7_EDITS = {
    "ternary": ("$module.Result.state = $null", "$module.Result.state = $module.CheckMode ? 'a' : 'b'", "ternary operator"),
    "null-coalescing": ("$module.Result.state = $null", "$module.Result.state = $module.Params.state ?? 'started'", "null-coalescing operator `??`"),
    "null-coalescing assignment": ("$module.ExitJson()", "$module.Result.state ??= 'started'\n$module.ExitJson()", "`??=`"),
    "null-conditional member": ("$module.Result.state = $null", "$module.Result.state = ${module}?.Params", "null-conditional"),
    "null-conditional element": ("$module.Result.state = $null", "$module.Result.state = $module.Params.names?[0]", "null-conditional"),
    "pipeline chain and": ("$module.ExitJson()", "Test-Path -LiteralPath 'C:\\' && $module.ExitJson()", "`&&`"),
    "pipeline chain or": ("$module.ExitJson()", "Test-Path -LiteralPath 'C:\\' || $module.ExitJson()", "`||`"),
    "ForEach-Object -Parallel": ("$module.ExitJson()", "$null = 1..2 | ForEach-Object -Parallel { $_ }\n$module.ExitJson()", "ForEach-Object -Parallel"),
    "clean block": (
        "$module.ExitJson()",
        "Function Get-SampleThing {\n    process { 1 }\n    clean { 2 }\n}\n$module.ExitJson()",
        "`clean` block",
    ),
    "ConvertFrom-Json -AsHashtable": (
        "$module.ExitJson()",
        "$null = '{}' | ConvertFrom-Json -AsHashtable\n$module.ExitJson()",
        "ConvertFrom-Json -AsHashtable",
    ),
    "PowerShell 7 command": ("$module.ExitJson()", "$null = Get-Uptime\n$module.ExitJson()", "Get-Uptime is PowerShell 6/7 only"),
    "PowerShell 7 variable": ("if (-not $module.CheckMode) {", "if ($IsWindows) {", "$IsWindows exists from PowerShell 6.0"),
}


@pytest.mark.parametrize("case", PS7_EDITS, ids=list(PS7_EDITS))
def test_powershell_7_syntax_fails_once_as_ps7_only(plugins: Path, case: str) -> None:
    old, new, expected = PS7_EDITS[case]
    edit(plugins / "modules" / "sample.ps1", old, new)
    result = pscheck.check_module(plugins / "modules" / "sample.ps1")
    assert [f.rule for f in result] == ["ps7-only"], [str(f) for f in result]  # not also a syntax error for the same token
    assert expected in result[0].message
    assert pscheck.main([str(plugins)]) == 1


RULE_EDITS = {
    "null on the right": ("if (-not $module.CheckMode) {", "if ($module.Params.names -ne $null) {", "null-on-right"),
    "key set late": ("    $module.Result.changed = $true\n", "    $module.Result.changed = $true\n    $module.Result.extra = 1\n", "result-keys"),
    "sub key missing from the literal": (
        "$module.Result.state = $null",
        "$module.Result.state = $null\n$module.Result.info = @{ a = 1 }\n$module.Result.info.b = 2",
        "result-keys",
    ),
}


@pytest.mark.parametrize("case", RULE_EDITS, ids=list(RULE_EDITS))
def test_each_rule_fails_pscheck(plugins: Path, case: str) -> None:
    old, new, rule = RULE_EDITS[case]
    edit(plugins / "modules" / "sample.ps1", old, new)
    assert [f.rule for f in pscheck.check_module(plugins / "modules" / "sample.ps1")] == [rule]
    assert pscheck.main([str(plugins)]) == 1


def test_module_utils_get_the_language_rules_but_not_result_keys(plugins: Path) -> None:
    util = plugins / "module_utils" / "_SampleShared.psm1"
    edit(util, "Export-ModuleMember", "if ($args -eq $null) { $module.Result.late = 1 }\nExport-ModuleMember")
    assert [f.rule for f in pscheck.check_module(util)] == ["null-on-right"]
    assert pscheck.main([str(plugins)]) == 1


def test_private_and_ansible_keys_may_be_set_anywhere(plugins: Path) -> None:
    edit(
        plugins / "modules" / "sample.ps1",
        "    $module.Result.changed = $true\n",
        "    $module.Result.changed = $true\n    $module.Result._raw = @{}\n    $module.Result.msg = 'x'\n",
    )
    assert findings(plugins) == []
