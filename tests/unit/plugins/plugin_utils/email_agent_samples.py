"""Email Router configuration sets for the _email_agent_* tests: a provider, a configuration file, a key, an encrypted password."""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_issues import Issue
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_model import ENCRYPTED_PREFIX
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_validate import SetReport

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SECRET = "Mailbox-Passw0rd!"


def encrypt(plain: str, key: bytes = KEY) -> str:
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plain.encode("utf-8")) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = enc.update(data) + enc.finalize()
    return ENCRYPTED_PREFIX + base64.b64encode(ct).decode() + "@" + base64.b64encode(iv).decode()


def key_file(key: bytes = KEY) -> bytes:
    return f'<Encryption Key="{base64.b64encode(key).decode()}"/>'.encode()


def provider(**fields: str) -> str:
    base = {
        "ProviderClass": "Microsoft.Crm.Tools.Email.Providers.ExchangePollingMailboxProvider",
        "CrmServerUrl": "https://crm.contoso.local/Contoso",
        "Direction": "Inbound",
        "Protocol": "EWS",
        "EmailServer": "https://mail.contoso.local/EWS/Exchange.asmx",
        "EmailAuthMode": "WindowsAuthentication",
        "AccessCredentials": "Other",
        "EmailUser": "CONTOSO\\svc-crm",
        "EmailPassword": SECRET,
        "EmailAddress": "alice@contoso.local",
        "UserId": "11111111-2222-3333-4444-555555555555",
    }
    base.update(fields)
    inner = "".join(f"\n    <{k}>{v}</{k}>" for k, v in base.items() if v is not None)
    return f"\n  <ProviderConfiguration>{inner}\n  </ProviderConfiguration>"


def config(*providers: str, system: str = "<MaxThreads>50</MaxThreads><SchedulingPeriod>1000</SchedulingPeriod><LogLevel>1</LogLevel>") -> bytes:
    head = '<?xml version="1.0" encoding="utf-8"?>\n<Configuration>\n'
    return f"{head}  <SystemConfiguration>{system}</SystemConfiguration>{''.join(providers)}\n</Configuration>\n".encode()


GOOD = config(provider())
STATE = b"<State><mailbox><emailaddress>alice@contoso.local</emailaddress><thresholddate>2024-05-01</thresholddate></mailbox></State>"


def errors(report: SetReport) -> list[str]:
    return [str(i) for i in report.errors]


def only_error(report: SetReport) -> Issue:
    assert len(report.errors) == 1, errors(report)
    return report.errors[0]
