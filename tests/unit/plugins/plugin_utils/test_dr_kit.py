"""The DR kit's controller engines (plugin_utils/_dr_kit.py, _dr_kit_plan.py, _dr_kit_crypto.py): values, the manifest and its
DAG section, checksums and refusals, versions on disk, the comparison of two kits, encryption, and the re-apply plan."""

from __future__ import annotations

import base64
import copy
import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _dr_kit as kit
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _dr_kit_crypto as crypto
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _dr_kit_plan as plan

NOW = datetime.datetime(2026, 11, 22, 3, 48, 28, tzinfo=datetime.UTC)
PASSWORD = "Kit-Unit-Passw0rd!"


def certificate() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.contoso.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    thumb = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - a thumbprint is SHA-1
    pfx = pkcs12.serialize_key_and_certificates(b"t", key, cert, None, serialization.BestAvailableEncryption(PASSWORD.encode()))
    return thumb, pfx


THUMB, PFX = certificate()
SELF_SIGNED = "AA" * 20


def raw_read(**changes: Any) -> dict[str, Any]:
    """A capture module's read of EX01 (2019 CU14), as the twin returns it."""
    raw: dict[str, Any] = {
        "server": "EX01",
        "fqdn": "ex01.contoso.local",
        "exchange": {"version": "15.2.1544.4", "install_path": "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\"},
        "virtual_directories": [
            {
                "type": "owa",
                "name": "owa (Default Web Site)",
                "identity": "EX01\\owa (Default Web Site)",
                "properties": {
                    "InternalUrl": "https://mail.contoso.com/owa",
                    "ExternalUrl": None,
                    "BasicAuthentication": True,
                    "ExternalAuthenticationMethods": ["Fba"],
                },
            }
        ],
        "receive_connectors": [
            {
                "name": "Default Frontend EX01",
                "identity": "EX01\\Default Frontend EX01",
                "properties": {"MaxMessageSize": "36 MB (37,748,736 bytes)", "AuthMechanism": "Tls, BasicAuth"},
            },
            {
                "name": "Relay EX01",
                "identity": "EX01\\Relay EX01",
                "properties": {
                    "Bindings": ["0.0.0.0:25"],
                    "RemoteIPRanges": ["10.0.0.20"],
                    "TransportRole": "FrontendTransport",
                    "PermissionGroups": "AnonymousUsers",
                },
            },
        ],
        "transport": {"cmdlet": "Get-TransportService", "properties": {"MaxOutboundConnections": "500", "MessageExpirationTimeout": "2.00:00:00"}},
        "certificates": [
            {
                "thumbprint": THUMB,
                "subject": "CN=mail.contoso.com",
                "services": "IIS, SMTP",
                "self_signed": False,
                "has_private_key": True,
                "private_key_exportable": True,
                "pfx": base64.b64encode(PFX).decode(),
                "domains": ["mail.contoso.com"],
                "not_after": "2027-11-22T03:48:28Z",
            },
            {
                "thumbprint": SELF_SIGNED,
                "subject": "CN=EX01",
                "services": "IMAP, POP, SMTP",
                "self_signed": True,
                "has_private_key": True,
                "private_key_exportable": False,
                "pfx": None,
            },
        ],
        "dag": {
            "dag": {
                "name": "DAG1",
                "servers": ["EX01", "EX02"],
                "witness_server": "fs01.contoso.local",
                "witness_directory": "C:\\DAG1",
                "datacenter_activation_mode": "Off",
            },
            "databases": [
                {
                    "name": "DB01",
                    "servers": ["EX01", "EX02"],
                    "activation_preference": ["[EX01, 1]", "[EX02, 2]"],
                    "replay_lag_times": [{"key": "EX01", "value": "00:00:00"}, {"key": "EX02", "value": "7.00:00:00"}],
                    "truncation_lag_times": ["[EX01, 00:00:00]", "[EX02, 1.00:00:00]"],
                }
            ],
        },
        "config_files": [
            {"path": "Bin\\EdgeTransport.exe.config", "exists": True, "content": base64.b64encode(b"<configuration edited/>").decode()},
            {"path": "ClientAccess\\Sync\\web.config", "exists": False, "content": None},
        ],
    }
    raw.update(changes)
    return raw


def sealed(
    raw: dict[str, Any] | None = None, router: dict[str, Any] | None = None, password: str | None = PASSWORD, **kw: Any
) -> tuple[dict[str, Any], dict[str, bytes], list[str]]:
    manifest, files, warnings = kit.assemble(
        raw or raw_read(), router, now=NOW, version="20261122T034828Z", previous=None, collection_version="0.1.0", password=password, **kw
    )
    kit.finish_manifest(manifest, files)
    return manifest, files, warnings


# -- values -----------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "a", "b", "equal"),
    [
        ("size", "36 MB (37,748,736 bytes)", 37748736, True),
        ("size", "36MB", "36 MB (37,748,736 bytes)", True),
        ("size", "35MB", "36 MB (37,748,736 bytes)", False),
        ("flags", "Tls, BasicAuth", "BasicAuth,tls", True),
        ("list", ["10.0.0.21", "10.0.0.20"], ["10.0.0.20", "10.0.0.21"], True),
        ("list", None, [], True),
        ("url", "https://mail.contoso.com/owa/", "HTTPS://mail.contoso.com/owa", True),
        ("url", None, "https://mail.contoso.com/owa", False),
        ("timespan", "7.00:00:00", "7.0:0:0", False),  # not a time span Exchange prints: compared as text
        ("timespan", "1.00:00:00", "1.00:00:00", True),
        ("bool", "True", True, True),
        ("int", "20", 20, True),
    ],
)
def test_values_compare_the_way_exchange_means_them(kind: str, a: Any, b: Any, equal: bool) -> None:
    assert kit.same(kind, a, b) is equal


