# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Exchange Setup in RecoverServer mode: the command line, the preflight judgement and the verdict on a Setup run.

For internal collection use only. Everything here is decided on the controller from data the Windows modules return
(``exchange_info`` facts, the key lines of ``ExchangeSetup.log`` and the registry after Setup), so it is unit-tested
without a host. Facts: the project's exchange-recovery-facts.md, section 1.

- ``setup_command()``: the version-correct Setup command line. 2007/2010 ``Setup.com /m:RecoverServer``; 2013, 2016 up to
  CU21 and 2019 up to CU10 ``Setup.exe /m:RecoverServer /IAcceptExchangeServerLicenseTerms``; 2016 CU22+, 2019 CU11+ and
  Subscription Edition ``Setup.exe /Mode:RecoverServer /IAcceptExchangeServerLicenseTerms_DiagnosticDataON|OFF`` (the old
  switch no longer works there). ``/TargetDir`` comes from the AD object's msExchInstallPath unless given.
- ``preflight()``: refuse (nothing run), nothing to do, reboot first, run, or resume an incomplete Setup.
- ``parse_setup_log()`` / ``judge_setup()``: success is the log's success line AND the registry (every role key configured,
  no Action/Watermark, InstallDate on 2013+), never the exit code alone; a failure quotes the first ``[ERROR]`` lines.
"""

from __future__ import annotations

import ntpath
import re
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._exchange_versions import (
    ExchangeRelease,
    release_of,
    roles_from_mask,
)

SETUP_LOG = r"C:\ExchangeSetupLogs\ExchangeSetup.log"  # <SystemDrive>:\ExchangeSetupLogs; the modules report the real path

# First cumulative update whose Setup only accepts /IAcceptExchangeServerLicenseTerms_DiagnosticDataON|OFF
# (2016 CU22 = 15.1.2375.7, 2019 CU11 = 15.2.986.5; IE15 switches at ExSetup build >= 15.02.0986.005).
DIAGNOSTIC_DATA_SWITCH_SINCE: dict[str, int] = {"2016": 22, "2019": 11, "SE": 0}
LICENSE_NONE, LICENSE_LEGACY, LICENSE_DIAGNOSTIC_DATA = "none", "legacy", "diagnostic_data"

# Services /DoNotStartTransport leaves stopped, which IE15 sets back to Automatic afterwards.
TRANSPORT_SERVICES: dict[str, tuple[str, ...]] = {
    "2007": ("MSExchangeTransport",),
    "2010": ("MSExchangeTransport",),
    "2013": ("MSExchangeTransport", "MSExchangeFrontEndTransport"),
    "2016": ("MSExchangeTransport", "MSExchangeFrontEndTransport"),
    "2019": ("MSExchangeTransport", "MSExchangeFrontEndTransport"),
    "SE": ("MSExchangeTransport", "MSExchangeFrontEndTransport"),
}


class SetupCommandError(ValueError):
    """The options cannot give a valid Setup command line (the message says why and what to do)."""


# ---------------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------------
def license_form(release: ExchangeRelease) -> str:
    """Which license switch this release's Setup takes: none (2007/2010), legacy, or diagnostic_data."""
    if release.product in ("2007", "2010"):
        return LICENSE_NONE
    since = DIAGNOSTIC_DATA_SWITCH_SINCE.get(release.product)
    if since is not None and (release.cu or 0) >= since:
        return LICENSE_DIAGNOSTIC_DATA
    return LICENSE_LEGACY


def quote_switch_value(name: str, value: str) -> str:
    """``/Name:"value"`` as Exchange's documentation writes it. A trailing backslash would escape the closing quote
    (CommandLineToArgvW), so it is dropped; a double quote cannot appear in a Windows path."""
    text = str(value).strip()
    if '"' in text:
        raise SetupCommandError(f"{name}: a path cannot contain a double quote: {value!r}")
    if re.fullmatch(r"[A-Za-z]:\\?", text):
        raise SetupCommandError(f"{name}: Exchange cannot be installed in the root of a drive ({value!r})")
    text = text.rstrip("\\") or text
    return f'/{name}:"{text}"'


