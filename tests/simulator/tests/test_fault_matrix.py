"""The fault matrix's quick rows in `make test` (the full matrix is `make faults`, tests/tools/fault_matrix.py).

Each row starts the demo estate, runs the DR run with the fault on, then again with it off, and must show a clear error (or
tolerate the fault), lose nothing (every file of every host hashed before and after, read without the server) and complete
on the rerun with the Email Router running the backup's configuration set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.fault_matrix import ROWS, ROWS_BY_KEY, run_row, table

pytestmark = pytest.mark.slow

QUICK = [row.key for row in ROWS if row.quick]


def test_the_quick_rows_are_lost_base_rows() -> None:
    """make test builds no recovered base: its rows start from the demo estate."""
    assert QUICK and all(ROWS_BY_KEY[k].base == "lost" for k in QUICK)


@pytest.mark.parametrize("key", QUICK)
def test_fault_row(key: str, tmp_path: Path) -> None:
    result = run_row(ROWS_BY_KEY[key], tmp_path)
    described = "\n".join(table([result]))
    assert not result.problem, described
    assert result.error_shown, described
    assert result.lost == [], described
    assert result.rerun_completes, described
