# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Dynamics CRM Email Router's configuration set as a Python model: parse, validate, render, normalise, diff, redact.

For internal collection use only. The set is the files the Email Router service keeps in its Service folder
(facts: the project's email-router-facts.md):

- ``Microsoft.Crm.Tools.EmailAgent.xml``: ``Configuration`` > ``SystemConfiguration`` (> ``ProviderOverrides``) and N x
  ``ProviderConfiguration``; element names ``Configuration`` and ``ProviderConfiguration`` are case-sensitive and providers do not nest.
- ``EncryptionKey.xml``: ``<Encryption Key="base64"/>``; the AES key that decrypts ``EmailPassword`` values of the form
  ``{2A48C4DB-F2BF-48DF-A8EF-20F531EA9BAA}:`` + base64(ciphertext) + ``@`` + base64(IV). A value without that prefix is used as-is.
- ``Microsoft.Crm.Tools.EmailAgent.SystemState.xml``: root ``State``; re-created when missing, but then mail is reprocessed.
- ``Microsoft.Crm.Tools.EmailAgent.Configuration.bin``: what the Configuration Manager reads (opaque here).

Parsing is safe by construction: a first pass through defusedxml (expat) refuses any DTD, entity declaration or external
reference and reports the line; only then does lxml (entities off, no network, no huge trees) build the tree whose
``sourceline`` every message quotes. Files larger than the size limit are refused before parsing.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

try:
    from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
    from defusedxml.ElementTree import DefusedXMLParser, ParseError

    HAS_DEFUSEDXML = True
except ImportError:  # pragma: no cover - requirements.txt installs it
    HAS_DEFUSEDXML = False

try:
    from lxml import etree

    HAS_LXML = True
except ImportError:  # pragma: no cover - requirements.txt installs it
    HAS_LXML = False

try:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - a dependency of ansible-core
    HAS_CRYPTOGRAPHY = False

CONFIG_FILE = "Microsoft.Crm.Tools.EmailAgent.xml"
KEY_FILE = "EncryptionKey.xml"
STATE_FILE = "Microsoft.Crm.Tools.EmailAgent.SystemState.xml"
BIN_FILE = "Microsoft.Crm.Tools.EmailAgent.Configuration.bin"
SET_FILES = (CONFIG_FILE, KEY_FILE, STATE_FILE, BIN_FILE)
XML_FILES = (CONFIG_FILE, KEY_FILE, STATE_FILE)

ENCRYPTED_PREFIX = "{2A48C4DB-F2BF-48DF-A8EF-20F531EA9BAA}:"
REDACTED = "********"
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
PROVIDER_NAMESPACE = "Microsoft.Crm.Tools.Email.Providers."

# Provider classes Microsoft ships, and the direction each serves (the class name says it: MailboxProvider polls incoming mail,
# SendEmailProvider sends outgoing mail). Others are custom providers.
KNOWN_PROVIDERS = {
    "ExchangePollingMailboxProvider": "Inbound",
    "Pop3PollingMailboxProvider": "Inbound",
    "ExchangeOnlinePollingSendEmailProvider": "Outbound",
    "SmtpPollingSendEmailProvider": "Outbound",
}

# SystemConfiguration children, all numbers except LogFile (times in milliseconds); ProviderOverrides children, all numbers.
SYSTEM_NUMBERS = ("MaxThreads", "MaxThreadExecution", "SchedulingPeriod", "ConfigRefreshPeriod", "ConfigUpdatePeriod", "LogLevel")
SYSTEM_TEXT = ("LogFile",)
OVERRIDE_NUMBERS = (
    "CacheCapacity",
    "PendingStatusDelay",
    "SendingStatusDelay",
    "MaximumDeliveryAttempts",
    "EWSRetrieveMessageCount",
    "BatchSize",
    "RequestBatchSize",
)

# ProviderConfiguration children read by Microsoft's migration parser, in the order this model renders them.
PROVIDER_FIELDS = (
    "ProviderClass",
    "CrmServerUrl",
    "Direction",
    "Protocol",
    "EmailServerType",
    "EmailServerVersion",
    "EmailServer",
    "EmailPort",
    "EmailUseSSL",
    "UseAutoDiscover",
    "EmailAuthMode",
    "AccessCredentials",
    "EmailUser",
    "EmailPassword",
    "EmailUseDelegate",
    "ExchangeOnlineProfileType",
    "IsForwardMailbox",
    "Target",
    "DeleteEmails",
    "EmailAddress",
    "UserId",
    "QueueId",
)
PROVIDER_BOOLEANS = ("EmailUseSSL", "UseAutoDiscover", "EmailUseDelegate", "IsForwardMailbox", "DeleteEmails")
# Values the migration parser knows; the service may accept more, so other values are warnings, not errors.
PROVIDER_CHOICES = {
    "Protocol": ("EWS", "POP3", "SMTP"),
    "EmailAuthMode": ("WindowsAuthentication", "Clear Text", "cleartext", "NTLM"),
    "AccessCredentials": ("Other", "UserSpecified", "Self"),
}
_INT32_MAX = 2**31 - 1
_SECRET_ELEMENT = re.compile("password", re.IGNORECASE)


# -- messages ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Issue:
    """One finding: an error stops the task, a warning is reported. `element` is a path such as
    ``Configuration/ProviderConfiguration[3]/Direction``; `line` is the line in `file` (None when the file as a whole is meant)."""

    severity: str
    file: str
    message: str
    line: int | None = None
    element: str | None = None

    def __str__(self) -> str:
        where = self.file + (f", line {self.line}" if self.line else "")
        what = f" <{self.element}>" if self.element else ""
        return f"{where}:{what} {self.message}"


class EmailAgentError(Exception):
    """The set cannot be used; `issues` holds every error found (and the warnings seen so far)."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        errors = [i for i in issues if i.severity == "error"]
        super().__init__("; ".join(str(i) for i in errors) or "invalid Email Router configuration set")


def missing_libraries() -> list[str]:
    """Python libraries this model needs that the controller lacks."""
    return [name for name, present in (("defusedxml", HAS_DEFUSEDXML), ("lxml", HAS_LXML)) if not present]


# -- safe parsing --------------------------------------------------------------------------------------------------------
def parse_xml(data: bytes, file_name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """The root element of `data`, parsed safely; raises EmailAgentError naming the file and line."""
    missing = missing_libraries()
    if missing:
        raise EmailAgentError([Issue("error", file_name, f"the controller needs the Python libraries {', '.join(missing)} (see requirements.txt)")])
    if len(data) > max_bytes:
        raise EmailAgentError([Issue("error", file_name, f"the file is {len(data)} bytes, more than the limit of {max_bytes} bytes")])
    if not _strip_bom(data).strip(b" \t\r\n\x00"):
        raise EmailAgentError([Issue("error", file_name, "the file is empty (Root element is missing)", line=1)])
    _guard(data, file_name)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False, remove_comments=False, remove_pis=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise EmailAgentError([Issue("error", file_name, f"not well-formed XML: {e.msg}", line=e.lineno or None)]) from None
    except (ValueError, LookupError) as e:
        raise EmailAgentError([Issue("error", file_name, f"cannot be read: {e}", line=1)]) from None
    if root is None:
        raise EmailAgentError([Issue("error", file_name, "the file has no root element (Root element is missing)", line=1)])
    return root


def _strip_bom(data: bytes) -> bytes:
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if data.startswith(bom):
            return data[len(bom) :].replace(b"\x00", b"") if bom != b"\xef\xbb\xbf" else data[len(bom) :]
    return data


def _guard(data: bytes, file_name: str) -> None:
    """First pass (defusedxml over expat): no DTD, no entity declarations, no external references."""
    parser = DefusedXMLParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(data)
        parser.close()
    except DTDForbidden:
        line = parser.parser.CurrentLineNumber
        raise EmailAgentError([Issue("error", file_name, "a document type declaration (DTD) is not allowed", line=line)]) from None
    except EntitiesForbidden as e:
        line = parser.parser.CurrentLineNumber
        raise EmailAgentError([Issue("error", file_name, f"entity declarations are not allowed (entity {e.name!r})", line=line)]) from None
    except ExternalReferenceForbidden:
        line = parser.parser.CurrentLineNumber
        raise EmailAgentError([Issue("error", file_name, "external references are not allowed", line=line)]) from None
    except ParseError as e:
        line = e.position[0] if getattr(e, "position", None) else None
        text = str(e).split(": line", 1)[0]
        raise EmailAgentError([Issue("error", file_name, f"not well-formed XML: {text}", line=line)]) from None
    except (ValueError, LookupError) as e:  # e.g. an encoding expat cannot read
        raise EmailAgentError([Issue("error", file_name, f"cannot be read: {e}", line=1)]) from None


# -- the EmailAgent model ------------------------------------------------------------------------------------------------
@dataclass
class Provider:
    """One ProviderConfiguration: its line and its child elements' text (by element name as written)."""

    line: int
    index: int
    fields: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        value = self.fields.get(name)
        return value.strip() if value is not None else None

    @property
    def path(self) -> str:
        return f"Configuration/ProviderConfiguration[{self.index}]"


@dataclass
class EmailAgentConfig:
    system: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)
    providers: list[Provider] = field(default_factory=list)

    @property
    def encrypted_passwords(self) -> list[Provider]:
        return [p for p in self.providers if (p.get("EmailPassword") or "").startswith(ENCRYPTED_PREFIX)]


