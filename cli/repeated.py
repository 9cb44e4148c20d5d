"""An option that takes one value may be given once: `--json a --json b` would silently
keep b and drop a (click keeps the last). Options declared to repeat (`--input`,
`--cfg-options`, `--model-arg`) may repeat."""

from __future__ import annotations

from typing import Any

from .failures import UsageError


def refuse_repeated_options(group: Any, args: list[str]) -> None:
    """UsageError naming the first single-value option of the subcommand given twice."""
    commands = getattr(group, "commands", {})
    index = next((i for i, arg in enumerate(args) if arg in commands), None)
    if index is None:
        return
    command = commands[args[index]]
    takes_value: dict[str, Any] = {}
    for param in command.params:
        if getattr(param, "param_type_name", "") != "option":
            continue
        for name in (*param.opts, *param.secondary_opts):
            takes_value[name] = param
    seen: dict[int, str] = {}
    rest = args[index + 1 :]
    i = 0
    while i < len(rest):
        token = rest[i]
        i += 1
        if token == "--":
            break
        name = token.split("=", 1)[0] if token.startswith("--") else token
        param = takes_value.get(name)
        if param is None:
            continue
        if not param.is_flag and "=" not in token:
            i += param.nargs if param.nargs > 0 else 1  # its value(s), whatever they look like
        if param.multiple or param.is_flag:
            continue
        if id(param) in seen:
            raise UsageError(
                f"{seen[id(param)]} is given twice; give it once (only one value is used)"
            )
        seen[id(param)] = name