def test_certificate_services_are_read_in_one_order() -> None:
    assert kit.services_list("SMTP, IIS, IMAP") == ["IMAP", "IIS", "SMTP"]
    assert kit.services_list("None") == []
    assert kit.services_list(["pop", "federation"]) == ["POP", "Federation"]


# -- the manifest --------------------------------------------------------------------------------------------------------------------
def test_the_manifest_records_every_section_and_the_dag_from_both_pair_forms() -> None:
    manifest, files, warnings = sealed()
    assert warnings == []
    assert manifest["schema"] == kit.SCHEMA and manifest["server"]["release"] == "Exchange Server 2019 CU14"
    assert manifest["virtual_directories"][0]["external_url"] is None and manifest["virtual_directories"][0]["settings"]["BasicAuthentication"] is True
    relay = next(c for c in manifest["receive_connectors"] if c["name"] == "Relay EX01")
    assert not relay["default"] and next(c for c in manifest["receive_connectors"] if c["name"] == "Default Frontend EX01")["default"]
    assert next(c for c in manifest["receive_connectors"] if c["default"])["settings"]["MaxMessageSize"] == "37748736"
    assert manifest["dag"]["member"] and manifest["dag"]["name"] == "DAG1"
    assert manifest["dag"]["database_copies"] == [
        {"database": "DB01", "server": "EX01", "activation_preference": 1, "replay_lag_time": "00:00:00", "truncation_lag_time": "00:00:00"},
        {"database": "DB01", "server": "EX02", "activation_preference": 2, "replay_lag_time": "7.00:00:00", "truncation_lag_time": "1.00:00:00"},
    ]
    ca = next(c for c in manifest["certificates"] if c["thumbprint"] == THUMB)
    assert ca["pfx"]["file"] == f"certificates/{THUMB}.pfx" and files[ca["pfx"]["file"]] == PFX
    own = next(c for c in manifest["certificates"] if c["self_signed"])
    assert own["pfx"] is None and own["pfx_missing_reason"].startswith("self-signed")
    assert [f["path"] for f in manifest["config_files"]] == ["Bin\\EdgeTransport.exe.config"] and manifest["config_files"][0]["edited"] is None
    assert set(manifest["files"]) == set(files) and manifest["checksum"]["manifest"] == kit.manifest_checksum(manifest)


