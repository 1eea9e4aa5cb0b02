# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Exchange databases per version: how the modules reach the Exchange Management Shell, which cmdlets and switches each
release has, and the judgement of what exchange_database_info read.

For internal collection use only. One table, used by the action plugins, the documentation (docs/databases.md) and the
simulator's twins (they import it; a unit test holds _ExchangeShell.psm1's snap-in names to SHELLS). Sources per row are
in docs/databases.md; the short form is in each entry's `source`:
- PS  = MicrosoftDocs/office-docs-powershell exchange/exchange-ps/ExchangePowerShell/<cmdlet>.md ("Applicable:" lines)
- ODX = x13-me/OfficeDocs-Exchange; E07 = the Exchange 2007 library on learn.microsoft.com (exchg.80)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils import _eseutil
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import PRODUCTS, ExchangeRelease, release_of

# -- the Exchange Management Shell per version ----------------------------------------------------------------------------
SNAPIN_2007 = "Microsoft.Exchange.Management.PowerShell.Admin"
SNAPIN_2010 = "Microsoft.Exchange.Management.PowerShell.E2010"
SNAPIN_2013 = "Microsoft.Exchange.Management.PowerShell.SnapIn"
REMOTE_URI = "http://{fqdn}/PowerShell/"  # PS docs-conceptual/connect-to-exchange-servers-using-remote-powershell.md
SHELL_METHODS = ("auto", "remote", "snapin")


@dataclass(frozen=True)
class ShellFacts:
    """How a release's cmdlets are reached. `methods` in order of preference; `auto` picks the first."""

    snapin: str
    methods: tuple[str, ...]
    rbac: bool  # whether the remote endpoint applies role-based access control
    note: str


SHELLS: dict[str, ShellFacts] = {
    "2007": ShellFacts(SNAPIN_2007, ("snapin",), False, "Exchange 2007 has no remote shell: the local snap-in (PowerShell 1.0/2.0)"),
    "2010": ShellFacts(SNAPIN_2010, ("remote", "snapin"), True, "the Exchange Management Shell is remote PowerShell to http://<fqdn>/PowerShell/ (RBAC)"),
    "2013": ShellFacts(
        SNAPIN_2013,
        ("remote", "snapin"),
        True,
        "remote PowerShell is the supported way; the snap-in bypasses RBAC and is supported only for transport agents (ODX ExchangeServer2013 release notes)",
    ),
}
for _later in ("2016", "2019", "SE"):
    SHELLS[_later] = SHELLS["2013"]


def shell_for(product: str, requested: str = "auto") -> tuple[str, str]:
    """(method, snap-in name) for a product family and the exchange_shell option; ValueError when the release has no such
    shell (2007 has no remote endpoint)."""
    if product not in SHELLS:
        raise ValueError(f"unknown Exchange product {product!r}; known: {', '.join(PRODUCTS)}")
    if requested not in SHELL_METHODS:
        raise ValueError(f"exchange_shell must be one of {', '.join(SHELL_METHODS)}, got {requested!r}")
    facts = SHELLS[product]
    method = facts.methods[0] if requested == "auto" else requested
    if method not in facts.methods:
        raise ValueError(f"Exchange {product} cannot be reached with exchange_shell={requested}: {facts.note}")
    return method, facts.snapin


# -- capabilities -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Capability:
    """A feature the database modules use, with the releases that have it. `since`/`until` are (product, level): the
    cumulative update for 2013 and later, the service pack for 2007/2010 (read from the build's minor number)."""

    name: str
    cmdlets: tuple[str, ...]
    since: tuple[str, int]
    until: tuple[str, int] | None
    source: str
    note: str = ""