@dataclass(frozen=True)
class SetupCommand:
    program: str  # the Setup program on the media (Setup.com for 2007/2010, Setup.exe later)
    arguments: tuple[str, ...]
    release: ExchangeRelease
    license: str

    @property
    def command_line(self) -> str:
        return " ".join([f'"{self.program}"', *self.arguments])


def setup_program(media_path: str, release: ExchangeRelease) -> str:
    """The Setup program next to the media file that was read: 2007/2010 unattended Setup is Setup.com (Setup.exe is the
    graphical launcher there); 2013 and later have only Setup.exe."""
    folder, name = ntpath.split(str(media_path))
    wanted = release.facts.setup_program
    if name.casefold() == wanted.casefold():
        return str(media_path)
    return ntpath.join(folder, wanted) if folder else wanted


def setup_command(
    media_path: str,
    media_build: str,
    *,
    diagnostic_data: bool = False,
    target_dir: str | None = None,
    domain_controller: str | None = None,
    do_not_start_transport: bool = False,
    updates_dir: str | None = None,
) -> SetupCommand:
    """The RecoverServer command line for media of build ``media_build`` (read from the Setup file on the host)."""
    release = release_of(media_build)
    form = license_form(release)
    if form == LICENSE_DIAGNOSTIC_DATA:
        switch = "/IAcceptExchangeServerLicenseTerms_DiagnosticData" + ("ON" if diagnostic_data else "OFF")
        args = ["/Mode:RecoverServer", switch]
    elif form == LICENSE_LEGACY:
        args = ["/m:RecoverServer", "/IAcceptExchangeServerLicenseTerms"]
    else:
        args = ["/m:RecoverServer"]
    if target_dir:
        args.append(quote_switch_value("TargetDir", target_dir))
    if domain_controller:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", domain_controller):
            raise SetupCommandError(f"domain_controller: expected a server name or FQDN such as dc01.contoso.local, got {domain_controller!r}")
        args.append(f"/DomainController:{domain_controller}")
    if do_not_start_transport:
        args.append("/DoNotStartTransport")
    if updates_dir:
        args.append(quote_switch_value("UpdatesDir", updates_dir))
    return SetupCommand(setup_program(media_path, release), tuple(args), release, form)


# ---------------------------------------------------------------------------------------------------------------------
# Preflight
# ---------------------------------------------------------------------------------------------------------------------
REFUSE, NOTHING, REBOOT, RUN, RESUME = "refuse", "none", "reboot", "recover", "resume"


@dataclass
class Preflight:
    action: str  # refuse | none | reboot | recover | resume
    msg: str
    check: str = ""  # the check that decided (name_mismatch, no_ad_object, ...); empty when it passed
    warnings: list[str] = field(default_factory=list)
    release: ExchangeRelease | None = None  # the media
    ad_release: ExchangeRelease | None = None  # the lost server, as its AD object says


def _release(build: Any) -> ExchangeRelease | None:
    try:
        return release_of(str(build)) if build else None
    except ValueError:
        return None