def test_a_server_outside_any_dag_and_exchange_2007() -> None:
    outside = kit.dag_section({"dag": {"name": None}, "databases": [{"name": "DB02", "servers": ["EX01"], "activation_preference": ["[EX01, 1]"]}]}, "EX01")
    assert outside is not None and not outside["member"] and outside["name"] is None and outside["servers"] == []
    assert outside["database_copies"][0]["activation_preference"] == 1
    assert kit.dag_section(None, "EX2007") is None


def test_an_export_the_password_does_not_open_is_not_kept() -> None:
    manifest, files, warnings = sealed(password="another password")
    ca = next(c for c in manifest["certificates"] if c["thumbprint"] == THUMB)
    assert ca["pfx"] is None and "does not open with the kit password" in ca["pfx_missing_reason"]
    assert not [n for n in files if n.endswith(".pfx")] and warnings


def test_without_a_password_nothing_holding_a_key_is_written() -> None:
    raw = raw_read()
    raw["certificates"][0]["pfx"] = None  # the module exports only with a password
    router = {
        "installed": True,
        "service_folder": "C:\\Program Files\\Microsoft CRM Email\\Service",
        "set": {"EncryptionKey.xml": {"sha256": "ab", "content": base64.b64encode(b"<Key/>").decode()}},
    }
    manifest, files, warnings = sealed(raw, router, password=None)
    assert not any(n.endswith((".pfx", ".enc")) for n in files)
    assert manifest["email_router"]["stored"] is False and manifest["email_router"]["files"][0]["sha256"] == "ab"
    assert next(c for c in manifest["certificates"] if c["thumbprint"] == THUMB)["pfx_missing_reason"] == "no kit password was given, so it was not exported"
    assert any("Email Router" in w for w in warnings)


def test_the_email_router_set_is_kept_encrypted_with_the_password() -> None:
    router = {
        "installed": True,
        "service_folder": "S",
        "set": {"EncryptionKey.xml": {"sha256": "ab", "content": base64.b64encode(b"<Key>secret</Key>").decode()}},
    }
    manifest, files, _warnings = sealed(router=router)
    blob = files["email_router/EncryptionKey.xml.enc"]
    assert b"secret" not in blob and crypto.decrypt(blob, PASSWORD) == b"<Key>secret</Key>"
    with pytest.raises(crypto.KitCryptoError, match=r"does not open"):
        crypto.decrypt(blob, "wrong")
    with pytest.raises(crypto.KitCryptoError, match=r"does not open"):
        crypto.decrypt(blob[:-1] + bytes([blob[-1] ^ 1]), PASSWORD)
    assert manifest["email_router"]["stored"]


def test_config_baseline_says_which_files_were_edited(tmp_path: Path) -> None:
    manifest, files, _w = sealed(baseline=tmp_path)
    assert kit.record_baseline(tmp_path, manifest, files) == ["Bin\\EdgeTransport.exe.config"]
    assert kit.record_baseline(tmp_path, manifest, files) == []  # kept, not overwritten
    same, _f, _w = sealed(baseline=tmp_path)
    assert same["config_files"][0]["edited"] is False
    other = raw_read(config_files=[{"path": "Bin\\EdgeTransport.exe.config", "exists": True, "content": base64.b64encode(b"<changed/>").decode()}])
    edited, _f, _w = sealed(other, baseline=tmp_path)
    assert edited["config_files"][0]["edited"] is True


