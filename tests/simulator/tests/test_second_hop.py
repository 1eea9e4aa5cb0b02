"""The second-hop rule, end to end: a WinRM logon with NTLM has no credentials for another host's share; runas become has.

This is why playbooks that install from \\\\FS01\\Media need become (or CredSSP/Kerberos delegation) on real Windows; the
simulator enforces it so the collection's playbooks cannot pass here and fail there.
"""

from __future__ import annotations

import pytest

from simulator.testing import running_estate

pytestmark = pytest.mark.slow

DOMAIN_ADMIN_PASSWORD = "Hop-Adm1n-Passw0rd!"
ESTATE = {
    "name": "second-hop",
    "time_scale": 0.01,
    "domain": {"name": "contoso.local", "users": {"Administrator": {"password": DOMAIN_ADMIN_PASSWORD, "admin": True}}},
    "shares": {"Media": {"host": "FS01", "path": "D:\\Media"}},
    "hosts": {
        "WIN01": {"accounts": {"Administrator": {"password": "Win01-Local-Passw0rd!", "admin": True}}},
        "FS01": {
            "accounts": {"Administrator": {"password": "Fs01-Local-Passw0rd!", "admin": True}},
            "drives": {"C": {"size_gb": 60, "free_gb": 30}, "D": {"size_gb": 100, "free_gb": 90}},
            "state": {"files": {"D:\\Media\\readme.txt": {"content": "installer media\r\n"}}},
        },
    },
}
READ_SHARE = ["WIN01", "-m", "ansible.windows.win_command", "-a", "cmd.exe /c type \\\\FS01\\Media\\readme.txt"]


def test_share_of_another_host_needs_become(tmp_path):
    with running_estate(ESTATE, tmp_path / "state", in_process=True) as lab:
        plain = lab.ansible(*READ_SHARE)
        assert plain.returncode != 0, plain.stdout
        assert "WIN01 | FAILED | rc=1 >>\nAccess is denied." in plain.stdout

        become = lab.ansible(
            *READ_SHARE,
            "--become",
            "--become-method",
            "runas",
            "--become-user",
            "CONTOSO\\Administrator",
            "-e",
            f"ansible_become_password={DOMAIN_ADMIN_PASSWORD}",
        )
        assert become.returncode == 0, become.stdout
        assert "WIN01 | CHANGED | rc=0 >>\ninstaller media" in become.stdout

        # the local share path on the file server itself is not a second hop
        local = lab.ansible("FS01", "-m", "ansible.windows.win_command", "-a", "cmd.exe /c type D:\\Media\\readme.txt")
        assert local.returncode == 0, local.stdout
