"""The edge_config_export, edge_config_import, edge_subscription_file and edge_subscription action plugins with
`_execute_module` (and the file transfers) replaced: which steps they run, what they refuse before touching the host, what
they keep on the controller."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

from ansible_collections.exchange_dr.recovery.plugins.action import edge_config_export, edge_config_import, edge_subscription, edge_subscription_file
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _edge_config as ec
from tests.unit.plugins.plugin_utils.edge_config_samples import ANSWER, ANY, DATA

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
HOST_TIME = "2026-12-03T10:00:00.0000000Z"


def subscription_file(edge: str = "EDGE01", created: datetime = NOW - timedelta(hours=2)) -> bytes:
    ticks = int((created - ec.TICKS_EPOCH).total_seconds() * 10_000_000)
    return (
        f"<EdgeSubscriptionData><EdgeServerName>{edge}</EdgeServerName><ESRAUsername>ESRA.{edge}</ESRAUsername>"
        f"<ESRAPassword>secret</ESRAPassword><EffectiveDate>{ticks}</EffectiveDate></EdgeSubscriptionData>"
    ).encode()


def make(cls: type, args: dict[str, Any], *, check_mode: bool = False) -> Any:
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    connection = MagicMock()
    connection._shell.join_path = lambda *parts: "\\".join(parts)
    return cls(task, connection, MagicMock(), MagicMock(), MagicMock(), None)


def run(
    monkeypatch: pytest.MonkeyPatch, module: Any, args: dict[str, Any], answer: Any, *, check_mode: bool = False, host: str = "EDGE01", fetched: bytes = b""
) -> tuple[dict[str, Any], list[dict[str, Any]], MagicMock]:
    """`answer(step_args)` gives each module run's result; returns the plugin's result, the module args of each run, the
    plugin (for its transfers)."""
    calls: list[dict[str, Any]] = []

    def fake_execute(self: Any, module_name: str, module_args: dict[str, Any], task_vars: dict[str, Any], **_: Any) -> dict[str, Any]:
        calls.append(dict(module_args))
        return copy.deepcopy(answer(module_args))

    monkeypatch.setattr(module.ActionModule, "_execute_module", fake_execute)
    monkeypatch.setattr(module.ActionModule, "_make_tmp_path", lambda self: "C:\\Temp\\ansible-tmp")
    monkeypatch.setattr(module.ActionModule, "_remove_tmp_path", lambda self, path: None)
    transfers = MagicMock()
    monkeypatch.setattr(module.ActionModule, "_transfer_data", lambda self, path, data: transfers(path, data))
    plugin = make(module.ActionModule, args, check_mode=check_mode)
    plugin._connection.fetch_file.side_effect = lambda remote, local: Path(local).write_bytes(fetched)
    result = plugin.run(task_vars={"inventory_hostname": host})
    return result, calls, transfers


# -- edge_subscription ---------------------------------------------------------------------------------------------------------
def query(subscribed: bool = True, status: str | None = "Failed", site: str = "Default-First-Site-Name") -> dict[str, Any]:
    return {
        "changed": False, "server": "EX01", "step": "query", "site": "Default-First-Site-Name", "host_time": HOST_TIME,
        "subscriptions": [{"name": "EDGE01", "site": site}] if subscribed else [], "subscribed": subscribed, "removed": False,
        "sync": {"status": status, "failure": "certificate mismatch" if status == "Failed" else None, "last": None} if subscribed and status else None,
        "start": [], "waited": 0, "timed_out": False,
    }  # fmt: skip


def subscribe_answer(status: str = "Normal") -> Any:
    def answer(module_args: dict[str, Any]) -> dict[str, Any]:
        if module_args["_step"] == "query":
            return query()
        return {**query(), "changed": True, "step": "subscribe", "removed": True, "sync": {"status": status, "failure": None, "last": "x"}, "waited": 20}

    return answer


def test_a_synchronized_edge_needs_no_file_and_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls, _t = run(monkeypatch, edge_subscription, {"edge_server": "edge01.contoso.com"}, lambda a: query(status="Normal"), host="EX01")
    assert not result["changed"] and "synchronized" in result["msg"] and result["synchronized"]
    assert [c["_step"] for c in calls] == ["query"] and calls[0]["edge_server"] == "EDGE01"


def test_an_edge_edgesync_cannot_reach_needs_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls, _t = run(monkeypatch, edge_subscription, {"edge_server": "EDGE01"}, lambda a: query(), host="EX01")
    assert result["failed"] and "EdgeSync reports Failed for EDGE01: certificate mismatch; give subscription_file" in result["msg"]
    assert not result["synchronized"]
    assert len(calls) == 1


def test_an_expired_file_is_refused_with_its_age_before_anything_changes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "EdgeSubscriptionInfo.xml"
    path.write_bytes(subscription_file(created=NOW - timedelta(hours=26)))
    result, calls, transfers = run(monkeypatch, edge_subscription, {"edge_server": "EDGE01", "subscription_file": str(path)}, lambda a: query(), host="EX01")
    assert result["failed"] and "created 26.0 hours ago" in result["msg"] and "expired 2.0 hours ago" in result["msg"]
    assert result["subscription"]["age_hours"] == 26.0
    assert [c["_step"] for c in calls] == ["query"] and not transfers.called and path.exists()


def test_check_mode_checks_the_file_and_runs_only_the_query(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "EdgeSubscriptionInfo.xml"
    path.write_bytes(subscription_file())
    result, calls, transfers = run(
        monkeypatch, edge_subscription, {"edge_server": "EDGE01", "subscription_file": str(path)}, subscribe_answer(), check_mode=True, host="EX01"
    )
    assert result["changed"] and "(check mode)" in result["msg"] and result["subscription"]["valid_hours"] == 22.0
    assert [c["_step"] for c in calls] == ["query"] and not transfers.called and path.exists()


def test_subscribing_copies_the_file_subscribes_to_the_site_and_deletes_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "EdgeSubscriptionInfo.xml"
    path.write_bytes(subscription_file())
    result, calls, transfers = run(monkeypatch, edge_subscription, {"edge_server": "EDGE01", "subscription_file": str(path)}, subscribe_answer(), host="EX01")
    assert result["changed"] and not result.get("failed") and result["file_removed"] and not path.exists() and result["synchronized"]
    assert [c["_step"] for c in calls] == ["query", "subscribe"]
    assert calls[1]["site"] == "Default-First-Site-Name" and calls[1]["_file_path"] == "C:\\Temp\\ansible-tmp\\EdgeSubscriptionInfo.xml"
    transfers.assert_called_once_with("C:\\Temp\\ansible-tmp\\EdgeSubscriptionInfo.xml", subscription_file())
    assert "secret" not in str(result)


def test_a_subscription_edgesync_does_not_synchronize_in_time_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "EdgeSubscriptionInfo.xml"
    path.write_bytes(subscription_file())
    args = {"edge_server": "EDGE01", "subscription_file": str(path)}
    result, _c, _t = run(monkeypatch, edge_subscription, args, subscribe_answer("Inconclusive"), host="EX01")
    assert result["failed"] and result["changed"] and "EdgeSync reports Inconclusive after 20 seconds" in result["msg"]


def test_an_edge_of_another_site_is_not_tested_from_here(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _c, _t = run(monkeypatch, edge_subscription, {"edge_server": "EDGE01"}, lambda a: query(status=None, site="Branch"), host="EX01")
    assert result["failed"] and "subscribed to the site Branch" in result["msg"]


def test_state_absent_removes_once(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(module_args: dict[str, Any]) -> dict[str, Any]:
        return query() if module_args["_step"] == "query" else {**query(), "changed": True, "removed": True, "subscribed": False}

    result, calls, _t = run(monkeypatch, edge_subscription, {"edge_server": "EDGE01", "state": "absent"}, answer, host="EX01")
    assert result["changed"] and [c["_step"] for c in calls] == ["query", "remove"]
    result, calls, _t = run(monkeypatch, edge_subscription, {"edge_server": "EDGE01", "state": "absent"}, lambda a: query(subscribed=False), host="EX01")
    assert not result["changed"] and len(calls) == 1


def test_bad_options_are_refused_without_a_module_run(monkeypatch: pytest.MonkeyPatch) -> None:
    result, calls, _t = run(monkeypatch, edge_subscription, {"edge_server": "EDGE01", "poll_interval": 0}, lambda a: query(), host="EX01")
    assert result["failed"] and "poll_interval" in result["msg"] and calls == []


# -- edge_subscription_file -------------------------------------------------------------------------------------------------------
def test_a_valid_file_at_dest_is_kept_and_nothing_runs_on_the_edge(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dest = tmp_path / "EDGE01.xml"
    dest.write_bytes(subscription_file(created=datetime.now(UTC) - timedelta(hours=1)))
    result, calls, _t = run(monkeypatch, edge_subscription_file, {"dest": str(dest)}, lambda a: {})
    assert not result["changed"] and calls == [] and result["subscription"]["edge_server"] == "EDGE01"


def test_an_expired_file_is_replaced_and_the_new_one_fetched_private_and_deleted_on_the_edge(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dest = tmp_path / "kit" / "EDGE01.xml"
    dest.parent.mkdir()
    dest.write_bytes(subscription_file(created=datetime.now(UTC) - timedelta(hours=30)))
    fresh = subscription_file(created=datetime.now(UTC))
    made = {"changed": True, "server": "EDGE01", "path": "C:\\Temp\\exchange_dr\\EdgeSubscriptionInfo.xml", "created": datetime.now(UTC).isoformat()}
    result, calls, _t = run(monkeypatch, edge_subscription_file, {"dest": str(dest)}, lambda a: made, fetched=fresh)
    assert result["changed"] and dest.read_bytes() == fresh and oct(dest.stat().st_mode & 0o777) == "0o600"
    assert [c.get("_state") for c in calls] == [None, "absent"] and calls[1]["_path"] == made["path"]
    assert result["subscription"]["valid_hours"] > 23 and "secret" not in str(result)


def test_another_edges_file_at_dest_is_replaced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dest = tmp_path / "EDGE01.xml"
    dest.write_bytes(subscription_file("EDGE02", created=datetime.now(UTC)))
    result, calls, _t = run(monkeypatch, edge_subscription_file, {"dest": str(dest)}, lambda a: {}, check_mode=True)
    assert result["changed"] and calls == [] and "(check mode)" in result["msg"]


# -- edge_config_export ---------------------------------------------------------------------------------------------------------------
EXPORTED = {
    "changed": False, "server": "EDGE01", "exchange": {"version": "15.0.1497.2", "edge": True, "shell": "snapin"}, "method": "cloned",
    "script": "C:\\V15\\Scripts\\ExportEdgeConfig.ps1", "path": "C:\\Temp\\exchange_dr\\CloneConfigData.xml", "exported": True,
    "output": ["Edge configuration is exported successfully to C:\\Temp\\exchange_dr\\CloneConfigData.xml"],
    "definition": {"receive_connectors": [{"name": "Internet", "bindings": ["0.0.0.0:25"], "remote_ip_ranges": [], "fqdn": "edge01"}],
                   "send_connectors": [], "accepted_domains": []},
    "subscribed": False,
}  # fmt: skip


def test_the_export_is_kept_in_the_kit_and_replaced_only_when_it_changes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result, calls, _t = run(monkeypatch, edge_config_export, {"dest": str(tmp_path)}, lambda a: EXPORTED, fetched=DATA)
    assert result["changed"] and result["files"]["data"]["objects"] == {"TransportServer": 1, "SendConnector": 1, "ReceiveConnector": 1, "AcceptedDomain": 1}
    assert [c.get("_state") for c in calls] == [None, "absent"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["EDGE01.CloneConfigData.xml", "EDGE01.edge-definition.yml"]
    result, _c, _t = run(monkeypatch, edge_config_export, {"dest": str(tmp_path)}, lambda a: EXPORTED, fetched=DATA)
    assert not result["changed"] and len(list(tmp_path.iterdir())) == 2
    result, _c, _t = run(monkeypatch, edge_config_export, {"dest": str(tmp_path)}, lambda a: EXPORTED, fetched=DATA.replace(b"To Internet", b"To Web"))
    assert result["changed"] and len(list(tmp_path.iterdir())) == 3  # the previous data file kept with a time stamp


def test_a_failed_export_is_reported_from_the_scripts_text(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    failed = {**EXPORTED, "exported": False, "output": ["Exporting Edge configuration information failed.", "Reason: Access denied"]}
    result, _c, _t = run(monkeypatch, edge_config_export, {"dest": str(tmp_path)}, lambda a: failed)
    assert result["failed"] and "Reason: Access denied" in result["msg"] and list(tmp_path.iterdir()) == []


# -- edge_config_import ---------------------------------------------------------------------------------------------------------------
ANSWERS = {"transport_server": {"MessageTrackingLogPath": "C:\\Logs"}, "send_connectors": {"To Internet": ANY},
           "receive_connectors": {"Internet": {"bindings": ["0.0.0.0:25"]}}}  # fmt: skip


def import_answer(current: dict[str, Any]) -> Any:
    def answer(module_args: dict[str, Any]) -> dict[str, Any]:
        if module_args["_step"] == "validate":
            return {"changed": False, "server": "EDGE01", "step": "validate", "answer": ANSWER.decode(), "current": current,
                    "output": ["Answer File is successfully created: C:\\a.xml"]}  # fmt: skip
        return {"changed": True, "server": "EDGE01", "step": "import", "output": ["Importing Edge configuration information Succeeded."]}

    return answer


def test_the_import_validates_fills_the_answers_and_imports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = tmp_path / "EDGE01.CloneConfigData.xml"
    src.write_text(DATA.decode())
    result, calls, transfers = run(monkeypatch, edge_config_import, {"src": str(src), "answers": ANSWERS}, import_answer({"receive_connectors": []}))
    assert result["changed"] and not result.get("failed") and [c["_step"] for c in calls] == ["validate", "import"]
    assert "<Item>0.0.0.0:25</Item>" in calls[1]["_answer"] and "<SourceIPAddress>0.0.0.0</SourceIPAddress>" in calls[1]["_answer"]
    assert transfers.call_args[0][0] == "C:\\Temp\\ansible-tmp\\CloneConfigData.xml"


def test_an_edge_already_configured_like_the_data_file_is_not_imported_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = tmp_path / "d.xml"
    src.write_text(DATA.decode())
    current = {"receive_connectors": [{"name": "Internet", "bindings": ["0.0.0.0:25"]}], "send_connectors": [{"name": "To Internet"}],
               "accepted_domains": [{"name": "contoso.com"}]}  # fmt: skip
    result, calls, _t = run(monkeypatch, edge_config_import, {"src": str(src), "answers": ANSWERS}, import_answer(current))
    assert not result["changed"] and [c["_step"] for c in calls] == ["validate"]


def test_a_failed_entry_without_an_answer_is_refused_with_its_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = tmp_path / "d.xml"
    src.write_text(DATA.decode())
    result, calls, _t = run(monkeypatch, edge_config_import, {"src": str(src)}, import_answer({}))
    assert result["failed"] and result["msg"].startswith("CloneConfigAnswer.xml:4: <MessageTrackingLogPath>") and len(calls) == 1


def test_a_broken_data_file_or_a_bad_key_is_refused_before_the_edge_is_touched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = tmp_path / "d.xml"
    src.write_bytes(ANSWER)
    result, calls, transfers = run(monkeypatch, edge_config_import, {"src": str(src)}, import_answer({}))
    assert result["failed"] and result["msg"].startswith("d.xml:1: the root element") and calls == [] and not transfers.called
    result, calls, _t = run(monkeypatch, edge_config_import, {"src": str(src), "key": "short"}, import_answer({}))
    assert result["failed"] and "16, 24 or 32" in result["msg"] and calls == []
    result, calls, _t = run(monkeypatch, edge_config_import, {}, import_answer({}))
    assert result["failed"] and "give src" in result["msg"] and calls == []


def test_the_declared_configuration_is_read_compared_and_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    definition = {"accepted_domains": [{"name": "contoso.com", "domain_name": "contoso.com"}]}

    def answer(module_args: dict[str, Any]) -> dict[str, Any]:
        if module_args["_step"] == "read":
            return {"changed": False, "server": "EDGE19", "step": "read", "current": {"accepted_domains": []}}
        return {"changed": True, "server": "EDGE19", "step": "apply", "applied": module_args["_changes"]}

    result, calls, _t = run(monkeypatch, edge_config_import, {"definition": definition}, answer)
    assert result["changed"] and result["method"] == "declared" and [c["_step"] for c in calls] == ["read", "apply"]
    assert calls[1]["_changes"] == [{"action": "new_accepted_domain", "name": "contoso.com", "domain_name": "contoso.com"}]
