# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Exchange releases: which product and cumulative update a build number is, and what each product looks like on disk.

For internal collection use only. Everything that depends on "which Exchange is this" (Setup command lines, prerequisites,
expected services) starts from `release_of()`, so a build is interpreted the same way everywhere.

Build numbers: Microsoft's "Exchange Server build numbers and release dates" page, as tabulated in microsoft/CSS-Exchange
(Shared/Get-ExchangeBuildVersionInformation.ps1). Subscription Edition is 15.2 with build >= 2562 (RTM 15.2.2562.17).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Build = tuple[int, int, int, int]

# Release families in release order. `key` is the value users pass in options (exchange_version: "2019").
PRODUCTS = ("2007", "2010", "2013", "2016", "2019", "SE")

# First build of each cumulative update (the CU's RTM build; security updates only raise the revision or the build).
CUMULATIVE_UPDATES: dict[str, dict[int, Build]] = {
    "2013": {
        0: (15, 0, 516, 32),
        1: (15, 0, 620, 29),
        2: (15, 0, 712, 24),
        3: (15, 0, 775, 38),
        4: (15, 0, 847, 32),  # SP1
        5: (15, 0, 913, 22),
        6: (15, 0, 995, 29),
        7: (15, 0, 1044, 25),
        8: (15, 0, 1076, 9),
        9: (15, 0, 1104, 5),
        10: (15, 0, 1130, 7),
        11: (15, 0, 1156, 6),
        12: (15, 0, 1178, 4),
        13: (15, 0, 1210, 3),
        14: (15, 0, 1236, 3),
        15: (15, 0, 1263, 5),
        16: (15, 0, 1293, 2),
        17: (15, 0, 1320, 4),
        18: (15, 0, 1347, 2),
        19: (15, 0, 1365, 1),
        20: (15, 0, 1367, 3),
        21: (15, 0, 1395, 4),
        22: (15, 0, 1473, 3),
        23: (15, 0, 1497, 2),
    },
    "2016": {
        0: (15, 1, 225, 16),
        1: (15, 1, 396, 30),
        2: (15, 1, 466, 34),
        3: (15, 1, 544, 27),
        4: (15, 1, 669, 32),
        5: (15, 1, 845, 34),
        6: (15, 1, 1034, 26),
        7: (15, 1, 1261, 35),
        8: (15, 1, 1415, 2),
        9: (15, 1, 1466, 3),
        10: (15, 1, 1531, 3),
        11: (15, 1, 1591, 10),
        12: (15, 1, 1713, 5),
        13: (15, 1, 1779, 2),
        14: (15, 1, 1847, 3),
        15: (15, 1, 1913, 5),
        16: (15, 1, 1979, 3),
        17: (15, 1, 2044, 4),
        18: (15, 1, 2106, 2),
        19: (15, 1, 2176, 2),
        20: (15, 1, 2242, 4),
        21: (15, 1, 2308, 8),
        22: (15, 1, 2375, 7),
        23: (15, 1, 2507, 6),
    },
    "2019": {
        0: (15, 2, 221, 12),
        1: (15, 2, 330, 5),
        2: (15, 2, 397, 3),
        3: (15, 2, 464, 5),
        4: (15, 2, 529, 5),
        5: (15, 2, 595, 3),
        6: (15, 2, 659, 4),
        7: (15, 2, 721, 2),
        8: (15, 2, 792, 3),
        9: (15, 2, 858, 5),
        10: (15, 2, 922, 7),
        11: (15, 2, 986, 5),
        12: (15, 2, 1118, 7),
        13: (15, 2, 1258, 12),
        14: (15, 2, 1544, 4),
        15: (15, 2, 1748, 10),
    },
    "SE": {0: (15, 2, 2562, 17)},
}
SUBSCRIPTION_EDITION_FIRST_BUILD = 2562