class _Collector:
    def __init__(self, file_name: str) -> None:
        self.file = file_name
        self.issues: list[Issue] = []

    def error(self, message: str, line: int | None = None, element: str | None = None) -> None:
        self.issues.append(Issue("error", self.file, message, line, element))

    def warn(self, message: str, line: int | None = None, element: str | None = None) -> None:
        self.issues.append(Issue("warning", self.file, message, line, element))


def _name(el: Any) -> str | None:
    """The element's name, or None for comments and processing instructions."""
    return el.tag if isinstance(el.tag, str) else None


def _text(el: Any) -> str:
    return "".join(el.itertext())


def _case_match(name: str, known: Iterable[str]) -> str | None:
    low = name.casefold()
    return next((k for k in known if k.casefold() == low and k != name), None)


def parse_email_agent(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, file_name: str = CONFIG_FILE) -> tuple[EmailAgentConfig, list[Issue]]:
    """Parse and check Microsoft.Crm.Tools.EmailAgent.xml. Raises EmailAgentError when the file cannot be parsed at all;
    otherwise returns the model and every issue found (errors included)."""
    root = parse_xml(data, file_name, max_bytes)
    c = _Collector(file_name)
    config = EmailAgentConfig()
    name = _name(root)
    if name != "Configuration":
        hint = " (element names are case-sensitive)" if name and name.casefold() == "configuration" else ""
        c.error(f"the root element must be <Configuration>, not <{name}>{hint}", root.sourceline, name)
        return config, c.issues
    seen_system = False
    for child in root:
        cname = _name(child)
        if cname is None:
            continue
        if cname == "SystemConfiguration":
            if seen_system:
                c.error("more than one <SystemConfiguration>", child.sourceline, "Configuration/SystemConfiguration")
            seen_system = True
            _system(child, config, c)
        elif cname == "ProviderConfiguration":
            _provider(child, len(config.providers) + 1, config, c)
        else:
            known = _case_match(cname, ("SystemConfiguration", "ProviderConfiguration"))
            if known:
                c.error(f"unknown element; element names are case-sensitive: did you mean <{known}>?", child.sourceline, f"Configuration/{cname}")
            else:
                c.warn("unknown element (kept as is)", child.sourceline, f"Configuration/{cname}")
    if not seen_system:
        c.error("the required element <SystemConfiguration> is missing", root.sourceline, "Configuration")
    _duplicates(config, c)
    return config, c.issues