@pytest.mark.parametrize("path", ["..\\..\\Windows\\win.ini", "C:\\Windows\\win.ini", "Bin\\..\\..\\x.config", ""])
def test_config_paths_that_could_leave_the_install_folder_are_refused(path: str) -> None:
    with pytest.raises(kit.KitError, match="must be relative to the Exchange install folder"):
        kit.config_file_name(path)


# -- the kit on disk --------------------------------------------------------------------------------------------------------------
def test_a_kit_is_written_privately_indexed_and_never_overwritten(tmp_path: Path) -> None:
    manifest, files, _w = sealed()
    folder = kit.write_kit(tmp_path, manifest, files)
    assert folder == tmp_path / "EX01" / "20261122T034828Z"
    assert (folder / "manifest.json").stat().st_mode & 0o077 == 0 and (tmp_path / "EX01").stat().st_mode & 0o077 == 0
    assert kit.read_index(tmp_path / "EX01")["versions"][0]["manifest_sha256"] == manifest["checksum"]["manifest"]
    assert kit.load_kit(folder)[0] == manifest and kit.load_kit(folder / "manifest.json")[1] == folder
    with pytest.raises(kit.KitError, match="is never overwritten"):
        kit.write_kit(tmp_path, manifest, files)
    assert kit.version_name(NOW, ["20261122T034828Z"]) == "20261122T034828Z-2"


