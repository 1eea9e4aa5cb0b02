"""Twins: Python implementations of the Windows modules the simulator models, keyed by full module name.

A twin is a function decorated with ``@twin("ns.coll.module")`` that receives a :class:`ModuleRun`; see DESIGN.md.
"""

from simulator.twins._framework import REGISTRY, ModuleRun, TwinInfo, load_twins, run_module, twin

__all__ = ["REGISTRY", "ModuleRun", "TwinInfo", "load_twins", "run_module", "twin"]
