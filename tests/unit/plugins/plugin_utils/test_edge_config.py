"""The Edge's cloned-configuration data file, answer file and subscription file read on the controller, and the verdicts
built on them: which entries need this server's values, whether the Edge is already configured, the declared changes, an
expired or foreign subscription file. Every refusal names the file and line (or the variable)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _edge_config as ec
from tests.unit.plugins.plugin_utils.edge_config_samples import ANSWER, ANSWERS, ANY, DATA

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def subscription_file(edge: str = "EDGE01", created: datetime = NOW - timedelta(hours=2), *, duration: str | None = "864000000000", **drop: bool) -> bytes:
    ticks = int((created - ec.TICKS_EPOCH).total_seconds() * 10_000_000)
    fields = {"EdgeServerName": edge, "EdgeServerFQDN": f"{edge.lower()}.contoso.com", "ESRAUsername": f"ESRA.{edge}", "ESRAPassword": "secret",
              "EffectiveDate": str(ticks), "Duration": duration, "SerialNumber": "Version 15.0 (Build 1497.2)"}  # fmt: skip
    body = "".join(f"  <{k}>{v}</{k}>\n" for k, v in fields.items() if v is not None and not drop.get(k))
    return f'<?xml version="1.0" encoding="utf-8"?>\n<EdgeSubscriptionData>\n{body}</EdgeSubscriptionData>\n'.encode()


# -- the data file -------------------------------------------------------------------------------------------------------------
def test_the_data_file_is_read_by_component_with_multi_values_and_lines() -> None:
    clone = ec.parse_clone_data(DATA)
    assert clone.names("SendConnector") == ["To Internet"]
    assert clone.get("ReceiveConnector", "INTERNET")["_line"] == 13
    assert ec.multi_value(clone.get("ReceiveConnector", "Internet")["Bindings"]) == ["192.0.2.10:25", "0.0.0.0:587"]
    assert ec.multi_value("$null") == []
    assert not clone.has_credentials()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (ANSWER, "CloneConfigData.xml:1: the root element is <MachineSpecificSettings>"),
        (b"<ExportedEdgeConfiguration>\n  <SendConnector><Name>A</Name></SendConnector>\n</ExportedEdgeConfiguration>", "no <TransportServer>"),
        (DATA.replace(b"<Name>Internet</Name>", b""), "CloneConfigData.xml:13: a <ReceiveConnector> without <Name>"),
        (b"<ExportedEdgeConfiguration>\n  <TransportServer>\n</ExportedEdgeConfiguration>", "CloneConfigData.xml:3"),
    ],
)
def test_a_broken_data_file_is_refused_with_its_line(data: bytes, expected: str) -> None:
    with pytest.raises(ec.EdgeConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        ec.parse_clone_data(data)


# -- the answer file ---------------------------------------------------------------------------------------------------------------
def test_the_answer_file_entries_carry_their_failed_mark_and_line() -> None:
    entries = ec.parse_answer(ANSWER)
    assert [(e.component, e.key, e.item, e.failed, e.line) for e in entries] == [
        ("TransportServer", "", "MessageTrackingLogPath", True, 4),
        ("SendConnector", "To Internet", "SourceIPAddress", True, 8),
        ("ReceiveConnector", "Internet", "Bindings", True, 11),
        ("ReceiveConnector", "Internet", "Fqdn", False, 16),
    ]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            ANSWER.replace(b"<SourceIPAddress>192.0.2.10</SourceIPAddress>", b"<SourceAddress>x</SourceAddress>"),
            "answer.xml:8: <SourceAddress> is not an item of <SendConnector>",
        ),
        (ANSWER.replace(b'<SendConnector Name="To Internet">', b"<SendConnector>"), "answer.xml:6: <SendConnector> needs its Name attribute"),
        (ANSWER.replace(b"<Item>0.0.0.0:587</Item>", b"<Binding>0.0.0.0:587</Binding>"), "answer.xml:14: <Binding> inside <Bindings>"),
        (ANSWER.replace(b"</MachineSpecificSettings>", b""), "answer.xml"),
        (DATA, "answer.xml:2: the root element is <ExportedEdgeConfiguration>"),
    ],
)
def test_a_wrong_answer_file_is_refused_with_its_line(answer: bytes, expected: str) -> None:
    with pytest.raises(ec.EdgeConfigError, match=expected):
        ec.parse_answer(answer, "answer.xml")


def test_answers_fill_the_failed_entries_and_the_result_renders_back() -> None:
    filled = ec.fill_answer(ec.parse_answer(ANSWER), ANSWERS, ec.parse_clone_data(DATA))
    assert [(e.item, e.value, e.failed) for e in filled] == [
        ("MessageTrackingLogPath", "C:\\Logs\\MessageTracking", False),
        ("SourceIPAddress", ANY, False),
        ("Bindings", ["192.0.2.20:25", "0.0.0.0:587"], False),
        ("Fqdn", "edge01.contoso.com", False),
    ]
    again = ec.parse_answer(ec.render_answer(filled).encode())
    assert [(e.item, e.value, e.failed) for e in again] == [(e.item, e.value, False) for e in filled]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (
            {k: v for k, v in ANSWERS.items() if k != "send_connectors"},
            r"CloneConfigAnswer.xml:8: <SourceIPAddress> of SendConnector 'To Internet' failed validation",
        ),
        (
            {**ANSWERS, "send_connectors": {"To Fabrikam": ANY}},
            r"answers.send_connectors.To Fabrikam: the data file has no SendConnector named 'To Fabrikam' \(it has: To Internet\)",
        ),
        ({**ANSWERS, "send_connectors": {"To Internet": "not-an-ip"}}, r"'not-an-ip' is not an IP address"),
        ({**ANSWERS, "receive_connectors": {"Internet": {"bindings": ["192.0.2.20"]}}}, r"'192.0.2.20' is not an IP:port binding"),
        ({**ANSWERS, "transport_server": {"MessageTrackingLogPath": "Logs"}}, r"'Logs' is not a full local folder path"),
        ({**ANSWERS, "transport_server": {"DataPath": "C:\\X"}}, r"answers.transport_server.DataPath: not a machine-specific"),
        ({**ANSWERS, "connectors": {}}, r"answers.connectors: unknown key"),
    ],
)
def test_missing_or_wrong_answers_are_refused_naming_the_line_or_the_variable(answers: dict[str, Any], expected: str) -> None:
    with pytest.raises(ec.EdgeConfigError, match=expected):
        ec.fill_answer(ec.parse_answer(ANSWER), answers, ec.parse_clone_data(DATA))


def test_an_empty_value_kept_in_the_answer_file_is_refused() -> None:
    answer = ANSWER.replace(b"<Fqdn>edge01.contoso.com</Fqdn>", b"<Fqdn></Fqdn>")
    with pytest.raises(ec.EdgeConfigError, match=r"CloneConfigAnswer.xml:16: <Fqdn> of ReceiveConnector 'Internet' is empty"):
        ec.fill_answer(ec.parse_answer(answer), ANSWERS, ec.parse_clone_data(DATA))


# -- the scripts' verdicts -----------------------------------------------------------------------------------------------------------
def test_the_scripts_are_judged_by_their_text() -> None:
    assert ec.script_verdict("export", ["Edge configuration is exported successfully to C:\\x.xml"])["ok"]
    validate = ["Validation Failed for Fqdn element of type FQDN", "Answer File is successfully created: C:\\a.xml"]
    assert ec.script_verdict("validate", validate)["ok"]  # a failed validation is what the answer file is for
    failed = ec.script_verdict("import", ["Importing Edge configuration information Failed.", "Reason: Key Length is invalid"])
    assert not failed["ok"] and failed["problems"] == ["Importing Edge configuration information Failed.", "Reason: Key Length is invalid"]
    assert not ec.script_verdict("import", [])["ok"]


# -- idempotence ----------------------------------------------------------------------------------------------------------------------
def current(receive_bindings: list[str] | None = None, send: list[str] | None = None, domains: list[str] | None = None) -> dict[str, Any]:
    return {
        "receive_connectors": [{"name": "Internet", "bindings": receive_bindings or ["192.0.2.20:25", "0.0.0.0:587"], "fqdn": "edge01.contoso.com"}],
        "send_connectors": [{"name": n} for n in (send if send is not None else ["To Internet"])],
        "accepted_domains": [{"name": n} for n in (domains if domains is not None else ["contoso.com"])],
    }


def test_configured_like_compares_the_answered_bindings_and_the_objects() -> None:
    clone = ec.parse_clone_data(DATA)
    filled = ec.fill_answer(ec.parse_answer(ANSWER), ANSWERS, clone)
    assert ec.configured_like(clone, filled, current(), subscribed=False) == (True, [])
    same, differences = ec.configured_like(clone, filled, current(["192.0.2.10:25"], send=[], domains=[]), subscribed=False)
    assert not same and len(differences) == 3 and "binds 192.0.2.10:25" in differences[0]
    assert ec.configured_like(clone, filled, current(send=["EdgeSync - Site to Internet"], domains=["x.com"]), subscribed=True) == (True, [])
    clean = {"receive_connectors": [{"name": "Default internal receive connector EDGE01", "bindings": ["0.0.0.0:25"]}]}
    same, differences = ec.configured_like(clone, filled, clean, subscribed=False)
    assert differences[0] == "Receive connector Internet is missing" and "is not in the data file" in differences[1]


DEFINITION = {
    "receive_connectors": [{"name": "Internet", "bindings": ["0.0.0.0:25"], "remote_ip_ranges": [], "fqdn": "mail.contoso.com", "usage": "Internet"}],
    "send_connectors": [{"name": "To Internet", "address_spaces": ["smtp:*;1"], "dns_routing": True, "source_ip": None}],
    "accepted_domains": [{"name": "contoso.com", "domain_name": "contoso.com", "domain_type": "Authoritative"}],
}


def test_declared_changes_create_what_is_missing_and_set_what_differs() -> None:
    changes, notes = ec.declared_changes(DEFINITION, {}, subscribed=False)
    assert [c["action"] for c in changes] == ["new_receive_connector", "new_send_connector", "new_accepted_domain"] and notes == []
    assert "source_ip" not in changes[1]
    have = {"receive_connectors": [{"name": "internet", "bindings": ["0.0.0.0:2525"], "remote_ip_ranges": [], "fqdn": "mail.contoso.com"}],
            "send_connectors": [{"name": "To Internet"}], "accepted_domains": [{"name": "contoso.com"}]}  # fmt: skip
    changes, _skipped = ec.declared_changes(DEFINITION, have, subscribed=False)
    assert changes == [{"action": "set_receive_connector", "name": "Internet", "bindings": ["0.0.0.0:25"]}]
    have["receive_connectors"][0]["bindings"] = ["0.0.0.0:25"]
    assert ec.declared_changes(DEFINITION, have, subscribed=False) == ([], [])


def test_a_subscribed_edge_gets_no_send_connectors_or_domains_from_the_definition() -> None:
    changes, notes = ec.declared_changes(DEFINITION, {}, subscribed=True)
    assert [c["action"] for c in changes] == ["new_receive_connector"]
    assert len(notes) == 2 and all("EdgeSync replicates" in n for n in notes)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({"transport": {}}, r"definition.transport: unknown key"),
        ({"receive_connectors": [{"name": "A", "bindings": [ANY]}]}, r"definition.receive_connectors\[0\].bindings"),
        ({"receive_connectors": [{"name": "A", "bindings": ["0.0.0.0:25"], "usage": "Custom"}]}, r"needs remote IP ranges"),
        ({"send_connectors": [{"name": "A"}]}, r"definition.send_connectors\[0\].address_spaces"),
        ({"accepted_domains": [{"name": "A", "domain_name": "contoso"}]}, r"'contoso' is not an SMTP domain"),
    ],
)
def test_a_wrong_definition_is_refused_naming_the_key(definition: dict[str, Any], expected: str) -> None:
    with pytest.raises(ec.EdgeConfigError, match=expected):
        ec.declared_changes(definition, {}, subscribed=False)


# -- the subscription file ---------------------------------------------------------------------------------------------------------
def test_a_subscription_file_gives_its_edge_and_validity_never_its_password() -> None:
    sub = ec.parse_subscription(subscription_file())
    assert sub.edge_server == "EDGE01" and sub.expires == NOW + timedelta(hours=22)
    info = sub.to_dict(NOW)
    assert info["age_hours"] == 2.0 and info["valid_hours"] == 22.0 and "secret" not in str(info)
    assert ec.parse_subscription(subscription_file(duration=None)).duration == timedelta(hours=24)
    assert ec.subscription_refusal(sub, "edge01.contoso.com", NOW, "f.xml") is None


def test_an_expired_subscription_file_is_refused_with_its_age() -> None:
    sub = ec.parse_subscription(subscription_file(created=NOW - timedelta(hours=30)))
    refusal = ec.subscription_refusal(sub, "EDGE01", NOW, "EDGE01.xml")
    assert refusal is not None
    assert "created 30.0 hours ago" in refusal and "expired 6.0 hours ago" in refusal and "valid 24 hours" in refusal


def test_another_edges_subscription_file_is_refused() -> None:
    sub = ec.parse_subscription(subscription_file("EDGE02"))
    assert ec.subscription_refusal(sub, "EDGE01", NOW, "f.xml") == "f.xml is the Edge Subscription file of EDGE02, not of EDGE01"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (subscription_file(ESRAPassword=True), r"<ESRAPassword> is missing or empty"),
        (subscription_file().replace(b"<EffectiveDate>", b"<EffectiveDate>soon"), r"<EffectiveDate> 'soon\d+' is not a date"),
        (subscription_file(duration="a while"), r"<Duration> 'a while' is not a length of time"),
        (DATA, r"this is not an Edge Subscription file"),
    ],
)
def test_a_broken_subscription_file_is_refused_with_its_line(data: bytes, expected: str) -> None:
    with pytest.raises(ec.EdgeConfigError, match=expected):
        ec.parse_subscription(data, "EdgeSubscriptionInfo.xml")


def test_host_time_reads_the_modules_clock_else_the_controllers() -> None:
    assert ec.host_time("2026-12-03T10:00:00.0000000Z") == NOW
    assert abs((ec.host_time(None) - datetime.now(UTC)).total_seconds()) < 5