def test_a_damaged_or_altered_kit_is_refused_naming_the_file(tmp_path: Path) -> None:
    manifest, files, _w = sealed()
    folder = kit.write_kit(tmp_path, manifest, files)
    pfx = folder / f"certificates/{THUMB}.pfx"
    pfx.write_bytes(pfx.read_bytes()[:-1])
    with pytest.raises(kit.KitError, match=rf"{THUMB}.pfx fails its checksum"):
        kit.load_kit(folder)
    pfx.unlink()
    with pytest.raises(kit.KitError, match="is missing from the kit"):
        kit.load_kit(folder)
    doc = json.loads((folder / "manifest.json").read_text())
    doc["server"]["name"] = "EX02"  # an edit without re-sealing
    (folder / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(kit.KitError, match=r"manifest\.json fails its checksum"):
        kit.load_kit(folder)
    (folder / "manifest.json").write_text(json.dumps({**doc, "schema": "something/else"}))
    with pytest.raises(kit.KitError, match=r"is not exchange_dr\.recovery/dr_kit/v1"):
        kit.load_kit(folder)


def test_keep_prunes_the_oldest_versions(tmp_path: Path) -> None:
    manifest, files, _w = sealed()
    for n in range(3):
        kit.write_kit(tmp_path, {**copy.deepcopy(manifest), "version": f"2026112{n}T000000Z"}, files)
    assert kit.prune(tmp_path, "EX01", 2) == ["20261120T000000Z"]
    assert [v["version"] for v in kit.read_index(tmp_path / "EX01")["versions"]] == ["20261121T000000Z", "20261122T000000Z"]
    assert not (tmp_path / "EX01" / "20261120T000000Z").exists() and kit.prune(tmp_path, "EX01", 0) == []


def test_a_kit_of_another_server_or_build_is_refused() -> None:
    manifest, _files, _w = sealed()
    assert kit.check_target(manifest, "ex01", "15.2.1544.4") is None
    assert "the kit is of server EX01, not EX02" in str(kit.check_target(manifest, "EX02", "15.2.1544.4"))
    other = kit.check_target(manifest, "EX01", "15.2.1258.12")
    assert other is not None and "15.2.1544.4 (Exchange Server 2019 CU14)" in other and "15.2.1258.12 (Exchange Server 2019 CU13)" in other


# -- comparing kits --------------------------------------------------------------------------------------------------------------
def test_the_same_server_read_twice_has_no_difference_and_each_change_is_one_line() -> None:
    first, _f, _w = sealed()
    again, _f, _w = sealed()  # the export is encrypted afresh: not a difference
    assert kit.diff(first, again) == []
    assert kit.diff(None, again) == ["first kit of this server"]
    raw = raw_read()
    raw["virtual_directories"][0]["properties"]["ExternalUrl"] = "https://mail.contoso.com/owa"
    raw["transport"]["properties"]["MaxOutboundConnections"] = "1000"
    raw["certificates"][0]["services"] = "IIS"
    raw["dag"]["databases"][0]["replay_lag_times"][1]["value"] = "00:00:00"
    changed, _f, _w = sealed(raw)
    assert kit.diff(first, changed) == [
        "virtual directory owa owa (Default Web Site): ExternalUrl None -> 'https://mail.contoso.com/owa'",
        "transport: MaxOutboundConnections '500' -> '1000'",
        f"certificate {THUMB} (CN=mail.contoso.com): services IIS, SMTP -> IIS",
        "dag: copy DB01\\EX02 changed",
    ]


# -- the re-apply plan -------------------------------------------------------------------------------------------------------------
def recovered(manifest: dict[str, Any]) -> dict[str, Any]:
    """The host as Setup /Mode:RecoverServer leaves it, read by the apply module: its own self-signed certificate, default
    URLs and connectors, the build's .config files."""
    return {
        "server": "EX01",
        "exchange": {"version": "15.2.1544.4", "install_path": "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\"},
        "virtual_directories": [
            {
                "type": "owa",
                "name": "owa (Default Web Site)",
                "identity": "EX01\\owa (Default Web Site)",
                "properties": {
                    "InternalUrl": "https://ex01.contoso.local/owa",
                    "ExternalUrl": None,
                    "BasicAuthentication": True,
                    "ExternalAuthenticationMethods": ["Fba"],
                },
            },
        ],
        "receive_connectors": [
            {
                "name": "Default Frontend EX01",
                "identity": "EX01\\Default Frontend EX01",
                "properties": {"MaxMessageSize": "36 MB (37,748,736 bytes)", "AuthMechanism": "Tls, BasicAuth"},
            }
        ],
        "transport": {"properties": {"MaxOutboundConnections": "1000", "MessageExpirationTimeout": "2.00:00:00"}},
        "certificates": [{"thumbprint": "BB" * 20, "services": "IMAP, POP, IIS, SMTP", "self_signed": True}],
        "config_files": [{"path": "Bin\\EdgeTransport.exe.config", "exists": True, "sha256": "0" * 64}],
        "services": {"MSExchangeTransport": True},
    }


def test_the_plan_sets_what_differs_in_order_and_carries_the_data(tmp_path: Path) -> None:
    manifest, files, _w = sealed()
    folder = kit.write_kit(tmp_path, manifest, files)
    p = plan.plan(manifest, folder, recovered(manifest), password_given=True, now=NOW)
    assert p.blocked == []
    assert [(s["part"], s["kind"]) for s in p.steps] == [
        ("certificates", "import_certificate"),
        ("certificates", "cmdlet"),
        ("virtual_directories", "cmdlet"),
        ("receive_connectors", "cmdlet"),
        ("transport", "cmdlet"),
        ("config_files", "write_file"),
        ("config_files", "restart_service"),
    ]
    assert base64.b64decode(p.steps[0]["pfx"]) == PFX
    assert p.steps[1]["parameters"] == {"Thumbprint": THUMB, "Services": "IIS, SMTP", "Force": True}
    assert p.steps[2]["parameters"] == {"Identity": "EX01\\owa (Default Web Site)", "InternalUrl": "https://mail.contoso.com/owa"}
    relay = p.steps[3]["parameters"]
    assert relay["Name"] == "Relay EX01" and relay["Custom"] is True and relay["Server"] == "EX01" and relay["RemoteIPRanges"] == ["10.0.0.20"]
    assert p.steps[4]["parameters"] == {"Identity": "EX01", "MaxOutboundConnections": "500"} and p.steps[4]["cmdlet"] == "Set-TransportService"
    assert p.steps[5]["path"] == "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Bin\\EdgeTransport.exe.config"
    assert base64.b64decode(p.steps[5]["content"]) == b"<configuration edited/>" and p.steps[6]["name"] == "MSExchangeTransport"
    assert any("self-signed" in n for n in p.notes)
    public = plan.public_steps(p.steps)
    assert all(set(s) == {"id", "part", "action", "summary", "status"} for s in public) and "pfx" not in json.dumps(public)
    assert plan.summary_line(p.steps, check_mode=True).startswith("would re-apply 7 step(s): 2 certificates, 1 virtual directories")


def test_nothing_is_planned_when_the_server_matches_its_kit(tmp_path: Path) -> None:
    manifest, files, _w = sealed()
    folder = kit.write_kit(tmp_path, manifest, files)
    current = recovered(manifest)
    current["certificates"].append({"thumbprint": THUMB, "services": "SMTP, IIS"})
    current["virtual_directories"][0]["properties"]["InternalUrl"] = "https://MAIL.contoso.com/owa/"
    current["receive_connectors"].append(
        {"name": "relay ex01", "properties": {"Bindings": ["0.0.0.0:25"], "RemoteIPRanges": ["10.0.0.20"], "PermissionGroups": "AnonymousUsers"}}
    )
    current["transport"]["properties"]["MaxOutboundConnections"] = "500"
    current["config_files"][0]["sha256"] = manifest["config_files"][0]["sha256"]
    p = plan.plan(manifest, folder, current, password_given=False, now=NOW)
    assert p.steps == [] and p.blocked == []
    assert plan.summary_line(p.steps, check_mode=False) == "nothing to re-apply: the server matches its kit"


def test_an_import_without_the_password_blocks_everything(tmp_path: Path) -> None:
    manifest, files, _w = sealed()
    folder = kit.write_kit(tmp_path, manifest, files)
    p = plan.plan(manifest, folder, recovered(manifest), password_given=False, now=NOW)
    assert p.blocked == [f"certificate {THUMB} (CN=mail.contoso.com): importing its export needs the kit password (dr_kit_password) it was captured with"]
    only_urls = plan.plan(manifest, folder, recovered(manifest), parts=["virtual_directories"], password_given=False, now=NOW)
    assert only_urls.blocked == [] and [s["part"] for s in only_urls.steps] == ["virtual_directories"]


def test_a_certificate_without_an_export_is_a_note_and_an_expired_one_is_imported_with_a_note(tmp_path: Path) -> None:
    raw = raw_read()
    raw["certificates"][0].update(private_key_exportable=False, pfx=None)
    manifest, files, _w = sealed(raw)
    p = plan.plan(manifest, kit.write_kit(tmp_path / "a", manifest, files), recovered(manifest), password_given=True, now=NOW)
    assert not [s for s in p.steps if s["part"] == "certificates"]
    assert any("not exportable" in n and "import it from its source" in n for n in p.notes)
    manifest, files, _w = sealed()
    later = NOW + datetime.timedelta(days=400)
    p = plan.plan(manifest, kit.write_kit(tmp_path / "b", manifest, files), recovered(manifest), password_given=True, now=later)
    assert p.steps[0]["kind"] == "import_certificate" and any("expired on 2027-11-22T03:48:28Z" in n for n in p.notes)


def test_before_the_recovery_the_plan_comes_from_the_kit_alone() -> None:
    manifest, _files, _w = sealed()
    p = plan.plan_without_host(manifest)
    assert [s["part"] for s in p.steps] == ["certificates", "virtual_directories", "receive_connectors", "receive_connectors", "transport", "config_files"]
    assert p.steps[0]["summary"] == f"import certificate {THUMB} (CN=mail.contoso.com) with its private key and enable it for IIS, SMTP"
    assert "pfx" not in p.steps[0] and any("self-signed" in n for n in p.notes)
