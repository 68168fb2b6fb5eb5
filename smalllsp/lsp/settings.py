"""Client settings and who may change them: initializationOptions and didChangeConfiguration.

The user's start-up choice (the environment, the command line,
initializationOptions) may set anything. A change from
``workspace/didChangeConfiguration``, which may carry a workspace's values,
may not change a ``user_only`` setting (config.Setting.user_only) unless the
server started with ``--allow-remote-settings``, and ``remote_api_key_env``
may only ever name a variable named at start-up. Messages name settings,
never their values.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from smalllsp.config import Config


class SettingsPolicy:
    """Merges client settings into the current ones; says what it refused or could not read."""

    def __init__(self, config: Config, *, allow_remote_settings: bool = False) -> None:
        self.allow_remote_settings = allow_remote_settings
        # The variables remote_api_key_env may name: the default and those named at start-up.
        self.key_envs = {Config().remote_api_key_env, config.remote_api_key_env}
        self._reported: set[str] = set()  # problems already told: each is told once a session

    def merge(self, old: Config, values: Any, *, at_start: bool) -> tuple[Config, list[str]]:
        """The settings after ``values``, and the warnings to show the user."""
        if values is not None and not isinstance(values, dict):
            return old, [f"smalllsp: settings must be an object, got {type(values).__name__}"]
        warnings = []
        merged, problems = old.merged(values)
        for problem in problems:
            if problem not in self._reported:  # VS Code sends the same settings on every change
                self._reported.add(problem)
                warnings.append(f"smalllsp: {problem}")
        refused = [] if at_start or self.allow_remote_settings else old.user_only_changes(merged)
        if refused:
            merged = dataclasses.replace(merged, **{name: getattr(old, name) for name in refused})
            warnings.append(
                f"smalllsp: refused a change of {', '.join(refused)} from workspace/didChangeConfiguration: these settings "
                "move data off the machine or read files, so they come only from the start-up settings (the editor's "
                "user settings, the environment, the command line); restart the server to apply them, or start it "
                "with --allow-remote-settings"
            )
        if at_start:
            self.key_envs.add(merged.remote_api_key_env)
        elif merged.remote_api_key_env not in self.key_envs:
            merged = dataclasses.replace(merged, remote_api_key_env=old.remote_api_key_env)
            warnings.append(
                "smalllsp: refused remote_api_key_env: it may name only a variable named at start-up"
            )
        return merged, warnings