def preflight(info: dict[str, Any], *, server_name: str | None = None, reboot: bool = False) -> Preflight:
    """Judge an ``exchange_info`` result: may Setup /Mode:RecoverServer run on this host, and what would it do?

    Order: the right host (name), nothing to do when Exchange is installed and configured, a Setup still running, then the
    conditions that make Setup refuse or fail (domain, AD object, Edge, media, Scripting Agent, pending reboot).
    """
    computer = str(info.get("computer_name") or "").upper()
    wanted = (server_name or computer).upper()
    ad = info.get("ad_server") or {}
    media = info.get("media") or {}
    domain = info.get("domain") or {}
    exchange = info.get("exchange") or {}

    if server_name and wanted != computer:
        return Preflight(
            REFUSE,
            f"This host is named {computer} but the lost server is {wanted}: Setup /Mode:RecoverServer recovers the server whose "
            f"Active Directory object has the local computer's name, and recovery fails if the name differs. Install Windows with "
            f"the name {wanted}, reset (never delete) the computer account {wanted} in Active Directory, join the domain and run again.",
            "name_mismatch",
        )
    if exchange.get("installed") and exchange.get("configured") and not exchange.get("incomplete"):
        return Preflight(NOTHING, f"Exchange {exchange.get('version')} is installed and configured on {computer}: nothing to recover.", "", [], None, None)
    running = info.get("setup_processes") or []
    if running:
        first = running[0]
        return Preflight(
            REFUSE,
            f"Exchange Setup is still running on {computer} ({first.get('name')}, process {first.get('pid')}, started "
            f"{first.get('started') or 'at an unknown time'}), probably from an earlier run the controller lost: a second Setup must not "
            f"start while one runs. Wait for it to end (follow {SETUP_LOG}), then run again: the "
            f"recovery resumes where it stopped.",
            "setup_running",
        )
    if not domain.get("joined"):
        return Preflight(
            REFUSE,
            f"{computer} is not joined to a domain: Setup /Mode:RecoverServer reads the server's configuration from its Active "
            f"Directory object. Reset the computer account {computer}, join the host to the domain with the same name, restart and run again.",
            "not_domain_joined",
        )
    if ad.get("error"):
        return Preflight(REFUSE, f"Could not read the Exchange server object {wanted} from Active Directory: {ad['error']}", "ad_unreadable")
    if not ad.get("exists"):
        return Preflight(
            REFUSE,
            f"Active Directory has no Exchange server object named {wanted}: there is nothing to recover from. RecoverServer only "
            f"rebuilds a server whose object still exists; for a new server run a normal install (Setup /Mode:Install) instead.",
            "no_ad_object",
        )
    roles = list(ad.get("roles") or roles_from_mask(int(ad.get("role_mask") or 0)))
    if "Edge" in roles:
        return Preflight(
            REFUSE,
            f"{wanted} is an Edge Transport server: its configuration lives in AD LDS on the server itself, so Setup /Mode:RecoverServer "
            f"cannot rebuild it. Install a new Edge Transport server and put it in the inventory group edge_servers: the DR run "
            f"(exchange_dr.recovery.dr_run) recovers it with the recover_edge role - its configuration from the DR kit, a new Edge "
            f"subscription (docs/transport-and-edge.md).",
            "edge_role",
        )
    if not media.get("exists"):
        return Preflight(REFUSE, f"No Exchange Setup found at {media.get('path') or '(setup_path not given)'} on {computer}.", "no_media")
    release = _release(media.get("version"))
    if release is None:
        return Preflight(REFUSE, f"Could not read an Exchange build from {media.get('path')} (file version {media.get('version')!r}).", "media_version")
    ad_release = _release(ad.get("version"))
    warnings: list[str] = []
    if ad_release is not None:
        if ad_release.product != release.product and not {ad_release.product, release.product} <= {"2019", "SE"}:
            return Preflight(
                REFUSE,
                f"The media is {release.name} ({release.build_string}) but {wanted} was {ad_release.name} ({ad_release.build_string}): "
                f"RecoverServer needs media of the same product, ideally the same cumulative update.",
                "media_product",
                [],
                release,
                ad_release,
            )
        if release.build < ad_release.build:
            return Preflight(
                REFUSE,
                f"The media is {release.name} ({release.build_string}), older than {wanted}'s {ad_release.name} ({ad_release.build_string}): "
                f"Setup cannot recover a server to an older build. Use the same or a later cumulative update.",
                "media_older",
                [],
                release,
                ad_release,
            )
        if release.build[:3] != ad_release.build[:3]:
            warnings.append(
                f"The media ({release.name}) is newer than {wanted}'s build ({ad_release.build_string}): after the recovery "
                f"AdminDisplayVersion keeps the old build until Setup /Mode:Upgrade is run with the same media."
            )
    agent = info.get("scripting_agent") or {}
    if agent.get("enabled") and not agent.get("config_present"):
        path = agent.get("config_path") or r"<TargetDir>\Bin\CmdletExtensionAgents\ScriptingAgentConfig.xml"
        return Preflight(
            REFUSE,
            f"The Scripting Agent is enabled in the Exchange organisation but {path} does not exist on {computer}: Setup would stop with "
            f'Scripting Agent initialization failed: "File is not found". Either run Disable-CmdletExtensionAgent -Identity "Scripting Agent" '
            f"on another Exchange server (enable it again after the recovery), or place your ScriptingAgentConfig.xml at {path} before running Setup.",
            "scripting_agent",
            warnings,
            release,
            ad_release,
        )
    pending = sorted(k for k, v in (info.get("pending_reboot") or {}).items() if v)
    if pending:
        if reboot:
            msg = f"A restart is pending on {computer} ({', '.join(pending)}): restarting before Setup."
            return Preflight(REBOOT, msg, "pending_reboot", warnings, release, ad_release)
        return Preflight(
            REFUSE,
            f"A restart is pending on {computer} ({', '.join(pending)}): Setup's prerequisite check (PendingRebootWindowsComponents / "
            f"RebootPending) would fail. Restart the host first, or set reboot=true to let the module restart it and continue.",
            "pending_reboot",
            warnings,
            release,
            ad_release,
        )
    if exchange.get("incomplete"):
        msg = f"An earlier Setup on {computer} did not finish ({_markers(exchange)}): running Setup again resumes it."
        return Preflight(RESUME, msg, "", warnings, release, ad_release)
    msg = f"Setup /Mode:RecoverServer will rebuild {wanted} ({', '.join(roles)}) from its Active Directory object."
    return Preflight(RUN, msg, "", warnings, release, ad_release)