CAPABILITIES: dict[str, Capability] = {
    c.name: c
    for c in (
        Capability(
            "database_status",
            ("Get-MailboxDatabase -Status",),
            ("2007", 0),
            None,
            "PS Get-MailboxDatabase; E07",
            "Mounted, BackupInProgress, OnlineMaintenanceInProgress",
        ),
        Capability(
            "storage_groups", ("Get-StorageGroup", "New-StorageGroup", "Remove-StorageGroup"), ("2007", 0), ("2007", 3), "E07 storage groups; gone in 2010"
        ),
        Capability(
            "recovery_storage_group",
            ("New-StorageGroup -Recovery", "New-MailboxDatabase -MailboxDatabaseToRecover -StorageGroup"),
            ("2007", 0),
            ("2007", 3),
            "facts section 4; E07 recovery storage groups",
            "one per server",
        ),
        Capability(
            "recovery_database",
            ("New-MailboxDatabase -Recovery",),
            ("2010", 0),
            None,
            "PS New-MailboxDatabase (Recovery set); ODX DR/recovery-databases.md",
            "one mounted per server",
        ),
        Capability(
            "restore_mailbox",
            ("Restore-Mailbox",),
            ("2007", 0),
            ("2010", 3),
            "PS Restore-Mailbox (applicable 2010; 2007 uses -RSGDatabase)",
            "from 2010 SP1 use New-MailboxRestoreRequest",
        ),
        Capability(
            "mailbox_restore_request",
            ("New-MailboxRestoreRequest", "Get-MailboxRestoreRequest", "Get-MailboxRestoreRequestStatistics", "Remove-MailboxRestoreRequest"),
            ("2010", 1),
            None,
            "PS Restore-Mailbox note: 2010 SP1 or later",
        ),
        Capability(
            "mailbox_repair_request", ("New-MailboxRepairRequest",), ("2010", 1), None, "PS New-MailboxRepairRequest; ODX 2013 discontinued features: ISInteg"
        ),
        Capability("isinteg", ("isinteg.exe",), ("2007", 0), ("2010", 0), "ODX ExchangeServer2013 what's discontinued (ISInteg -> New-MailboxRepairRequest)"),
        Capability(
            "public_folder_databases",
            ("Get-PublicFolderDatabase",),
            ("2007", 0),
            ("2010", 3),
            "PS Get-PublicFolderDatabase; 2013+ keep public folders in mailboxes",
        ),
        Capability("database_availability_group", ("Get-MailboxDatabaseCopyStatus",), ("2010", 0), None, "PS Get-MailboxDatabaseCopyStatus"),
        Capability("clean_mailbox_database", ("Clean-MailboxDatabase",), ("2007", 0), ("2010", 3), "PS Clean-MailboxDatabase (applicable 2010)"),
        Capability("update_store_mailbox_state", ("Update-StoreMailboxState",), ("2013", 0), None, "PS Update-StoreMailboxState"),
        Capability("skip_log_folder_creation", ("New-MailboxDatabase -SkipDatabaseLogFolderCreation",), ("2013", 0), None, "PS New-MailboxDatabase"),
        Capability("connect_mailbox_legacy_dn_mismatch", ("Connect-Mailbox -AllowLegacyDNMismatch",), ("2013", 0), None, "PS Connect-Mailbox"),
        Capability("mount_new_capacity", ("Mount-Database -NewCapacity",), ("2016", 0), None, "PS Mount-Database"),
        Capability(
            "remote_shell", ("New-PSSession -ConfigurationName Microsoft.Exchange",), ("2010", 0), None, "PS docs-conceptual/exchange-management-shell.md"
        ),
    )
}


def _level(release: ExchangeRelease) -> int:
    """Service pack (2007/2010: the build's minor number, 14.3 = SP3) or cumulative update."""
    if release.cu is not None:
        return release.cu
    return release.build[1]


def _order(product: str, level: int) -> tuple[int, int]:
    return PRODUCTS.index(product), level


def has(release: ExchangeRelease | str, capability: str) -> bool:
    """Whether a release (or build string) has a capability of CAPABILITIES."""
    release = release_of(release) if isinstance(release, str) else release
    cap = CAPABILITIES[capability]
    here = _order(release.product, _level(release))
    if here < _order(*cap.since):
        return False
    return cap.until is None or here <= _order(*cap.until)


def capabilities(release: ExchangeRelease | str) -> dict[str, bool]:
    """Every capability, true or false, for a release: what the modules return as `capabilities`."""
    return {name: has(release, name) for name in CAPABILITIES}