@dataclass(frozen=True)
class ProductFacts:
    """What a product family looks like on a host."""

    major: str  # registry generation: ExchangeServer\v14, ExchangeServer\v15 (2007 used Exchange\Setup)
    setup_program: str  # the Setup entry point on the media
    default_install_path: str
    setup_registry_key: str  # where MsiInstallPath and the build live
    uninstall_product_code: str | None  # Uninstall\{code} with InstallDate once Setup completed (2013+)
    role_registry_key: str = ""  # the parent of the <Role> keys (MailboxRole, ...) with UnpackedVersion/ConfiguredVersion


PRODUCT_FACTS: dict[str, ProductFacts] = {
    # 2007: MsiInstallPath under Exchange\Setup, the role keys under Exchange\v8.0 (see SETUP_REGISTRY_LOCATIONS)
    "2007": ProductFacts(
        "v8",
        "Setup.com",
        r"C:\Program Files\Microsoft\Exchange Server",
        r"HKLM:\SOFTWARE\Microsoft\Exchange\Setup",
        None,
        r"HKLM:\SOFTWARE\Microsoft\Exchange\v8.0",
    ),
    "2010": ProductFacts(
        "v14",
        "Setup.com",
        r"C:\Program Files\Microsoft\Exchange Server\V14",
        r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14\Setup",
        None,
        r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v14",
    ),
    "2013": ProductFacts(
        "v15",
        "Setup.exe",
        r"C:\Program Files\Microsoft\Exchange Server\V15",
        r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup",
        "{4934D1EA-BE46-48B1-8847-F1AF20E892C1}",
        r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15",
    ),
    "2016": ProductFacts(
        "v15",
        "Setup.exe",
        r"C:\Program Files\Microsoft\Exchange Server\V15",
        r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup",
        "{CD981244-E9B8-405A-9026-6AEB9DCEF1F1}",
        r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15",
    ),
    "2019": ProductFacts(
        "v15",
        "Setup.exe",
        r"C:\Program Files\Microsoft\Exchange Server\V15",
        r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup",
        "{CD981244-E9B8-405A-9026-6AEB9DCEF1F1}",
        r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15",
    ),
    "SE": ProductFacts(
        "v15",
        "Setup.exe",
        r"C:\Program Files\Microsoft\Exchange Server\V15",
        r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup",
        "{CD981244-E9B8-405A-9026-6AEB9DCEF1F1}",
        r"HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15",
    ),
}

# Where a host's Exchange Setup state is read, newest generation first: (generation, Setup key, parent of the role keys).
# One table for the controller, the module_util (_ExchangeState.psm1 keeps a copy that a unit test holds equal to this) and
# the simulator's twins. 2013 and later: dsccommunity/ExchangeDsc (ExchangeDscHelper.psm1, its incomplete-setup check) and
# microsoft/CSS-Exchange read ExchangeServer\v15\Setup and ExchangeServer\v15\<Role>; 2010: ExchangeServer\v14 (CSS-Exchange
# Get-ExchangeInstallDirectory). 2007 (community and Microsoft support scripts, lower confidence): MsiInstallPath under
# Exchange\Setup, the role keys (ConfiguredVersion, Watermark, Action) under Exchange\v8.0\<Role>.
SETUP_REGISTRY_LOCATIONS: tuple[tuple[str, str, str], ...] = tuple(
    dict.fromkeys((facts.major, facts.setup_registry_key, facts.role_registry_key) for facts in reversed(PRODUCT_FACTS.values()))
)
# Uninstall entries whose InstallDate Setup writes when it completes (2013; 2016, 2019 and Subscription Edition), as IE15 reads them.
UNINSTALL_ROOT = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
SETUP_UNINSTALL_CODES: tuple[str, ...] = tuple(dict.fromkeys(f.uninstall_product_code for f in PRODUCT_FACTS.values() if f.uninstall_product_code))

# msExchCurrentServerRoles bits (exchange-recovery-facts.md section 1; community source).
ROLE_BITS = {"Mailbox": 2, "ClientAccess": 4, "UnifiedMessaging": 16, "HubTransport": 32, "Edge": 64}


