# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The files of a Dynamics CRM Email Router configuration set, and the size limit for reading one.

For internal collection use only. The set is the files the Email Router service keeps in its Service folder
(facts: the project's email-router-facts.md):

- ``Microsoft.Crm.Tools.EmailAgent.xml``: the configuration (``_email_agent_parse``).
- ``EncryptionKey.xml``: the AES key that decrypts the ``EmailPassword`` values (``_email_agent_keys``).
- ``Microsoft.Crm.Tools.EmailAgent.SystemState.xml``: root ``State``; re-created when missing, but then mail is reprocessed.
- ``Microsoft.Crm.Tools.EmailAgent.Configuration.bin``: what the Configuration Manager reads (opaque here).
"""

from __future__ import annotations

CONFIG_FILE = "Microsoft.Crm.Tools.EmailAgent.xml"
KEY_FILE = "EncryptionKey.xml"
STATE_FILE = "Microsoft.Crm.Tools.EmailAgent.SystemState.xml"
BIN_FILE = "Microsoft.Crm.Tools.EmailAgent.Configuration.bin"
SET_FILES = (CONFIG_FILE, KEY_FILE, STATE_FILE, BIN_FILE)
XML_FILES = (CONFIG_FILE, KEY_FILE, STATE_FILE)

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
