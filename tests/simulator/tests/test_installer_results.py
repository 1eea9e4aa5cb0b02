"""End to end, judged by the real ansible-core: the Email Router module's result when setup asks for a restart (exit code
3010), and the removal of a router registered as a Windows Installer product (UninstallString MsiExec.exe /I{code}).

ansible-core fails any task whose result has an rc other than 0 and no `failed` key (TaskExecutor); the module says
failed=false for 3010 as ansible.windows win_package does, so the task is changed, not failed.
"""

from __future__ import annotations

import json

import pytest

from simulator.testing import running_estate

pytestmark = pytest.mark.slow

CODE = "{5A5A0001-0000-4000-8000-0000000E0001}"
PRODUCT = {"code": CODE, "name": "Microsoft Dynamics CRM E-mail Router", "version": "8.2.0.749"}
ESTATE = {
    "name": "installer-results",
    "time_scale": 0.01,
    "hosts": {
        "EX01": {
            "os": {"version": "10.0.17763"},
            "accounts": {"Administrator": {"password": "Ex01-Local-Passw0rd!", "admin": True}},
            "drives": {"C": {"size_gb": 100, "free_gb": 60}},
            "state": {
                "files": {
                    r"C:\Media\CRM\SetupEmailRouter.exe": {
                        "program": "email_router_installer",
                        "args": {"product": PRODUCT, "file_version": "8.2.0.749", "seconds": 30, "rc": 3010, "msi": True},
                    },
                },
            },
        },
    },
}


def result_of(output: str) -> dict:
    """The module result of `ansible HOST -m ...`: the JSON after 'HOST | STATUS => '."""
    return json.loads(output[output.index(" => {") + 4 : output.rindex("}") + 1])


def test_a_restart_request_is_a_change_and_an_msi_router_is_really_removed(tmp_path) -> None:
    with running_estate(ESTATE, tmp_path / "state", in_process=True) as lab:
        install = lab.ansible("EX01", "-m", "exchange_dr.recovery.email_router", "-a", r"path=C:\Media\CRM\SetupEmailRouter.exe")
        assert install.returncode == 0, install.stdout
        assert "EX01 | CHANGED" in install.stdout
        result = result_of(install.stdout)
        assert result["rc"] == 3010 and result["reboot_required"] is True and result["installed"] is True
        assert lab.host("EX01").product(CODE).uninstall_string == f"MsiExec.exe /I{CODE}"

        removed = lab.ansible("EX01", "-m", "exchange_dr.recovery.email_router", "-a", "state=absent")
        assert removed.returncode == 0 and "EX01 | CHANGED" in removed.stdout, removed.stdout
        host = lab.host("EX01")
        assert host.product(CODE) is None and host.service("MSCRMEmail") is None

        again = lab.ansible("EX01", "-m", "exchange_dr.recovery.email_router", "-a", "state=absent")
        assert again.returncode == 0 and "EX01 | SUCCESS" in again.stdout, again.stdout
