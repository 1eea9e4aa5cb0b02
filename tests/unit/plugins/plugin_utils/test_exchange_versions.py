from __future__ import annotations

import pytest

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _exchange_versions as v


@pytest.mark.parametrize(
    ("text", "product", "cu", "name"),
    [
        ("8.3.83.6", "2007", None, "Exchange Server 2007"),
        ("14.3.123.4", "2010", None, "Exchange Server 2010"),
        ("15.0.1497.2", "2013", 23, "Exchange Server 2013 CU23"),
        ("15.0.516.32", "2013", 0, "Exchange Server 2013 RTM"),
        ("15.1.2308.8", "2016", 21, "Exchange Server 2016 CU21"),
        ("15.1.2308.27", "2016", 21, "Exchange Server 2016 CU21"),  # CU21 + Mar22SU
        ("15.1.2375.7", "2016", 22, "Exchange Server 2016 CU22"),
        ("15.2.922.27", "2019", 10, "Exchange Server 2019 CU10"),
        ("15.02.0986.005", "2019", 11, "Exchange Server 2019 CU11"),
        ("Version 15.2 (Build 1118.7)", "2019", 12, "Exchange Server 2019 CU12"),
        ("15.2.1748.53", "2019", 15, "Exchange Server 2019 CU15"),
        ("15.2.2561.0", "2019", 15, "Exchange Server 2019 CU15"),
        ("15.2.2562.17", "SE", 0, "Exchange Server Subscription Edition"),
    ],
)
def test_release_of_every_boundary(text: str, product: str, cu: int | None, name: str) -> None:
    release = v.release_of(text)
    assert (release.product, release.cu, release.name) == (product, cu, name)


def test_at_least_orders_families_and_updates() -> None:
    cu11 = v.release_of("15.2.986.5")
    assert cu11.at_least("2019", 11)
    assert not cu11.at_least("2019", 12)
    assert cu11.at_least("2016", 23)
    assert not cu11.at_least("SE")
    assert v.release_of("15.2.2562.17").at_least("2019", 15)


@pytest.mark.parametrize("text", ["", "fifteen", "15", "16.0.1.1", "Version 15.2"])
def test_bad_builds_are_refused_with_the_value(text: str) -> None:
    with pytest.raises(ValueError, match="build"):
        v.release_of(text)


def test_cumulative_update_table_is_ordered() -> None:
    for product, updates in v.CUMULATIVE_UPDATES.items():
        builds = [updates[cu] for cu in sorted(updates)]
        assert builds == sorted(builds), product


def test_roles_mask_round_trip() -> None:
    assert v.roles_from_mask(38) == ["Mailbox", "ClientAccess", "HubTransport"]
    assert v.mask_from_roles(["Edge"]) == 64
    with pytest.raises(ValueError, match="Gateway"):
        v.mask_from_roles(["Gateway"])


def test_product_facts() -> None:
    assert v.release_of("14.3.123.4").facts.setup_program == "Setup.com"
    assert v.release_of("15.0.1497.2").facts.uninstall_product_code == "{4934D1EA-BE46-48B1-8847-F1AF20E892C1}"
    assert v.cu_build("2019", 11) == (15, 2, 986, 5)
    with pytest.raises(ValueError, match="CU30"):
        v.cu_build("2019", 30)
