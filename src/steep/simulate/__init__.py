"""User simulators for multi-turn rollouts (rs stage). Pure Python; no torch."""

from steep.simulate.user import Scenario, ScriptedUser, UserSimulator, load_scenarios

__all__ = ["Scenario", "ScriptedUser", "UserSimulator", "load_scenarios"]
