"""Entry point: `python -m simulator start|stop|status|serve|fault|inventory` (see README.md)."""

from __future__ import annotations

import sys

from simulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
