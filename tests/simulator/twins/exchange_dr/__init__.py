"""Twins of this collection's own modules (exchange_dr.recovery.*), one file per module; see docs/developing.md."""
