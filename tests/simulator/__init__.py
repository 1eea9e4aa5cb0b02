"""A Python stand-in for Windows Server hosts that unmodified ansible-core + pywinrm drive over real WinRM.

See DESIGN.md for the layers and the contract between them, README.md for how to run an estate by hand.
"""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"
