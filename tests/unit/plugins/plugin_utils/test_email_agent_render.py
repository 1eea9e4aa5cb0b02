"""Rendering Microsoft.Crm.Tools.EmailAgent.xml from a definition: a valid, deterministic set, and errors that name the item."""

from __future__ import annotations

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_files import CONFIG_FILE
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_model import PROVIDER_NAMESPACE
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_render import DefinitionError, definition_secrets, render_definition
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_validate import validate_set
from tests.unit.plugins.plugin_utils.email_agent_samples import SECRET

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
    data = render_definition(DEFINITION)
    report = validate_set({CONFIG_FILE: data}, organization="Contoso")
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
    assert providers[1].get("ProviderClass") == PROVIDER_NAMESPACE + "SmtpPollingSendEmailProvider"
    assert report.config.system["MaxThreads"] == "20" and report.config.system["SchedulingPeriod"] == "1000"
    assert report.config.overrides == {"BatchSize": "5"}
    assert render_definition(DEFINITION) == data  # deterministic


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
    with pytest.raises(DefinitionError, match=None) as e:
        render_definition({**DEFINITION, **change})
    assert text in str(e.value)


def test_definition_secrets():
    assert definition_secrets(DEFINITION) == [SECRET]
