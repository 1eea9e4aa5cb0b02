"""Prerequisite tables per release, role set and Windows build, and the plan against what exchange_info found."""

from __future__ import annotations

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _exchange_prerequisites as p

WS2012R2, WS2016, WS2019, WS2022, WS2025 = 9600, 14393, 17763, 20348, 26100


def test_2019_cu14_mailbox_on_server_2019() -> None:
    req = p.requirements("15.2.1544.4", WS2019, ["Mailbox"])
    assert req.dotnet == "4.8" and req.dotnet_release == 528040
    assert req.vcredist == ["2012", "2013"] and req.ucma and req.url_rewrite
    assert "Server-Media-Foundation" in req.features and "RSAT-ADDS" in req.features
    assert "AS-HTTP-Activation" not in req.features


@pytest.mark.parametrize(
    ("build", "os_build", "url_rewrite", "dotnet"),
    [
        ("15.1.2308.8", WS2016, False, "4.8"),  # 2016 CU21
        ("15.1.2375.7", WS2016, True, "4.8"),  # 2016 CU22: URL Rewrite from here
        ("15.2.922.7", WS2019, False, "4.8"),  # 2019 CU10
        ("15.2.986.5", WS2019, True, "4.8"),  # 2019 CU11
        ("15.2.2562.17", WS2025, True, "4.8"),  # Subscription Edition
        ("15.0.1497.2", WS2012R2, False, "4.7.2"),  # 2013 CU23
    ],
)
def test_url_rewrite_and_dotnet_boundaries(build: str, os_build: int, url_rewrite: bool, dotnet: str) -> None:
    req = p.requirements(build, os_build)
    assert (req.url_rewrite, req.dotnet) == (url_rewrite, dotnet)


def test_2013_and_2016_on_2012r2_need_the_extra_features_and_server_core_drops_gui_ones() -> None:
    assert {"AS-HTTP-Activation", "Desktop-Experience"} <= set(p.requirements("15.1.2308.8", WS2012R2).features)
    core = p.requirements("15.2.1544.4", WS2019, server_core=True).features
    assert not {"Web-Mgmt-Console", "Web-Lgcy-Mgmt-Console", "Windows-Identity-Foundation", "RSAT-Clustering-Mgmt"} & set(core)


def test_2010_and_edge() -> None:
    r2010 = p.requirements("14.3.123.4", WS2012R2, ["Mailbox", "ClientAccess", "HubTransport"])
    assert "NET-Framework-Core" in r2010.features and r2010.dotnet is None and r2010.vcredist == [] and not r2010.ucma
    edge = p.requirements("15.2.1544.4", WS2019, ["Edge"])
    assert edge.features == ["ADLDS"] and edge.vcredist == ["2012"] and not edge.ucma and not edge.url_rewrite


@pytest.mark.parametrize(
    ("build", "os_build", "match"),
    [
        ("15.2.1118.7", WS2022, None),  # 2019 CU12 on Server 2022: supported
        ("15.2.986.5", WS2022, "CU12"),  # 2019 CU11 on Server 2022: not yet
        ("15.2.1544.4", WS2025, "CU15"),
        ("15.1.2507.6", WS2019, "not supported"),  # 2016 never on Server 2019
        ("8.3.83.6", WS2012R2, "Exchange 2007"),
    ],
)
def test_os_support(build: str, os_build: int, match: str | None) -> None:
    if match is None:
        p.requirements(build, os_build)
        return
    with pytest.raises(p.PrerequisiteError, match=match):
        p.requirements(build, os_build)


def test_plan_lists_what_is_missing() -> None:
    info = {
        "media": {"version": "15.2.1544.4"},
        "ad_server": {"version": "15.2.1544.4", "roles": ["Mailbox", "ClientAccess", "HubTransport"]},
        "os": {"build": WS2019, "server_core": False},
        "prerequisites": {"dotnet_release": 461808, "vcredist": ["2013"], "ucma_version": None, "url_rewrite_version": "7.2.1993"},
    }
    plan = p.plan(info)
    assert plan.missing == ["dotnet", "vcredist2012", "ucma"]
    data = plan.to_dict()
    assert data["release"]["name"] == "Exchange Server 2019 CU14" and data["dotnet_release"] == 528040
    done = {**info, "prerequisites": {"dotnet_release": 533320, "vcredist": ["2012", "2013"], "ucma_version": "5.0.8308.0", "url_rewrite_version": "7.2"}}
    assert p.plan(done).missing == []


def test_plan_without_any_build_says_what_to_give() -> None:
    with pytest.raises(p.PrerequisiteError, match="setup_path"):
        p.plan({"media": {}, "ad_server": {}, "os": {"build": WS2019}})


def test_the_filter_returns_the_plan_and_names_bad_input() -> None:
    from ansible.errors import AnsibleFilterError

    from ansible_collections.exchange_dr.recovery.plugins.filter.exchange_prerequisites import FilterModule

    plan_filter = FilterModule().filters()["exchange_prerequisites"]
    info = {"media": {}, "ad_server": {"version": "15.2.2562.17", "roles": ["Mailbox"]}, "os": {"build": WS2022}, "prerequisites": {}}
    data = plan_filter(info)
    assert data["release"]["product"] == "SE" and data["missing"] == ["dotnet", "vcredist2012", "vcredist2013", "ucma", "url_rewrite"]
    assert plan_filter(info, roles=["Edge"])["features"] == ["ADLDS"]
    with pytest.raises(AnsibleFilterError, match="expected an exchange_info result"):
        plan_filter("EX01")
    with pytest.raises(AnsibleFilterError, match="not supported on Windows Server 2012 R2"):
        plan_filter({**info, "os": {"build": WS2012R2}})