def _markers(exchange: dict[str, Any]) -> str:
    names = [m.get("role") for m in exchange.get("setup_markers") or [] if m.get("incomplete")]
    return "incomplete: " + ", ".join(str(n) for n in names) if names else "incomplete setup markers"


def target_dir_for(options_target: str | None, ad: dict[str, Any], release: ExchangeRelease) -> str | None:
    """/TargetDir: the option, else the AD object's msExchInstallPath when it is not the product's default path."""
    if options_target:
        return options_target
    path = str(ad.get("install_path") or "").rstrip("\\")
    if not path or path.casefold() == release.facts.default_install_path.rstrip("\\").casefold():
        return None
    return path


# ---------------------------------------------------------------------------------------------------------------------
# ExchangeSetup.log
# ---------------------------------------------------------------------------------------------------------------------
_LINE = re.compile(r"^\[(?P<stamp>\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}\.\d{4})\] \[(?P<depth>\d+)\] ?(?P<text>.*)$")
_START = re.compile(r"Starting Microsoft Exchange Server (?P<product>\d{4}|Subscription Edition) Setup")
_VERSION = re.compile(r"^Setup version: (?P<version>[\d.]+?)\.?$")
_PARAMETER = re.compile(r"^Command Line Parameter Name='(?P<name>[^']*)', Value='(?P<value>[^']*)'\.$")
_FAILED_RULE = re.compile(r"^Failed \[Rule:(?P<rule>[^\]]+)\] \[Message:(?P<message>.*)\]$")
SUCCESS_LINE = "The Exchange Server setup operation completed successfully."
FAILURE_LINE = "The Exchange Server setup operation didn't complete."


