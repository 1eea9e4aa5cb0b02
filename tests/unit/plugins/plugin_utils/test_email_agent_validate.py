"""Validating a whole set: required files and elements, element names, types and values, duplicates, the organization."""

from __future__ import annotations

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import BIN_FILE, CONFIG_FILE, KEY_FILE, STATE_FILE
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_model import ENCRYPTED_PREFIX
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_validate import validate_set
from tests.unit.plugins.plugin_utils.email_agent_samples import GOOD, STATE, config, key_file, only_error, provider


# -- a good set -----------------------------------------------------------------------------------------------------------
def test_good_set_has_no_issues():
    report = validate_set({CONFIG_FILE: GOOD, STATE_FILE: STATE}, organization="Contoso")
    assert report.issues == []
    assert report.config.providers[0].get("EmailAddress") == "alice@contoso.local"
    assert report.config.system["MaxThreads"] == "50"


def test_file_names_match_case_insensitively_and_other_files_are_ignored():
    report = validate_set({"microsoft.crm.tools.emailagent.XML": GOOD, STATE_FILE: STATE, "readme.txt": b"x"})
    assert report.errors == []
    assert set(report.files) == {CONFIG_FILE, STATE_FILE}


def test_missing_system_state_is_a_warning_about_reprocessing():
    report = validate_set({CONFIG_FILE: GOOD})
    assert report.errors == []
    assert [w.file for w in report.warnings] == [STATE_FILE]
    assert "processed again" in report.warnings[0].message


def test_missing_config_file_is_an_error():
    assert "has no Microsoft.Crm.Tools.EmailAgent.xml" in only_error(validate_set({STATE_FILE: STATE})).message


def test_wrong_root_element():
    issue = only_error(validate_set({CONFIG_FILE: b'<?xml version="1.0"?>\n\n<EmailRouter/>'}))
    assert (issue.line, issue.element) == (3, "EmailRouter")
    assert "must be <Configuration>" in issue.message


def test_wrong_casing_of_root_and_provider_elements():
    issue = only_error(validate_set({CONFIG_FILE: b"<configuration><SystemConfiguration/></configuration>"}))
    assert "case-sensitive" in issue.message
    data = config("\n  <providerConfiguration><Direction>Inbound</Direction></providerConfiguration>")
    issue = only_error(validate_set({CONFIG_FILE: data}))
    assert issue.element == "Configuration/providerConfiguration" and issue.line == 4
    assert "did you mean <ProviderConfiguration>?" in issue.message


def test_casing_of_provider_children_is_a_warning_only():
    data = config(provider(EmailServer=None, emailserver="mail.contoso.local"))
    report = validate_set({CONFIG_FILE: data, STATE_FILE: STATE})
    assert report.errors == []
    assert any("Microsoft's parser reads <EmailServer>" in w.message for w in report.warnings)


# -- required elements and types ------------------------------------------------------------------------------------------
def test_system_configuration_numbers():
    data = config(system="<MaxThreads>fifty</MaxThreads>\n<ProviderOverrides><BatchSize>-1</BatchSize></ProviderOverrides>")
    report = validate_set({CONFIG_FILE: data, STATE_FILE: STATE})
    assert [(i.element, i.line) for i in report.errors] == [
        ("Configuration/SystemConfiguration/MaxThreads", 3),
        ("Configuration/SystemConfiguration/ProviderOverrides/BatchSize", 4),
    ]


def test_missing_system_configuration():
    data = b"<Configuration>" + provider().encode() + b"</Configuration>"
    assert "<SystemConfiguration> is missing" in only_error(validate_set({CONFIG_FILE: data})).message


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
        ({"EmailPassword": ENCRYPTED_PREFIX + "not base64"}, "Configuration/ProviderConfiguration[1]/EmailPassword", "malformed"),
    ],
)
def test_provider_rules(fields, element, text):
    report = validate_set({CONFIG_FILE: config(provider(**fields)), STATE_FILE: STATE, KEY_FILE: key_file()})
    issue = only_error(report)
    assert issue.element == element and text in issue.message
    assert issue.line is not None


def test_autodiscover_makes_the_server_optional():
    report = validate_set({CONFIG_FILE: config(provider(EmailServer=None, UseAutoDiscover="true")), STATE_FILE: STATE})
    assert report.errors == []


def test_nested_provider_configuration():
    data = config(provider(Target="<ProviderConfiguration><Direction>Inbound</Direction></ProviderConfiguration>"))
    assert any("do not nest" in e.message for e in validate_set({CONFIG_FILE: data}).errors)


def test_duplicate_providers_name_both_lines():
    data = config(provider(), provider(EmailServer="other.contoso.local"))
    issue = only_error(validate_set({CONFIG_FILE: data, STATE_FILE: STATE}))
    assert issue.element == "Configuration/ProviderConfiguration[2]"
    assert issue.line == 17 and "already configured on line 4" in issue.message
    # the same mailbox in the other direction is not a duplicate
    out = provider(ProviderClass="SmtpPollingSendEmailProvider", Direction="Outbound", Protocol="SMTP")
    assert validate_set({CONFIG_FILE: config(provider(), out), STATE_FILE: STATE}).errors == []


def test_duplicate_element_inside_a_provider():
    data = config(provider(EmailServer="a</EmailServer><EmailServer>b"))
    assert "appears twice" in only_error(validate_set({CONFIG_FILE: data, STATE_FILE: STATE})).message


def test_organization_is_the_last_segment_of_crm_server_url():
    report = validate_set({CONFIG_FILE: GOOD, STATE_FILE: STATE}, organization="Fabrikam")
    issue = only_error(report)
    assert issue.element.endswith("/CrmServerUrl") and issue.line == 6 and "'Fabrikam'" in issue.message
    assert validate_set({CONFIG_FILE: GOOD, STATE_FILE: STATE}, organization="contoso").errors == []


def test_huge_bin_file_is_refused():
    report = validate_set({CONFIG_FILE: GOOD, STATE_FILE: STATE, BIN_FILE: b"\0" * 2048}, max_bytes=1024)
    assert only_error(report).file == BIN_FILE