# -- judging what exchange_database_info read -------------------------------------------------------------------------------
def judge_database(db: dict[str, Any]) -> dict[str, Any]:
    """Add the parsed header (`header`), the log inventory (`logs`), the /ml verification (`log_verification`), the
    soft-recovery verdict (`recovery_verdict`), the space verdicts (`space`) and `parse_errors` to one database entry of
    exchange_database_info (in place; also returned). Mounted databases get no verdict: eseutil does not read them."""
    name = str(db.get("name") or "the database")
    errors: list[str] = []
    prefix = str(db.get("log_prefix") or "E00")
    files = db.get("files") or {}
    eseutil = files.get("eseutil") or {}
    header = None
    if eseutil.get("mh") is not None:
        mh = eseutil["mh"]
        try:
            header = _eseutil.parse_mh("\n".join(mh.get("output") or []), mh.get("rc"))
        except _eseutil.EseutilOutputError as error:
            errors.append(str(error))
    current_generation = current_signature = None
    if eseutil.get("current_log") is not None:
        log = eseutil["current_log"]
        try:
            parsed = _eseutil.parse_log_header("\n".join(log.get("output") or []), log.get("rc"))
            current_generation, current_signature = parsed.generation, parsed.signature
        except _eseutil.EseutilOutputError as error:
            errors.append(str(error))
    verification = None
    if eseutil.get("ml") is not None:
        ml = eseutil["ml"]
        try:
            verification = _eseutil.parse_ml("\n".join(ml.get("output") or []), ml.get("rc"))
        except _eseutil.EseutilOutputError as error:
            errors.append(str(error))
    names = files.get("log_files")
    inventory = _eseutil.inventory_logs(list(names), prefix, current_generation) if names is not None else None
    db["header"] = header.to_dict() if header else None
    db["logs"] = inventory.to_dict() if inventory else None
    db["log_verification"] = verification.to_dict() if verification else None
    db["recovery_verdict"] = (
        _eseutil.recovery_verdict(header, inventory, verification, current_signature, database=name).to_dict() if header and inventory else None
    )
    db["space"] = _space(db)
    db["parse_errors"] = errors
    return db


def _space(db: dict[str, Any]) -> dict[str, Any] | None:
    files = db.get("files") or {}
    edb = files.get("edb") or {}
    volume = files.get("edb_volume") or {}
    if not edb.get("exists"):
        return None
    size = int(edb.get("size") or 0)
    free = volume.get("free_bytes")
    where = volume.get("name")
    return {op: _eseutil.space_verdict(op, size, free, where).to_dict() for op in ("repair", "defragment", "copy_aside")}


def select_databases(databases: list[dict[str, Any]], wanted: list[str] | None, server: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The databases named in `wanted` (all when None), and the names that are not databases of `server`."""
    if not wanted:
        return databases, []
    by_name = {str(d.get("name", "")).casefold(): d for d in databases}
    chosen = [by_name[w.casefold()] for w in wanted if w.casefold() in by_name]
    unknown = [w for w in wanted if w.casefold() not in by_name]
    return chosen, unknown


def summarize(databases: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and the names that need attention, from judged database entries."""
    verdicts = {d.get("name"): (d.get("recovery_verdict") or {}).get("verdict") for d in databases}
    return {
        "total": len(databases),
        "mounted": sorted(str(d.get("name")) for d in databases if d.get("mounted") is True),
        "dismounted": sorted(str(d.get("name")) for d in databases if d.get("mounted") is not True),
        "missing_files": sorted(str(d.get("name")) for d in databases if not ((d.get("files") or {}).get("edb") or {}).get("exists")),
        "clean": sorted(str(n) for n, v in verdicts.items() if v == "clean"),
        "recoverable": sorted(str(n) for n, v in verdicts.items() if v == "recoverable"),
        "blocked": sorted(str(n) for n, v in verdicts.items() if v in ("recoverable_with_loss", "logs_missing", "logs_mismatch", "unknown")),
    }