@dataclass
class SetupLogRun:
    """The last Setup run in ExchangeSetup.log (the file is appended to by every run)."""

    found: bool = False
    product: str | None = None  # 2016, Subscription Edition ...
    version: str | None = None
    started: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # [ERROR] lines
    required: list[str] = field(default_factory=list)  # [REQUIRED] lines (failed prerequisite rules)
    failed_rules: list[str] = field(default_factory=list)
    succeeded: bool = False
    failed: bool = False
    ended: bool = False

    @property
    def mode(self) -> str | None:
        return self.parameters.get("mode")

    def to_dict(self) -> dict[str, Any]:
        return {
            "found": self.found,
            "product": self.product,
            "version": self.version,
            "started": self.started,
            "mode": self.mode,
            "succeeded": self.succeeded,
            "errors": list(self.errors),
            "required": list(self.required),
            "failed_rules": list(self.failed_rules),
            "ended": self.ended,
        }


def parse_setup_log(text: str | list[str]) -> SetupLogRun:
    """The last run of an ExchangeSetup.log (the whole file or the key lines the module returns)."""
    lines = text.splitlines() if isinstance(text, str) else [str(x) for x in text]
    start = None
    for i, line in enumerate(lines):
        if _START.search(line):
            start = i
    run = SetupLogRun()
    if start is None:
        return run
    run.found = True
    for line in lines[start:]:
        m = _LINE.match(line.rstrip("\r"))
        if not m:
            continue  # continuation of a multi-line entry (stack traces, scripts)
        body = m.group("text").strip()
        if (s := _START.search(body)) and run.started is None:
            run.product, run.started = s.group("product"), m.group("stamp")
        elif (v := _VERSION.match(body)) and run.version is None:
            run.version = v.group("version")
        elif p := _PARAMETER.match(body):
            run.parameters[p.group("name").lower()] = p.group("value")
        elif body.startswith("[ERROR] "):
            run.errors.append(body[len("[ERROR] ") :].strip())
        elif body.startswith("[REQUIRED] "):
            run.required.append(body[len("[REQUIRED] ") :].strip())
        elif f := _FAILED_RULE.match(body):
            run.failed_rules.append(f.group("rule"))
        elif body == SUCCESS_LINE:
            run.succeeded = True
        elif body.startswith(FAILURE_LINE):
            run.failed = True
        elif body == "End of Setup":
            run.ended = True
    if run.failed:
        run.succeeded = False
    return run


@dataclass
class SetupVerdict:
    ok: bool
    msg: str
    errors: list[str]


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def judge_setup(result: dict[str, Any], release: ExchangeRelease, *, max_errors: int = 3) -> SetupVerdict:
    """Did the Setup run succeed? Judged from the log's last run and the registry afterwards, not the exit code alone."""
    log = parse_setup_log(result.get("setup_log", {}).get("lines") or [])
    path = result.get("setup_log", {}).get("path") or SETUP_LOG
    host = result.get("computer_name") or "the host"
    state = result.get("exchange") or {}
    rc = result.get("rc")
    problems = [_short(e) for e in (log.required + log.errors)][:max_errors]
    registry_ok = bool(state.get("installed") and state.get("configured") and not state.get("incomplete"))
    if release.facts.uninstall_product_code and registry_ok and not state.get("install_date"):
        registry_ok = False
    if log.succeeded and registry_ok:
        return SetupVerdict(True, f"Exchange Setup recovered {host} ({release.name}).", [])
    if not log.found:
        why = f"ExchangeSetup.log at {path} has no Setup run"
    elif log.succeeded:
        why = (
            "ExchangeSetup.log reports success but the registry shows an incomplete installation "
            "(role keys without ConfiguredVersion, Action/Watermark or no InstallDate)"
        )
    elif problems:
        why = "; ".join(problems)
    elif not log.ended:
        why = "ExchangeSetup.log ends without 'End of Setup' (Setup was interrupted)"
    else:
        why = "ExchangeSetup.log reports no success and no [ERROR] line"
    return SetupVerdict(False, f"Exchange Setup failed on {host} (exit code {rc}): {why.rstrip('.')}. See {path} on {host}.", problems)
