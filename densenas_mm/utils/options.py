"""Checked reading of numeric config options (``--cfg-options`` gives
strings, ``nan`` and ``inf`` as easily as numbers).

Each reader names the option and the value it refuses and says what is
allowed, so a user meets ``model.sample_seed must be an integer, got 'abc'
(str)`` at build time instead of a bare ``int()`` error or a run that
silently does the wrong thing.
"""
import math
import numbers
from typing import Any, Optional


class ConfigError(ValueError):
    """Raised for a config option with a wrong type or value (the message
    names the option, the value and what is allowed)."""


def _shown(value: Any) -> str:
    """``value`` with its type, as the messages show it."""
    return f'{value!r} ({type(value).__name__})'


def option_int(name: str, value: Any, minimum: Optional[int] = None) -> int:
    """An integer option (a bool, float or string is refused).

    Args:
        name (str): The option as the config spells it, e.g.
            ``'train_cfg.max_epochs'``.
        value: Its value.
        minimum (int, optional): The smallest value allowed.

    Returns:
        int: The value.

    Raises:
        ConfigError: For another type or a value below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            hint = f'; write {int(value)}'
        else:
            hint = ''
        raise ConfigError(f'{name} must be an integer, got {_shown(value)}'
                          f'{hint}')
    if minimum is not None and value < minimum:
        raise ConfigError(f'{name} must be >= {minimum}, got {value}')
    return int(value)


def option_float(name: str, value: Any) -> float:
    """A finite real option (ints allowed; a bool, string, NaN or inf is
    refused).

    Args:
        name (str): The option as the config spells it.
        value: Its value.

    Returns:
        float: The value.

    Raises:
        ConfigError: For another type or a value that is not finite.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f'{name} must be a number, got {_shown(value)}')
    if not math.isfinite(value):
        raise ConfigError(f'{name} must be a finite number, got {value}')
    return float(value)
