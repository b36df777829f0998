"""User simulators for multi-turn rollouts (rs stage): scripted, template (goal- and fact-aware) and model-backed.
Pure Python; no torch (a model user is handed its engine)."""

from steep.simulate.model_user import ModelUser, ModelUserConfig, ScriptedUserConfig, TemplateUserConfig, UserConfig, next_turns, user_factory
from steep.simulate.user import Scenario, ScenarioFact, ScriptedUser, TemplateUser, UserSimulator, UserTurn, load_scenarios, mentions

__all__ = [
    "ModelUser", "ModelUserConfig", "Scenario", "ScenarioFact", "ScriptedUser", "ScriptedUserConfig", "TemplateUser",
    "TemplateUserConfig", "UserConfig", "UserSimulator", "UserTurn", "load_scenarios", "mentions", "next_turns", "user_factory",
]  # fmt: skip
