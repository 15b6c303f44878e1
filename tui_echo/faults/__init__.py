"""Faults: the SPEC grammar people write, and what a fault does to a client's bytes."""

from __future__ import annotations

from tui_echo.faults.scenario import Scenario
from tui_echo.faults.scenario_file import load_scenario, parse_scenario
from tui_echo.faults.spec import FaultActivity, FaultSpec, FaultTarget, fault_text

__all__ = [
    "FaultActivity",
    "FaultSpec",
    "FaultTarget",
    "Scenario",
    "fault_text",
    "load_scenario",
    "parse_scenario",
]