@dataclass(frozen=True)
class ExchangeRelease:
    product: str  # one of PRODUCTS
    build: Build
    cu: int | None  # cumulative update (0 = RTM) for 2013 and later; None for 2007/2010 (service packs)

    @property
    def name(self) -> str:
        if self.product == "SE":
            return "Exchange Server Subscription Edition"
        if self.cu is None:
            return f"Exchange Server {self.product}"
        return f"Exchange Server {self.product} " + ("RTM" if self.cu == 0 else f"CU{self.cu}")

    @property
    def facts(self) -> ProductFacts:
        return PRODUCT_FACTS[self.product]

    @property
    def build_string(self) -> str:
        return ".".join(str(part) for part in self.build)

    def at_least(self, product: str, cu: int = 0) -> bool:
        """True when this release is `product` at `cu` or later (a later product family counts as later)."""
        order = PRODUCTS.index(self.product) - PRODUCTS.index(product)
        if order != 0:
            return order > 0
        return (self.cu or 0) >= cu


_DOTTED = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$")
# AdminDisplayVersion as Exchange shows it: "Version 15.2 (Build 986.5)"
_ADMIN_DISPLAY = re.compile(r"Version\s+(\d+)\.(\d+)\s*\(Build\s+(\d+)\.(\d+)\)", re.IGNORECASE)


def parse_build(value: str | Build) -> Build:
    """A build from '15.2.986.5', the long form '15.02.0986.005', 'Version 15.2 (Build 986.5)' or a tuple.

    Raises ValueError naming the value when it is none of those.
    """
    if isinstance(value, tuple):
        parts = tuple(int(p) for p in value) + (0,) * (4 - len(value))
        return parts[:4]  # type: ignore[return-value]
    text = str(value)
    match = _ADMIN_DISPLAY.search(text) or _DOTTED.match(text)
    if not match:
        raise ValueError(f"not an Exchange build number: {text!r} (expected e.g. 15.2.986.5 or 'Version 15.2 (Build 986.5)')")
    major, minor, build, revision = (int(g) if g else 0 for g in match.groups())
    return major, minor, build, revision


def product_of(build: Build) -> str:
    major, minor, number = build[:3]
    if major == 8:
        return "2007"
    if major == 14:
        return "2010"
    if major == 15 and minor == 0:
        return "2013"
    if major == 15 and minor == 1:
        return "2016"
    if major == 15 and minor == 2:
        return "SE" if number >= SUBSCRIPTION_EDITION_FIRST_BUILD else "2019"
    raise ValueError(f"build {'.'.join(map(str, build))} is not a known Exchange release (2007: 8.x, 2010: 14.x, 2013-SE: 15.x)")


def release_of(value: str | Build) -> ExchangeRelease:
    """The product and cumulative update of a build, e.g. 15.2.986.9 → Exchange Server 2019 CU11 (with a security update)."""
    build = parse_build(value)
    product = product_of(build)
    updates = CUMULATIVE_UPDATES.get(product)
    if not updates:
        return ExchangeRelease(product, build, None)
    cu = max((number for number, first in updates.items() if first[:3] <= build[:3]), default=0)
    return ExchangeRelease(product, build, cu)


def cu_build(product: str, cu: int) -> Build:
    """The first build of a cumulative update; ValueError for an unknown one."""
    try:
        return CUMULATIVE_UPDATES[product][cu]
    except KeyError:
        raise ValueError(f"Exchange {product} has no CU{cu} in the release table") from None


def roles_from_mask(mask: int) -> list[str]:
    """Role names from msExchCurrentServerRoles."""
    return [role for role, bit in ROLE_BITS.items() if mask & bit]


def mask_from_roles(roles: list[str]) -> int:
    unknown = [r for r in roles if r not in ROLE_BITS]
    if unknown:
        raise ValueError(f"unknown Exchange role(s) {', '.join(unknown)}; known: {', '.join(ROLE_BITS)}")
    mask = 0
    for role in roles:
        mask |= ROLE_BITS[role]
    return mask
