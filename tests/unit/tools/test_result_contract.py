"""The result contract must pass a module, documentation and twin that agree, and name the key and the file of each mismatch.

Every case starts from the same fixture (a module whose .ps1, RETURN and twin agree once its action plugin's additions and
drops are taken into account) and applies exactly one edit. The last tests hold the static reading of the real twins to what
they return when they run on a simulated host.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from simulator.testing import make_host
from simulator.twins import run_module
from tests.tools import result_contract
from tests.tools.pscheck import ANSIBLE_KEYS
from tests.tools.result_contract import Controller

FIXTURE = Path(__file__).parent / "fixtures" / "contract"
ROOT = Path(__file__).parents[3]
CONTROLLERS = {"sample": Controller(adds=("verdict", "details.checked"), drops=("raw",))}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path, dirs_exist_ok=True)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1))


def findings(root: Path, controllers: dict[str, Controller] | None = None) -> list[str]:
    return [str(f) for f in result_contract.check(root / "plugins", root / "twins", CONTROLLERS if controllers is None else controllers)]


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_agreeing_module_documentation_and_twin_pass(root: Path) -> None:
    assert findings(root) == []


def test_the_repository_passes() -> None:
    assert [str(f) for f in result_contract.check(ROOT / "plugins", ROOT / result_contract.TWINS)] == []


# (file, text in the fixture, replacement, the findings: (file the finding points at, text it must contain))
MISMATCHES: dict[str, tuple[str, str, str, list[tuple[str, str]]]] = {
    "ps1 sets an undocumented key the twin lacks": (
        "plugins/modules/sample.ps1",
        "$module.Result.size = 0\n",
        "$module.Result.size = 0\n$module.Result.foo = $null\n",
        [
            ("plugins/modules/sample.ps1", "result key 'foo' is set but not documented in {root}/plugins/modules/sample.yml RETURN"),
            ("plugins/modules/sample.ps1", "result key 'foo' is set but the twin {root}/twins/sample.py never returns it"),
        ],
    ),
    "RETURN documents a key nobody sets": (
        "plugins/modules/sample.yml",
        "  verdict:\n",
        "  foo:\n    description: Nobody sets it.\n    returned: always\n    type: str\n  verdict:\n",
        [
            ("plugins/modules/sample.yml", "RETURN documents 'foo' but {root}/plugins/modules/sample.ps1 never sets it"),
            ("plugins/modules/sample.yml", "RETURN documents 'foo' but {root}/twins/sample.py never returns it"),
        ],
    ),
    "twin returns a key the module never sets": (
        "twins/sample.py",
        'r["raw"] = []',
        'r["raw"] = []\n    r["foo"] = None',
        [
            ("twins/sample.py", "result key 'foo' is returned by the twin but {root}/plugins/modules/sample.ps1 never sets it"),
            ("twins/sample.py", "result key 'foo' is returned by the twin but not documented in {root}/plugins/modules/sample.yml RETURN"),
        ],
    ),
    "twin lacks a documented key the module sets": (
        "twins/sample.py",
        'r.update(changed=False, name=p["name"], size=0)',
        "r.update(changed=False, size=0)",
        [
            ("plugins/modules/sample.ps1", "result key 'name' is set but the twin {root}/twins/sample.py never returns it"),
            ("plugins/modules/sample.yml", "RETURN documents 'name' but {root}/twins/sample.py never returns it"),
        ],
    ),
    "ps1 and twin agree, RETURN does not": (
        "plugins/modules/sample.yml",
        "  size:\n    description: Size.\n    returned: always\n    type: int\n",
        "",
        [
            ("plugins/modules/sample.ps1", "result key 'size' is set but not documented in {root}/plugins/modules/sample.yml RETURN"),
            ("twins/sample.py", "result key 'size' is returned by the twin but not documented in {root}/plugins/modules/sample.yml RETURN"),
        ],
    ),
    "sub key set by the ps1 only": (
        "plugins/modules/sample.ps1",
        "@{ path = $null; owner = $null }",
        "@{ path = $null; owner = $null; mode = $null }",
        [
            ("plugins/modules/sample.ps1", "result key 'details.mode' is set but the twin {root}/twins/sample.py never returns it"),
            ("plugins/modules/sample.ps1", "result key 'details.mode' is set but not documented in {root}/plugins/modules/sample.yml RETURN"),
        ],
    ),
    "sub key set by the twin only": (
        "twins/sample.py",
        'details["owner"] = None',
        'details["owner"] = None\n    details["mode"] = None',
        [
            ("twins/sample.py", "result key 'details.mode' is returned by the twin but {root}/plugins/modules/sample.ps1 never sets it"),
            ("twins/sample.py", "result key 'details.mode' is returned by the twin but not documented in {root}/plugins/modules/sample.yml RETURN"),
        ],
    ),
    "sub key documented only": (
        "plugins/modules/sample.yml",
        "      checked:\n",
        "      mode:\n        description: Nobody sets it.\n        type: str\n      checked:\n",
        [
            ("plugins/modules/sample.yml", "RETURN documents 'details.mode' but {root}/plugins/modules/sample.ps1 never sets it"),
            ("plugins/modules/sample.yml", "RETURN documents 'details.mode' but {root}/twins/sample.py never returns it"),
        ],
    ),
    "sub key returned by a function of the module only": (
        "plugins/modules/sample.ps1",
        "$stat = @{ files = 0 }",
        "$stat = @{ files = 0; folders = 0 }",
        [
            ("plugins/modules/sample.ps1", "result key 'stats.folders' is set but the twin {root}/twins/sample.py never returns it"),
            ("plugins/modules/sample.ps1", "result key 'stats.folders' is set but not documented in {root}/plugins/modules/sample.yml RETURN"),
        ],
    ),
    "sub key returned by a helper of the twin only": (
        "twins/sample.py",
        'stat = {"files": 0}',
        'stat = {"files": 0, "folders": 0}',
        [
            ("twins/sample.py", "result key 'stats.folders' is returned by the twin but {root}/plugins/modules/sample.ps1 never sets it"),
            ("twins/sample.py", "result key 'stats.folders' is returned by the twin but not documented in {root}/plugins/modules/sample.yml RETURN"),
        ],
    ),
    "private key the action plugin never reads": (
        "plugins/action/sample.py",
        'listing = module_result.pop("_listing", None)',
        "listing = None",
        [("plugins/modules/sample.ps1", "private result key '_listing' is set but {root}/plugins/action/sample.py never reads it")],
    ),
}


@pytest.mark.parametrize("case", MISMATCHES, ids=list(MISMATCHES))
def test_each_mismatch_names_the_key_and_the_file(root: Path, case: str) -> None:
    name, old, new, expected = MISMATCHES[case]
    edit(root / name, old, new)
    result = findings(root)
    for where, text in expected:
        assert any(line.startswith(f"{root}/{where}:") and ": contract: " in line and text.format(root=root) in line for line in result), result
    assert len(result) == len(expected), result
    assert result_contract.main(["--plugins", str(root / "plugins"), "--twins", str(root / "twins")]) == 1


def test_findings_point_at_the_line_of_the_key(root: Path) -> None:
    edit(root / "plugins/modules/sample.yml", "  verdict:\n", "  foo:\n    description: x\n    returned: always\n    type: str\n  verdict:\n")
    sidecar = root / "plugins/modules/sample.yml"
    assert any(line.startswith(f"{sidecar}:{line_of(sidecar, '  foo:')}: ") for line in findings(root))


def test_return_written_as_a_yaml_string_is_read_with_its_lines(root: Path) -> None:
    sidecar = root / "plugins/modules/sample.yml"
    head, ret = sidecar.read_text().split("RETURN:\n")
    sidecar.write_text(head + "RETURN: |\n" + "".join(f"  {line}\n" for line in ret.splitlines()) + "    foo:\n      description: x\n      type: str\n")
    result = findings(root)
    assert len(result) == 2 and all(line.startswith(f"{sidecar}:{line_of(sidecar, '    foo:')}: ") for line in result), result


def test_ansible_keys_are_left_out(root: Path) -> None:
    edit(root / "plugins/modules/sample.ps1", "$module.Result.msg = 'read'", "$module.Result.msg = 'read'\n$module.Result.warnings = @()")
    assert {"changed", "msg", "warnings"} <= ANSIBLE_KEYS
    assert findings(root) == []


def test_a_key_the_action_plugin_adds_must_be_declared(root: Path) -> None:
    result = findings(root, {"sample": Controller(adds=("details.checked",), drops=("raw",))})
    assert len(result) == 2 and all("RETURN documents 'verdict' but" in line and "CONTROLLER" in line for line in result), result


STALE = {
    "added key the module sets": (Controller(adds=("verdict", "details.checked", "size"), drops=("raw",)), "adds lists 'size' but it makes no difference"),
    "dropped key the module does not set": (
        Controller(adds=("verdict", "details.checked"), drops=("raw", "gone")),
        "drops lists 'gone' but it makes no difference",
    ),
    "dropped key that is documented": (Controller(adds=("verdict", "details.checked"), drops=("raw", "name")), "drops lists 'name' but it makes no difference"),
}


@pytest.mark.parametrize("case", STALE, ids=list(STALE))
def test_a_declaration_that_excuses_nothing_is_reported(root: Path, case: str) -> None:
    controller, expected = STALE[case]
    result = findings(root, {"sample": controller})
    assert len(result) == 1 and result[0].startswith("tests/tools/result_contract.py:1: contract: ") and expected in result[0], result


def test_an_added_key_the_action_plugin_never_mentions_is_reported(root: Path) -> None:
    edit(root / "plugins/action/sample.py", 'result["verdict"] = "full" if raw or listing else "empty"', "del raw, listing")
    result = findings(root)
    assert result == ["tests/tools/result_contract.py:1: contract: CONTROLLER['sample'].adds lists 'verdict' but "
                      f"{root}/plugins/action/sample.py (and the collection code it imports) never mentions 'verdict'"]  # fmt: skip


def test_keys_named_in_collection_code_the_action_plugin_imports_count(root: Path) -> None:
    action = root / "plugins/action/sample.py"
    edit(action, 'result["verdict"] = "full" if raw or listing else "empty"', "result.update(judge(raw, listing))")
    edit(action, "from ansible.plugins.action import ActionBase\n", "from ansible.plugins.action import ActionBase\n\n"
         "from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._sample import judge\n")  # fmt: skip
    (root / "plugins/plugin_utils").mkdir()
    (root / "plugins/plugin_utils/_sample.py").write_text('def judge(raw, listing):\n    return {"verdict": "full" if raw or listing else "empty"}\n')
    assert findings(root) == []


def test_a_module_without_twin_or_sidecar_is_reported(root: Path) -> None:
    (root / "twins/sample.py").unlink()
    assert any("no simulator twin" in line for line in findings(root))


# The static reading must not miss what a twin really returns: each real twin runs on a simulated Exchange 2019 host (some
# end in fail_json, which still returns the keys set so far) and every key and dict sub key it returns was read from its AST.
RUNS = {
    "exchange_info": {},
    "service_state": {"services": [{"name": "MSExchangeIS"}, {"name": "NoSuchService"}]},
    "email_router": {"state": "absent"},
    "email_router_config": {},
    "recover_server": {"setup_path": "C:\\Media\\Setup.exe", "arguments": ["/Mode:RecoverServer"]},
    "exchange_database": {"name": "DB01", "_database": {"guid": "g", "log_folder_path": "C:\\DB01", "read_backup": True}, "restore_from": "C:\\Nowhere"},
    "transport_queue_info": {"queues": False},
    "transport_queue_drain": {"method": "pause"},
    "transport_queue_database": {"state": "fresh"},
}


@pytest.mark.parametrize("name", RUNS)
def test_static_twin_keys_cover_a_real_run(tmp_path: Path, name: str) -> None:
    host = make_host(tmp_path, "EX01", seed={"exchange": {"version": "15.2.1544.4", "roles": ["Mailbox"]}})
    _rc, out = run_module(f"exchange_dr.recovery.{name}", {"_ansible_check_mode": False, **RUNS[name]}, host, "Administrator")
    returned: dict[str, Any] = {k: v for k, v in json.loads(out).items() if k not in ANSIBLE_KEYS}
    static = result_contract.twin_keys(ROOT / result_contract.TWINS / f"{name}.py")
    assert set(returned) <= set(static.top)
    for key, value in returned.items():
        if isinstance(value, dict) and static.shape(key) is not None:
            assert set(value) <= set(static.shape(key)), key