def _number(value: str, minimum: int = 0) -> bool:
    text = value.strip()
    return bool(re.fullmatch(r"\+?\d+", text)) and minimum <= int(text) <= _INT32_MAX


def _system(el: Any, config: EmailAgentConfig, c: _Collector) -> None:
    base = "Configuration/SystemConfiguration"
    for child in el:
        cname = _name(child)
        if cname is None:
            continue
        path = f"{base}/{cname}"
        if cname == "ProviderOverrides":
            for sub in child:
                sname = _name(sub)
                if sname is None:
                    continue
                spath = f"{path}/{sname}"
                if sname in OVERRIDE_NUMBERS:
                    config.overrides[sname] = _text(sub)
                    if not _number(_text(sub)):
                        c.error(f"must be a whole number from 0 to {_INT32_MAX}, not {_text(sub).strip()!r}", sub.sourceline, spath)
                elif _case_match(sname, OVERRIDE_NUMBERS):
                    c.error(f"unknown element; element names are case-sensitive: did you mean <{_case_match(sname, OVERRIDE_NUMBERS)}>?", sub.sourceline, spath)
                else:
                    c.warn("unknown element (kept as is)", sub.sourceline, spath)
        elif cname in SYSTEM_NUMBERS:
            config.system[cname] = _text(child)
            if not _number(_text(child)):
                c.error(f"must be a whole number from 0 to {_INT32_MAX}, not {_text(child).strip()!r}", child.sourceline, path)
        elif cname in SYSTEM_TEXT:
            config.system[cname] = _text(child)
        else:
            known = _case_match(cname, (*SYSTEM_NUMBERS, *SYSTEM_TEXT, "ProviderOverrides"))
            if known:
                c.error(f"unknown element; element names are case-sensitive: did you mean <{known}>?", child.sourceline, path)
            else:
                c.warn("unknown element (kept as is)", child.sourceline, path)


