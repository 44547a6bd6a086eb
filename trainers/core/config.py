"""Frozen dataclass configs built from `--key=value` strings, strictly.

Every family has one frozen dataclass config. Unknown keys are an error naming the key and the
valid ones; values are converted to the field's declared type, never guessed.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

from .errors import UserError


def field_types(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _convert(key: str, value: Any, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return _convert(key, value, inner[0])
    if origin is typing.Literal:
        if value not in args:
            raise UserError(f"--{key}={value!r} is not valid; choose one of {', '.join(map(str, args))}")
        return value
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.replace("(", "").replace(")", "").split(",") if v.strip()]
        return tuple(_convert(key, v, args[0]) for v in value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise UserError(f"--{key}={value!r} is not a boolean; use true or false")
    if tp in (int, float):
        try:
            out = tp(value) if tp is float else int(str(value), 10) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            raise UserError(f"--{key}={value!r} is not a valid {tp.__name__}") from None
        if tp is float and not math.isfinite(out):
            raise UserError(f"--{key}={value!r} must be a finite number")
        return out
    if tp is str:
        return str(value)
    return value


def build_config(cls, values: dict[str, Any]):
    """Build `cls` from a mapping of strings or typed values; unknown keys are an error."""
    types = field_types(cls)
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise UserError(
            f"unknown option(s) for {cls.__name__}: {', '.join('--' + k for k in unknown)}; "
            f"valid options are {', '.join('--' + k for k in types)}"
        )
    kwargs = {k: _convert(k, v, types[k]) for k, v in values.items()}
    cfg = cls(**kwargs)
    check = getattr(cfg, "validate", None)
    if check is not None:
        check()
    return cfg


def config_to_dict(cfg) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(cfg).items()}


def parse_options(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """Split argv into positionals and `--key=value` / `--key value` / `--flag` options.

    Dashes in keys become underscores (`--max-minutes` == `--max_minutes`).
    """
    positionals: list[str] = []
    options: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--") and len(arg) > 2:
            key, eq, value = arg[2:].partition("=")
            key = key.replace("-", "_")
            if not eq:
                if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                    value = argv[i + 1]
                    i += 1
                else:
                    value = "true"
            if key in options:
                raise UserError(f"--{key} given twice")
            options[key] = value
        else:
            positionals.append(arg)
        i += 1
    return positionals, options
