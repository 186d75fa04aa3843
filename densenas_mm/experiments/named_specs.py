"""Named search specs: ``NAME=CONFIG[,KEY=VALUE...]``.

A spec names a search config and its own ``--cfg-options`` (``KEY=VALUE``
items after the config, comma-separated; a list value needs a config
file). The one grammar of the options the ranking study compares
(:mod:`.ranking_options`, ``--option``) and of the extra searched arms of
the searched-vs-random protocol (:mod:`.searched_arms`, ``--extra-arm``).
"""
import os.path as osp
from typing import Dict, List, Sequence, Tuple

from densenas_mm.utils.options import ConfigError
from .paths import repo_path


def split_spec(spec: str) -> Tuple[str, List[str]]:
    """``CONFIG[,KEY=VALUE...]`` as the config and its options.

    Raises:
        ConfigError: An option without ``=``.
    """
    config, *extra = spec.split(',')
    for item in extra:
        if '=' not in item:
            raise ConfigError(f'option spec {spec!r}: {item!r} is not '
                              'KEY=VALUE (give CONFIG[,KEY=VALUE...]; a '
                              'list value needs a config file)')
    return config, extra


def parse_named_specs(pairs: Sequence[str],
                      flag: str,
                      example: str,
                      reserved: Sequence[str] = (),
                      identifiers: bool = False) -> Dict[str, str]:
    """``NAME=CONFIG[,KEY=VALUE...]`` pairs as an ordered dict of name ->
    spec.

    Args:
        pairs (Sequence[str]): The pairs as given.
        flag (str): The option that gave them (for the messages).
        example (str): A valid pair (for the messages).
        reserved (Sequence[str]): Names that may not be used.
        identifiers (bool): Names must be plain identifiers (letters,
            digits, ``_``; not starting with a digit).

    Raises:
        ConfigError: A pair without ``=``, a repeated, reserved or (with
            ``identifiers``) non-identifier name, or a bad spec.
    """
    out: Dict[str, str] = {}
    for pair in pairs:
        name, sep, spec = pair.partition('=')
        if not sep or not name or not spec:
            raise ConfigError(f'{flag} {pair!r}: give NAME=CONFIG'
                              f'[,KEY=VALUE...], e.g. {example}')
        if identifiers and not (name.isidentifier() and name.isascii()):
            raise ConfigError(f'{flag} name {name!r} is not a plain '
                              'identifier (letters, digits and _, not '
                              'starting with a digit)')
        if name in reserved:
            raise ConfigError(f'{flag} name {name!r} is reserved (the '
                              f"names {', '.join(reserved)} are taken): "
                              'choose another')
        if name in out:
            raise ConfigError(f'{flag} name {name!r} given twice')
        split_spec(spec)
        out[name] = spec
    return out


def spec_config(name: str, spec: str, what: str) -> str:
    """The config file of a spec: the path as given where it exists, else
    the same path inside the checkout.

    Raises:
        ConfigError: Neither exists.
    """
    config, _ = split_spec(spec)
    for path in (config, repo_path(config)):
        if osp.isfile(path):
            return path
    raise ConfigError(f'{what} {name!r}: config {config!r} not found '
                      '(paths are relative to the checkout)')


def check_spec_configs(specs: Dict[str, str], what: str) -> None:
    """Every spec's config exists (:func:`spec_config`).

    Raises:
        ConfigError: A config that does not exist.
    """
    for name, spec in specs.items():
        spec_config(name, spec, what)


__all__ = [
    'check_spec_configs', 'parse_named_specs', 'spec_config', 'split_spec'
]