def _provider(el: Any, index: int, config: EmailAgentConfig, c: _Collector) -> None:
    p = Provider(line=el.sourceline, index=index)
    config.providers.append(p)
    for child in el:
        cname = _name(child)
        if cname is None:
            continue
        path = f"{p.path}/{cname}"
        nested = [d for d in child.iter() if _name(d) and _name(d).casefold() == "providerconfiguration"]
        if nested:
            c.error("<ProviderConfiguration> elements do not nest", nested[0].sourceline, path)
            continue
        known = cname if cname in PROVIDER_FIELDS else next((k for k in PROVIDER_FIELDS if k.casefold() == cname.casefold()), None)
        if known is None:
            c.warn("unknown element (kept as is)", child.sourceline, path)
            continue
        if known != cname:  # the casing real files use is not documented: the migration parser's casing is expected
            c.warn(f"written <{cname}>; Microsoft's parser reads <{known}>", child.sourceline, path)
        if known in p.fields:
            c.error(f"<{known}> appears twice in this provider (first on line {p.lines[known]})", child.sourceline, path)
            continue
        if len(child):
            c.error("must hold text, not elements", child.sourceline, path)
        p.fields[known] = _text(child)
        p.lines[known] = child.sourceline
    _check_provider(p, c)


def _check_provider(p: Provider, c: _Collector) -> None:
    def at(name: str) -> tuple[int, str]:
        return p.lines.get(name, p.line), f"{p.path}/{name}" if name in p.lines else p.path

    provider_class = p.get("ProviderClass")
    if not provider_class:
        c.error("the required element <ProviderClass> is missing or empty", *at("ProviderClass"))
    direction = p.get("Direction")
    if not direction:
        c.error("the required element <Direction> is missing or empty", *at("Direction"))
    elif direction not in ("Inbound", "Outbound"):
        c.warn(f"<Direction> {direction!r} is neither Inbound nor Outbound; the Email Router treats anything but Inbound as outgoing", *at("Direction"))
    short = (provider_class or "").removeprefix(PROVIDER_NAMESPACE)
    if provider_class and short in KNOWN_PROVIDERS and direction:
        expected = KNOWN_PROVIDERS[short]
        actual = "Inbound" if direction == "Inbound" else "Outbound"
        if expected != actual:
            c.error(f"{short} serves {expected.lower()} mail but <Direction> is {direction!r}", *at("Direction"))
    elif provider_class and short not in KNOWN_PROVIDERS:
        c.warn(f"custom provider class {provider_class!r}", *at("ProviderClass"))
    autodiscover = (p.get("UseAutoDiscover") or "").casefold() == "true"
    if not p.get("EmailServer") and not autodiscover:
        c.error("the required element <EmailServer> is missing or empty (and UseAutoDiscover is not true)", *at("EmailServer"))
    for name in PROVIDER_BOOLEANS:
        value = p.get(name)
        if value is not None and value.casefold() not in ("true", "false"):
            c.error(f"must be True or False (a .NET Boolean), not {value!r}", *at(name))
    port = p.get("EmailPort")
    if port is not None and port != "" and not (_number(port, 1) and int(port) <= 65535):
        c.error(f"must be a port number from 1 to 65535, not {port!r}", *at("EmailPort"))
    for name, choices in PROVIDER_CHOICES.items():
        value = p.get(name)
        if value and value not in choices and value.casefold() not in {x.casefold() for x in choices}:
            c.warn(f"{value!r} is not one of {', '.join(choices)}", *at(name))
    for name in ("UserId", "QueueId"):
        value = p.get(name)
        if value:
            try:
                uuid.UUID(value)
            except ValueError:
                c.error(f"must be a GUID, not {value!r}", *at(name))
    address = p.get("EmailAddress")
    if address is not None and address and "@" not in address:
        c.error(f"{address!r} is not an e-mail address", *at("EmailAddress"))
    url = p.get("CrmServerUrl")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme.casefold() not in ("http", "https") or not parts.netloc:
            c.error(f"must be an absolute http(s) URL, not {url!r}", *at("CrmServerUrl"))
    password = p.get("EmailPassword") or ""
    if password.startswith(ENCRYPTED_PREFIX) and _split_encrypted(password) is None:
        c.error("the encrypted password is malformed (expected the prefix, base64 ciphertext, '@', base64 IV)", *at("EmailPassword"))


