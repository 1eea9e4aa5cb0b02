# Copyright: (c) 2026, exchange_dr.recovery maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Findings about an Email Router configuration set: each names the file, line and element it is about.

For internal collection use only.
"""

from __future__ import annotations

from dataclasses import dataclass


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


class IssueCollector:
    """Collects the issues found in one file, in the order they are found."""

    def __init__(self, file_name: str) -> None:
        self.file = file_name
        self.issues: list[Issue] = []

    def error(self, message: str, line: int | None = None, element: str | None = None) -> None:
        self.issues.append(Issue("error", self.file, message, line, element))

    def warn(self, message: str, line: int | None = None, element: str | None = None) -> None:
        self.issues.append(Issue("warning", self.file, message, line, element))
