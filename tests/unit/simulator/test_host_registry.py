"""The registry of a simulated host: hive spellings, typed values, the default value, key deletion rules."""

from __future__ import annotations

import pytest

from simulator.host_registry import parse_reg_path
from simulator.testing import make_host
from simulator.winerror import WinError


@pytest.fixture
def host(tmp_path):
    return make_host(tmp_path)


@pytest.mark.parametrize(
    "spelling",
    [
        r"HKLM:\SOFTWARE\Contoso",
        r"HKLM:SOFTWARE\Contoso",
        r"HKLM\SOFTWARE\Contoso",
        r"HKEY_LOCAL_MACHINE\SOFTWARE\Contoso",
        r"Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Contoso",
        r"Microsoft.PowerShell.Core\Registry::HKLM\software\contoso",
        r"hklm:/software/contoso",
    ],
)
def test_hive_spellings(spelling: str) -> None:
    hive, parts = parse_reg_path(spelling)
    assert hive == "HKEY_LOCAL_MACHINE"
    assert [p.casefold() for p in parts] == ["software", "contoso"]


def test_hkcr_is_the_machine_classes_key() -> None:
    assert parse_reg_path(r"HKCR:\.txt") == ("HKEY_LOCAL_MACHINE", ("SOFTWARE", "Classes", ".txt"))


def test_unknown_hive(host) -> None:
    with pytest.raises(WinError) as e:
        host.reg_create_key(r"HKXX:\Nope")
    assert "does not exist" in e.value.message


def test_keys_are_case_insensitive_and_case_preserving(host) -> None:
    assert host.reg_create_key(r"HKLM:\SOFTWARE\Contoso\Lab") is True
    assert host.reg_create_key(r"HKEY_LOCAL_MACHINE\software\CONTOSO\lab") is False
    info = host.reg_get_key(r"hklm:\software\contoso\LAB")
    assert info.path == r"HKEY_LOCAL_MACHINE\SOFTWARE\Contoso\Lab"
    assert "Lab" in host.reg_subkeys(r"HKLM:\SOFTWARE\Contoso")


@pytest.mark.parametrize(
    ("type_", "given", "stored"),
    [
        ("REG_SZ", "text", "text"),
        ("REG_EXPAND_SZ", "%SystemRoot%\\x", "%SystemRoot%\\x"),
        ("REG_DWORD", 5, 5),
        ("REG_DWORD", "0x10", 16),
        ("REG_DWORD", -1, 0xFFFFFFFF),  # two's complement, as RegSetValueEx stores a negative int
        ("REG_QWORD", 2**40, 2**40),
        ("REG_MULTI_SZ", ["a", "b"], ["a", "b"]),
        ("REG_BINARY", b"\x01\x02", b"\x01\x02"),
        ("REG_BINARY", [1, 255], b"\x01\xff"),
        ("REG_BINARY", "0a,0b", b"\x0a\x0b"),
        ("REG_NONE", None, b""),
    ],
)
def test_value_types(host, type_: str, given, stored) -> None:
    host.reg_create_key(r"HKLM:\SOFTWARE\T")
    assert host.reg_set_value(r"HKLM:\SOFTWARE\T", "V", given, type_) is True
    value = host.reg_get_value(r"HKLM:\SOFTWARE\T", "v")
    assert (value.name, value.type, value.data) == ("V", type_, stored)
    assert host.reg_set_value(r"HKLM:\SOFTWARE\T", "v", given, type_) is False  # idempotent


def test_values_that_do_not_fit(host) -> None:
    host.reg_create_key(r"HKLM:\SOFTWARE\T")
    for type_, data in (("REG_DWORD", 2**32), ("REG_DWORD", -(2**31) - 1), ("REG_QWORD", 2**64), ("REG_WHATEVER", 1)):
        with pytest.raises(WinError) as e:
            host.reg_set_value(r"HKLM:\SOFTWARE\T", "V", data, type_)
        assert e.value.code == 87


def test_default_value(host) -> None:
    host.reg_create_key(r"HKCU:\Software\App")
    host.reg_set_value(r"HKCU:\Software\App", None, "dflt")
    assert host.reg_get_value(r"HKCU:\Software\App", "").data == "dflt"
    assert host.reg_get_key(r"HKCU:\Software\App").value(None).data == "dflt"
    host.reg_delete_value(r"HKCU:\Software\App", "")
    assert host.reg_get_value(r"HKCU:\Software\App", None) is None


def test_setting_a_value_needs_the_key_unless_asked(host) -> None:
    with pytest.raises(WinError) as e:
        host.reg_set_value(r"HKLM:\SOFTWARE\Missing", "V", "x")
    assert e.value.code == 2
    host.reg_set_value(r"HKLM:\SOFTWARE\Missing", "V", "x", create_key=True)
    assert host.reg_get_value(r"HKLM:\SOFTWARE\Missing", "V").data == "x"
    assert host.reg_get_value(r"HKLM:\SOFTWARE\Other", "V") is None


def test_deleting_a_key_with_subkeys_needs_recurse(host) -> None:
    host.reg_create_key(r"HKLM:\SOFTWARE\Tree\Leaf")
    with pytest.raises(WinError) as e:
        host.reg_delete_key(r"HKLM:\SOFTWARE\Tree")
    assert e.value.code == 5
    host.reg_delete_key(r"HKLM:\SOFTWARE\Tree", recurse=True)
    assert not host.reg_key_exists(r"HKLM:\SOFTWARE\Tree")
    with pytest.raises(WinError) as e:
        host.reg_delete_key(r"HKLM:\SOFTWARE\Tree")
    assert e.value.code == 2


def test_baseline_has_the_os_facts(tmp_path) -> None:
    host = make_host(tmp_path, os_version="10.0.20348")
    cv = host.reg_get_key(r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion")
    assert cv.value("ProductName").data == "Windows Server 2022 Datacenter"
    assert cv.value("CurrentBuildNumber").data == "20348"
    assert cv.value("DisplayVersion").data == "21H2"
    assert host.reg_get_value(r"HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full", "Release").data >= 528040
    assert host.reg_get_value(r"HKLM:\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName", "ComputerName").data == "WIN01"