def _duplicates(config: EmailAgentConfig, c: _Collector) -> None:
    seen: dict[tuple[str, ...], Provider] = {}
    for p in config.providers:
        direction = "Inbound" if p.get("Direction") == "Inbound" else "Outbound"
        owner = (p.get("UserId") or p.get("QueueId") or "").casefold()
        mailbox = (p.get("EmailAddress") or "").casefold()
        if not mailbox and not owner:
            continue
        key = (direction, mailbox, owner)
        first = seen.get(key)
        if first is not None:
            who = p.get("EmailAddress") or owner
            c.error(f"duplicate provider: {direction.lower()} {who} is already configured on line {first.line}", p.line, p.path)
        else:
            seen[key] = p


def check_organization(config: EmailAgentConfig, organization: str, file_name: str = CONFIG_FILE) -> list[Issue]:
    """CrmServerUrl's last path segment must be the organization name."""
    issues = []
    for p in config.providers:
        url = p.get("CrmServerUrl")
        if not url:
            continue
        segment = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
        if segment.casefold() != organization.casefold():
            issues.append(
                Issue(
                    "error",
                    file_name,
                    f"CrmServerUrl {url!r} ends in {segment!r}, not in the organization name {organization!r}",
                    p.lines.get("CrmServerUrl", p.line),
                    f"{p.path}/CrmServerUrl",
                )
            )
    return issues


