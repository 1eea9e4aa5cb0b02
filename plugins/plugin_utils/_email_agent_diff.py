# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The diff between two Email Router configuration sets, as Ansible diff entries with every secret redacted.

For internal collection use only. Only files that differ once normalised get an entry (``_email_agent_normalise``); both
sides are redacted text (``_email_agent_redact``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_normalise import changed_files
from ansible_collections.exchange_dr.recovery.plugins.plugin_utils._email_agent_redact import redacted_text


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
