"""Estate files: validation with errors that name the key, addresses, the domain, persistence in the state folder."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from simulator.estate import AUTO_NETWORK, Estate, EstateError, load_config, load_host, prepare_state_dir
from simulator.testing import EXAMPLE_ESTATE

ADMIN = {"Administrator": {"password": "pw", "admin": True}}
MINIMAL = {"name": "t", "hosts": {"WIN01": {"accounts": ADMIN}}}


def with_(doc: dict, path: str, value) -> dict:
    """A copy of `doc` with the dotted `path` set to `value`."""
    out = copy.deepcopy(doc)
    cur = out
    keys = path.split(".")
    for k in keys[:-1]:
        cur = cur.setdefault(k, {})
    cur[keys[-1]] = value
    return out


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("hosts.WIN01.os", {"version": "10.0.99999"}, "hosts.WIN01.os.version:"),
        ("hosts.WIN01.os", {"version": "10"}, "hosts.WIN01.os.version:"),
        ("hosts.WIN01.os", {"flavour": "x"}, "hosts.WIN01.os.flavour: unknown key"),
        ("hosts.WIN01.address", "10.1.2.3", "hosts.WIN01.address: simulated hosts listen on loopback"),
        ("hosts.WIN01.address", "not-an-ip", "hosts.WIN01.address: expected an IPv4 address"),
        ("hosts.WIN01.accounts", {"user": {"password": "x"}}, "hosts.WIN01.accounts: needs an account with admin: true"),
        ("hosts.WIN01.accounts", {"Administrator": {"admin": True}}, "hosts.WIN01.accounts.Administrator.password: required"),
        ("hosts.WIN01.drives", {"D": {"size_gb": 1}}, "hosts.WIN01.drives: a mapping of drive letters that includes C"),
        ("hosts.WIN01.drives", {"C": {"size_gb": 1, "free_gb": 2}}, "hosts.WIN01.drives.C.free_gb: larger than size_gb"),
        ("hosts.WIN01.state", {"filez": {}}, "hosts.WIN01.state.filez: unknown key"),
        ("hosts.WIN01.faults", [{"name": "meteor"}], "hosts.WIN01.faults[0]: unknown fault 'meteor'"),
        ("hosts.WIN01.faults", [{"name": "full_volume"}], "hosts.WIN01.faults[0]: fault 'full_volume' needs a target"),
        ("hosts.WIN01.domain_joined", True, "hosts.WIN01.domain_joined: true needs a domain section"),
        ("hosts.WIN01.colour", "red", "hosts.WIN01.colour: unknown key"),
        ("time_scale", 0, "time_scale: must be > 0"),
        ("time_scale", "fast", "time_scale: expected a number"),
        ("allow_unencrypted", "yes", "allow_unencrypted: expected true or false"),
        ("shares", {"B": {"host": "NOPE", "path": "D:\\B"}}, "shares.B.host: no host named 'NOPE'"),
        ("shares", {"B": {"host": "WIN01", "path": "relative"}}, "shares.B.path: expected a local path"),
        ("domain", {"name": "contoso"}, "domain.name: expected a DNS name"),
        ("domain", {"name": "c.local", "exchange": {"organization": "C", "servers": {"EX01": {"version": "16.0.1.1", "roles": ["Mailbox"]}}}},
         "domain.exchange.servers.EX01.version: expected an Exchange 2013+ build"),
        ("domain", {"name": "c.local", "exchange": {"organization": "C", "servers": {"EX01": {"version": "15.2.1.1", "roles": ["Hub"]}}}},
         "domain.exchange.servers.EX01.roles: expected a list of Mailbox, ClientAccess, Edge"),
        ("domain", {"name": "c.local", "computers": []}, "hosts.WIN01.domain_joined: true, but WIN01 has no computer account"),
    ],
)  # fmt: skip
def test_validation_names_the_key(path: str, value, message: str) -> None:
    with pytest.raises(EstateError) as e:
        load_config(with_(MINIMAL, path, value))
    assert str(e.value).startswith(message), str(e.value)


def test_top_level_errors() -> None:
    with pytest.raises(EstateError, match=r"^estate.hosts: required"):
        load_config({"name": "x"})
    with pytest.raises(EstateError, match=r"^hosts.bad_name!: a host name must be a NetBIOS name"):
        load_config({"name": "x", "hosts": {"bad_name!": {"accounts": ADMIN}}})
    with pytest.raises(EstateError, match=r"^hosts.B.address: 127.0.0.9 is also A's address"):
        load_config({"name": "x", "hosts": {"A": {"address": "127.0.0.9", "accounts": ADMIN}, "B": {"address": "127.0.0.9", "accounts": ADMIN}}})


def test_the_example_estate_is_valid() -> None:
    config = load_config(EXAMPLE_ESTATE)
    assert set(config.hosts) == {"EX01", "FS01", "SPARE01"}
    assert config.domain.user("svc-crm") is not None
    assert config.shares["Backups"] == {"host": "FS01", "path": "D:\\Backups", "description": "Nightly backups"}


def test_auto_addresses_are_random_loopback_and_kept_per_state_folder(tmp_path) -> None:
    doc = {"name": "t", "hosts": {"A": {"accounts": ADMIN}, "B": {"accounts": ADMIN}, "C": {"address": "127.0.0.77", "accounts": ADMIN}}}
    first = prepare_state_dir(doc, tmp_path / "s")
    a, b = first.address_of("A"), first.address_of("B")
    import ipaddress

    assert ipaddress.ip_address(a) in AUTO_NETWORK and a != b
    assert first.address_of("C") == "127.0.0.77"
    again = prepare_state_dir(doc, tmp_path / "s")
    assert (again.address_of("A"), again.address_of("B")) == (a, b)
    other = prepare_state_dir(doc, tmp_path / "other")
    assert other.address_of("A") not in (a, b) or other.address_of("B") not in (a, b)
    forced = prepare_state_dir(doc, tmp_path / "forced", force_auto=True)
    assert forced.address_of("C") != "127.0.0.77"
    assert yaml.safe_load((tmp_path / "s" / "estate.yml").read_text())["hosts"]["A"]["address"] == a


def test_state_folder_layout_and_persistence(tmp_path) -> None:
    doc = {**MINIMAL, "hosts": {"WIN01": {"accounts": ADMIN, "faults": [{"name": "slow_host", "params": {"seconds": 1}}]}}}
    estate = prepare_state_dir(doc, tmp_path)
    for name in ("estate.yml", "control.json", "hosts/WIN01/state.json", "hosts/WIN01/fs/C/Windows/System32/cmd.exe"):
        assert (tmp_path / name).exists(), name
    assert json.loads((tmp_path / "control.json").read_text())["faults"][0]["name"] == "slow_host"
    host = estate.host("win01")
    host.mkdir(r"C:\Data")
    host.reg_create_key(r"HKLM:\SOFTWARE\Kept")
    host.create_service("Kept", "Kept Service", "k.exe", "auto")
    reopened = Estate.open(tmp_path).host("WIN01")
    assert reopened.is_dir(r"C:\Data") and reopened.reg_key_exists(r"HKLM:\SOFTWARE\Kept") and reopened.service("Kept")
    # a second prepare keeps existing state and the run-time faults
    (tmp_path / "control.json").write_text('{"faults": []}')
    prepare_state_dir(doc, tmp_path)
    assert load_host(tmp_path, "WIN01").service("Kept") is not None
    assert json.loads((tmp_path / "control.json").read_text()) == {"faults": []}


def test_load_host_is_read_only(tmp_path) -> None:
    prepare_state_dir(MINIMAL, tmp_path)
    copy_ = load_host(tmp_path, "WIN01")
    copy_.mkdir(r"C:\OnlyInMemory")  # files are real, but state.json is not rewritten
    copy_.reg_create_key(r"HKLM:\SOFTWARE\OnlyInMemory")
    assert not load_host(tmp_path, "WIN01").reg_key_exists(r"HKLM:\SOFTWARE\OnlyInMemory")
    with pytest.raises(FileNotFoundError):
        load_host(tmp_path / "nothing", "WIN01")


def test_domain_accounts_and_identities(tmp_path) -> None:
    doc = {
        "name": "t",
        "domain": {"name": "contoso.local", "users": {"Administrator": {"password": "dom", "admin": True}}, "groups": {"PrivUserGroup": ["svc-crm"]}},
        "hosts": {
            "EX01": {"accounts": {**ADMIN, "CONTOSO\\svc-crm": {"password": "crm"}}},
            "WG01": {"domain_joined": False, "accounts": ADMIN},
        },
    }
    estate = prepare_state_dir(doc, tmp_path)
    ex = estate.host("EX01")
    assert ex.fqdn == "EX01.contoso.local"
    assert ex.authenticate("CONTOSO\\svc-crm", "crm").domain
    assert ex.authenticate("svc-crm@contoso.local", "crm") is not None
    assert ex.authenticate("Administrator", "pw").name == "EX01\\Administrator"  # the local one
    assert ex.authenticate("CONTOSO\\Administrator", "dom").admin
    assert ex.authenticate("CONTOSO\\svc-crm", "wrong") is None
    assert "contoso\\privusergroup" in ex.principals("svc-crm")
    assert ex.is_admin("CONTOSO\\Administrator") and not ex.is_admin("CONTOSO\\svc-crm")
    assert ex.canonical_identity(".\\administrator") == "EX01\\Administrator"
    assert ex.canonical_identity("S-1-5-18") == "NT AUTHORITY\\SYSTEM"
    assert {a.name for a in ex.all_accounts()} >= {"EX01\\Administrator", "CONTOSO\\svc-crm", "CONTOSO\\Administrator"}
    wg = estate.host("WG01")
    assert wg.domain is None and wg.fqdn == "WG01"
    assert wg.authenticate("CONTOSO\\svc-crm", "crm") is None
    assert ex.service("Netlogon").state == "running" and wg.service("Netlogon") is None


def test_exchange_server_objects(tmp_path) -> None:
    config = load_config(EXAMPLE_ESTATE)
    attrs = config.domain.exchange_server_attributes("ex01")
    assert attrs["msExchCurrentServerRoles"] == 38  # 2019 Mailbox: Mailbox + ClientAccess + HubTransport
    assert attrs["msExchInstallPath"] == r"C:\Program Files\Microsoft\Exchange Server\V15"
    assert attrs["AdminDisplayVersion"] == "Version 15.2 (Build 1544.4)"
    assert attrs["distinguishedName"] == (
        "CN=EX01,CN=Servers,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,CN=Contoso,"
        "CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=local"
    )
    assert config.domain.exchange_server_attributes("SPARE01") is None
    from simulator.estate import ExchangeServerObject

    assert ExchangeServerObject("X", "15.1.2507.6", ["Mailbox"]).role_bits() == 54  # 2016 adds UM


def test_domain_state_persists_in_domain_json(tmp_path) -> None:
    doc = {"name": "t", "domain": {"name": "contoso.local"}, "hosts": {"EX01": {"accounts": ADMIN}}}
    estate = prepare_state_dir(doc, tmp_path)
    estate.domain.reset_computer("ex01")
    estate.save_domain()
    assert Estate.open(tmp_path).domain.computers["EX01"].password_resets == 1


def test_seeds_can_write_to_another_hosts_share(tmp_path) -> None:
    doc = {
        "name": "t",
        "shares": {"Backups": {"host": "FS01", "path": "C:\\Backups"}},
        "hosts": {
            "EX01": {"accounts": ADMIN, "state": {"files": {"\\\\FS01\\Backups\\from-ex01.txt": "hi"}}},
            "FS01": {"accounts": ADMIN, "state": {"directories": ["C:\\Backups"]}},
        },
    }
    estate = prepare_state_dir(doc, tmp_path)
    assert estate.host("FS01").read_text("C:\\Backups\\from-ex01.txt") == "hi"


def test_example_estate_seeds(tmp_path) -> None:
    estate = prepare_state_dir(EXAMPLE_ESTATE, tmp_path)
    ex, fs = estate.host("EX01"), estate.host("FS01")
    assert ex.service("MSExchangeIS").state == "running"
    assert ex.reg_get_value(r"HKLM:\SOFTWARE\Contoso\Lab", "Blob").data == b"\x0a\x0b\x0c"
    assert ex.stat(r"D:\ExchangeDatabases\DB01\DB01.edb").size == 1048576
    key = r"D:\Backups\EmailRouter\2024-05-01\EncryptionKey.xml"
    assert fs.access_allowed(key, "CONTOSO\\svc-crm", "Read") and not fs.access_allowed(key, "CONTOSO\\svc-crm", "Write")
    assert ex.read_text(r"\\FS01\Backups\EmailRouter\2024-05-01\Microsoft.Crm.Tools.EmailAgent.SystemState.xml") == "<State />"
    assert fs.stat(r"D:\Backups\EX01\Full-2024-05-01.bkf").mtime.isoformat() == "2024-05-01T22:00:00+00:00"
    assert fs.feature("FS-FileServer").installed
    assert fs.state.drives["D"].free_bytes < 1500 * 1024**3