# -- the other files -----------------------------------------------------------------------------------------------------
def parse_key(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[bytes | None, list[Issue]]:
    """EncryptionKey.xml: `<Encryption Key="base64"/>`; returns the key bytes (None when unusable) and issues."""
    root = parse_xml(data, KEY_FILE, max_bytes)
    c = _Collector(KEY_FILE)
    name = _name(root)
    if name != "Encryption":
        c.error(f"the root element must be <Encryption>, not <{name}>", root.sourceline, name)
        return None, c.issues
    value = root.get("Key")
    if not value:
        c.error("the Key attribute is missing or empty", root.sourceline, "Encryption")
        return None, c.issues
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        c.error("the Key attribute is not base64", root.sourceline, "Encryption")
        return None, c.issues
    return key, c.issues


def parse_state(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Issue]:
    """Microsoft.Crm.Tools.EmailAgent.SystemState.xml: root `State`."""
    root = parse_xml(data, STATE_FILE, max_bytes)
    c = _Collector(STATE_FILE)
    if _name(root) != "State":
        c.error(f"the root element must be <State>, not <{_name(root)}>", root.sourceline, _name(root))
    return c.issues


def _split_encrypted(value: str) -> tuple[bytes, bytes] | None:
    body = value[len(ENCRYPTED_PREFIX) :]
    cipher_b64, sep, iv_b64 = body.rpartition("@")
    if not sep:
        return None
    try:
        ciphertext = base64.b64decode(cipher_b64, validate=True)
        iv = base64.b64decode(iv_b64, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not ciphertext or not iv:
        return None
    return ciphertext, iv


def decrypts(value: str, key: bytes) -> bool | None:
    """Does `key` decrypt this EmailPassword (AES-CBC with PKCS7 padding)? None when it cannot be told (an IV or key size AES
    does not have, or no cryptography library). A wrong key fails the padding check except with a probability of about 1/256."""
    parts = _split_encrypted(value)
    if parts is None:
        return False
    ciphertext, iv = parts
    if not HAS_CRYPTOGRAPHY or len(iv) != 16 or len(key) not in (16, 24, 32):
        return None
    if len(ciphertext) % 16:
        return False
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    plain = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        unpadder.update(plain)
        unpadder.finalize()
    except ValueError:
        return False
    return True


# -- the whole set -------------------------------------------------------------------------------------------------------
@dataclass
class SetReport:
    files: dict[str, bytes]
    config: EmailAgentConfig | None
    issues: list[Issue]

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]


def validate_set(files: Mapping[str, bytes], organization: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> SetReport:
    """Check a configuration set (file name -> bytes; names as in SET_FILES, matched case-insensitively). Never raises for
    content problems: every problem is an Issue in the report."""
    canonical = {}
    issues: list[Issue] = []
    for name, data in files.items():
        known = next((k for k in SET_FILES if k.casefold() == name.casefold()), None)
        if known is None:
            continue
        canonical[known] = bytes(data)
    config: EmailAgentConfig | None = None
    if CONFIG_FILE not in canonical:
        issues.append(Issue("error", CONFIG_FILE, "the set has no Microsoft.Crm.Tools.EmailAgent.xml"))
    else:
        try:
            config, found = parse_email_agent(canonical[CONFIG_FILE], max_bytes)
            issues += found
            if organization and config is not None:
                issues += check_organization(config, organization)
        except EmailAgentError as e:
            issues += e.issues
            config = None
    key: bytes | None = None
    if KEY_FILE in canonical:
        try:
            key, found = parse_key(canonical[KEY_FILE], max_bytes)
            issues += found
        except EmailAgentError as e:
            issues += e.issues
    if STATE_FILE in canonical:
        try:
            issues += parse_state(canonical[STATE_FILE], max_bytes)
        except EmailAgentError as e:
            issues += e.issues
    else:
        issues.append(Issue("warning", STATE_FILE, "not in the set: the Email Router re-creates it, but mail already processed will be processed again"))
    if BIN_FILE in canonical:
        if len(canonical[BIN_FILE]) > max_bytes:
            issues.append(Issue("error", BIN_FILE, f"the file is {len(canonical[BIN_FILE])} bytes, more than the limit of {max_bytes} bytes"))
        elif not canonical[BIN_FILE]:
            issues.append(Issue("error", BIN_FILE, "the file is empty; the Configuration Manager cannot read it"))
    if config is not None:
        issues += _key_rules(config, key, KEY_FILE in canonical)
    return SetReport(canonical, config, issues)


def _key_rules(config: EmailAgentConfig, key: bytes | None, has_key_file: bool) -> list[Issue]:
    encrypted = config.encrypted_passwords
    if not encrypted:
        return []
    lines = ", ".join(str(p.lines.get("EmailPassword", p.line)) for p in encrypted)
    if not has_key_file:
        return [
            Issue(
                "error",
                CONFIG_FILE,
                f"EmailPassword values on line(s) {lines} are encrypted, but the set has no EncryptionKey.xml: "
                "restore the key from the same backup, or the Email Router cannot decrypt them",
                encrypted[0].lines.get("EmailPassword", encrypted[0].line),
                f"{encrypted[0].path}/EmailPassword",
            )
        ]
    if key is None:
        return []  # the key file's own error is already reported
    issues = []
    for p in encrypted:
        if _split_encrypted(p.get("EmailPassword") or "") is None:
            continue  # reported as malformed already
        ok = decrypts(p.get("EmailPassword") or "", key)
        line = p.lines.get("EmailPassword", p.line)
        if ok is False:
            issues.append(
                Issue(
                    "error", CONFIG_FILE, "EncryptionKey.xml in this set does not decrypt this password (not the matching key)", line, f"{p.path}/EmailPassword"
                )
            )
        elif ok is None:
            issues.append(Issue("warning", CONFIG_FILE, "cannot check that EncryptionKey.xml decrypts this password", line, f"{p.path}/EmailPassword"))
    return issues


# -- rendering from a definition -----------------------------------------------------------------------------------------
SYSTEM_OPTIONS = {
    "max_threads": "MaxThreads",
    "max_thread_execution": "MaxThreadExecution",
    "scheduling_period": "SchedulingPeriod",
    "config_refresh_period": "ConfigRefreshPeriod",
    "config_update_period": "ConfigUpdatePeriod",
    "log_level": "LogLevel",
    "log_file": "LogFile",
}
OVERRIDE_OPTIONS = {
    "cache_capacity": "CacheCapacity",
    "pending_status_delay": "PendingStatusDelay",
    "sending_status_delay": "SendingStatusDelay",
    "maximum_delivery_attempts": "MaximumDeliveryAttempts",
    "ews_retrieve_message_count": "EWSRetrieveMessageCount",
    "batch_size": "BatchSize",
    "request_batch_size": "RequestBatchSize",
}
# Sample values from Microsoft's description of the file (S1): the defaults a definition gets.
SYSTEM_DEFAULTS = {
    "max_threads": 50,
    "max_thread_execution": 600000,
    "scheduling_period": 1000,
    "config_refresh_period": 5000,
    "config_update_period": 300000,
    "log_level": 1,
}
PROFILE_OPTIONS = {
    "provider_class": "ProviderClass",
    "protocol": "Protocol",
    "email_server_type": "EmailServerType",
    "email_server_version": "EmailServerVersion",
    "email_server": "EmailServer",
    "port": "EmailPort",
    "use_ssl": "EmailUseSSL",
    "use_autodiscover": "UseAutoDiscover",
    "auth_mode": "EmailAuthMode",
    "access_credentials": "AccessCredentials",
    "user": "EmailUser",
    "password": "EmailPassword",
    "use_delegate": "EmailUseDelegate",
    "exchange_online_profile_type": "ExchangeOnlineProfileType",
}
PROFILE_DEFAULTS = {
    "incoming": {"provider_class": "ExchangePollingMailboxProvider", "protocol": "EWS"},
    "outgoing": {"provider_class": "SmtpPollingSendEmailProvider", "protocol": "SMTP"},
}


class DefinitionError(Exception):
    """A definition that cannot be rendered (unknown profile, wrong direction...); the message names the item."""


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def render_definition(definition: Mapping[str, Any]) -> bytes:
    """Microsoft.Crm.Tools.EmailAgent.xml from a declared definition (the email_router_config module's `definition` option).

    Each user, queue and forward mailbox becomes one ProviderConfiguration per direction it has a profile for, carrying the
    profile's server settings plus its own EmailAddress and UserId/QueueId (profiles themselves are not elements of the file)."""
    if missing_libraries():
        raise DefinitionError(f"the controller needs the Python libraries {', '.join(missing_libraries())}")
    profiles: dict[str, dict[str, Any]] = {}
    for i, profile in enumerate(definition.get("profiles") or []):
        name = profile.get("name")
        if not name:
            raise DefinitionError(f"definition.profiles[{i}]: name is required")
        if name.casefold() in profiles:
            raise DefinitionError(f"definition.profiles[{i}]: a profile named {name!r} is already defined")
        profiles[name.casefold()] = dict(profile)
    root = etree.Element("Configuration")
    system = etree.SubElement(root, "SystemConfiguration")
    system_def = {**SYSTEM_DEFAULTS, **{k: v for k, v in (definition.get("system") or {}).items() if v is not None}}
    for option, element in SYSTEM_OPTIONS.items():
        if system_def.get(option) is not None:
            etree.SubElement(system, element).text = _value(system_def[option])
    overrides = {k: v for k, v in ((definition.get("system") or {}).get("provider_overrides") or {}).items() if v is not None}
    if overrides:
        node = etree.SubElement(system, "ProviderOverrides")
        for option, element in OVERRIDE_OPTIONS.items():
            if option in overrides:
                etree.SubElement(node, element).text = _value(overrides[option])
    default_url = definition.get("crm_server_url")
    mailboxes = [("users", "UserId", "user_id"), ("queues", "QueueId", "queue_id"), ("forward_mailboxes", None, None)]
    for group, id_element, id_option in mailboxes:
        for i, item in enumerate(definition.get(group) or []):
            where = f"definition.{group}[{i}]"
            directions = ("incoming",) if group == "forward_mailboxes" else ("incoming", "outgoing")
            used = [d for d in directions if item.get(f"{d}_profile")]
            if not used:
                raise DefinitionError(f"{where}: needs {' or '.join(f'{d}_profile' for d in directions)}")
            for direction in used:
                profile_name = item[f"{direction}_profile"]
                profile = profiles.get(str(profile_name).casefold())
                if profile is None:
                    raise DefinitionError(f"{where}.{direction}_profile: no profile named {profile_name!r} in definition.profiles")
                if profile.get("direction", "incoming") != direction:
                    raise DefinitionError(f"{where}.{direction}_profile: profile {profile_name!r} is an {profile.get('direction')} profile")
                settings = {**PROFILE_DEFAULTS[direction], **{k: v for k, v in profile.items() if v is not None}}
                if group == "forward_mailboxes":
                    settings.update({k: item[k] for k in ("user", "password") if item.get(k) is not None})
                url = item.get("crm_server_url") or default_url
                provider = etree.SubElement(root, "ProviderConfiguration")
                values: dict[str, Any] = {PROFILE_OPTIONS[k]: v for k, v in settings.items() if k in PROFILE_OPTIONS}
                short = str(values["ProviderClass"])
                values["ProviderClass"] = short if "." in short else PROVIDER_NAMESPACE + short
                values["Direction"] = "Inbound" if direction == "incoming" else "Outbound"
                if url:
                    values["CrmServerUrl"] = url
                if group == "forward_mailboxes":
                    values["IsForwardMailbox"] = True
                    values["DeleteEmails"] = bool(item.get("delete_emails", False))
                values["EmailAddress"] = item.get("email")
                if id_element:
                    values[id_element] = item.get(id_option)
                for element in PROVIDER_FIELDS:
                    if values.get(element) is not None:
                        etree.SubElement(provider, element).text = _value(values[element])
    etree.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + etree.tostring(root, encoding="utf-8", pretty_print=True)


def definition_secrets(definition: Mapping[str, Any]) -> list[str]:
    """Every password value a definition carries (for masking)."""
    out = [p.get("password") for p in definition.get("profiles") or []]
    out += [m.get("password") for m in definition.get("forward_mailboxes") or []]
    return [s for s in out if s]


# -- normalising, redacting, diffing -------------------------------------------------------------------------------------
def _strip_layout(root: Any) -> Any:
    """Drop whitespace-only text between elements (indentation) and comments; element text stays as written."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if len(el) and el.text is not None and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    for comment in root.xpath("//comment()"):
        parent = comment.getparent()
        if parent is not None:
            parent.remove(comment)
    return root


def normalise(name: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """A canonical form for comparing two versions of a set file: canonical XML (C14N 2.0) without layout and comments,
    so encoding, BOM, indentation and attribute order do not count as changes; other files as they are."""
    if name not in XML_FILES:
        return bytes(data)
    try:
        root = parse_xml(data, name, max_bytes)
    except EmailAgentError:
        return bytes(data)
    return etree.tostring(_strip_layout(root), method="c14n2")


def same_file(name: str, a: bytes | None, b: bytes | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or normalise(name, a) == normalise(name, b)


def changed_files(current: Mapping[str, bytes | None], new: Mapping[str, bytes | None]) -> list[str]:
    """Set files that differ between the current and the new set (a file only on one side counts)."""
    return [name for name in SET_FILES if not same_file(name, current.get(name), new.get(name))]


def _secret_values(root: Any) -> dict[str, str]:
    """Element path -> secret text (passwords) and attribute path -> key."""
    tree = root.getroottree()
    out = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if _SECRET_ELEMENT.search(el.tag) and el.text:
            out[tree.getpath(el)] = el.text
        for attr, value in el.attrib.items():
            if attr.casefold() == "key" or _SECRET_ELEMENT.search(attr):
                out[f"{tree.getpath(el)}/@{attr}"] = value
    return out


def redacted_text(name: str, data: bytes | None, other: bytes | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Readable text of a set file with every password and key replaced by REDACTED. A secret that differs from the one at
    the same place in `other` shows as 'REDACTED (changed)', so a diff tells that it changed, never what it is."""
    if data is None:
        return ""
    if name not in XML_FILES:
        return f"<binary file, {len(data)} bytes>\n"
    try:
        root = _strip_layout(parse_xml(data, name, max_bytes))
    except EmailAgentError as e:
        return f"<unreadable: {e.issues[0].message}>\n"
    theirs: dict[str, str] = {}
    if other is not None and name in XML_FILES:
        try:
            theirs = _secret_values(parse_xml(other, name, max_bytes))
        except EmailAgentError:
            theirs = {}
    tree = root.getroottree()
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        path = tree.getpath(el)
        if _SECRET_ELEMENT.search(el.tag) and el.text:
            el.text = REDACTED if other is None or theirs.get(path) == el.text else f"{REDACTED} (changed)"
        for attr in list(el.attrib):
            if attr.casefold() == "key" or _SECRET_ELEMENT.search(attr):
                same = other is None or theirs.get(f"{path}/@{attr}") == el.get(attr)
                el.set(attr, REDACTED if same else f"{REDACTED} (changed)")
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode", pretty_print=True)


def diff_sets(current: Mapping[str, bytes | None], new: Mapping[str, bytes | None], folder: str = "") -> list[dict[str, str]]:
    """Ansible diff entries (one per changed file) with secrets redacted."""
    out = []
    prefix = folder.rstrip("\\/") + "\\" if folder else ""
    for name in changed_files(current, new):
        before, after = current.get(name), new.get(name)
        out.append(
            {
                "before_header": prefix + name + ("" if before is not None else " (absent)"),
                "after_header": prefix + name + ("" if after is not None else " (absent)"),
                "before": redacted_text(name, before),
                "after": redacted_text(name, after, before if before is not None else None),
            }
        )
    return out


def unified_diff(entries: list[dict[str, str]]) -> str:
    """The diff entries as one unified diff text (for reports and tests)."""
    lines: list[str] = []
    for e in entries:
        lines += difflib.unified_diff(
            e["before"].splitlines(keepends=True), e["after"].splitlines(keepends=True), fromfile=e["before_header"], tofile=e["after_header"]
        )
    return "".join(lines)
