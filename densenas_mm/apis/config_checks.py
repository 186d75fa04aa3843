"""Checks of a run's config before anything is built (the file itself is
read by :func:`~densenas_mm.utils.config_file.load_config`, which names
syntax errors by file and line): ``--cfg-options`` paths, the
numeric options that would otherwise fail late or silently
(``train_cfg.max_epochs``, ``model.cost_loss.loss_weight``,
``model.sample_seed``) and ``--work-dir``.

``tools/train.py`` and ``tools/test.py`` (through
:mod:`densenas_mm.apis.launch`) report each problem as one ``error:`` line
(a :class:`~densenas_mm.utils.options.ConfigError`).
"""
import os
from typing import Any, Dict, List, Optional

from mmengine.config import Config

from densenas_mm.utils.config_file import load_config
from densenas_mm.utils.io import prepare_output_dir
from densenas_mm.utils.options import ConfigError, option_float, option_int

__all__ = ['check_run_options', 'load_config', 'merge_cfg_options']

_MISSING = object()


def _index_problem(cfg: Config, key: str) -> Optional[str]:
    """Why ``key`` (``a.0.b``) cannot be set by ``--cfg-options``: a number
    that indexes a missing entry (mmengine would create a dict ``{'0':
    ...}`` where a list was meant), a scalar, or past a list's end."""
    node: Any = cfg._cfg_dict
    parts = key.split('.')
    for i, part in enumerate(parts):
        here = '.'.join(parts[:i])
        # a number indexes a list; a dict may have such keys (mmengine
        # sets them), a missing entry or a scalar has none
        if part.isdigit() and i > 0 and not isinstance(node, dict):
            if isinstance(node, (list, tuple)):
                if int(part) >= len(node):
                    return (f'{here} has {len(node)} entries, so there is '
                            f'no entry {part} to change; replace the whole '
                            f'list instead: {here}="[dict(...), ...]"')
                node = node[int(part)]
                continue
            what = (f'the config has no {here} list' if node is _MISSING
                    else f"the config's {here} is a {type(node).__name__}, "
                    'not a list')
            return (f'{what}, so there is no entry {part} to change. Give '
                    f'the whole list instead, e.g. --cfg-options '
                    f'"{here}=[dict(type=...)]", or add `{here} = [...]` '
                    'to the config')
        node = node.get(part, _MISSING) if isinstance(node, dict) \
            else _MISSING
    return None


def merge_cfg_options(cfg: Config, options: Optional[Dict[str, Any]]) -> None:
    """Merge ``--cfg-options`` into ``cfg`` after checking that every
    numbered key indexes an existing list entry.

    Raises:
        ConfigError: For ``custom_hooks.0.x=...`` on a config without
            ``custom_hooks`` (and any other index into a non-list), naming
            the key and how to give the list.
    """
    if not options:
        return
    problems = []
    for key in options:
        problem = _index_problem(cfg, key)
        if problem:
            problems.append(f'--cfg-options {key}=...: {problem}')
    if problems:
        raise ConfigError('; '.join(problems))
    cfg.merge_from_dict(options)


def check_run_options(cfg: Config) -> List[str]:
    """Check the options of a merged config that fail late or silently.

    ``train_cfg.max_epochs`` / ``max_iters`` are integers >= 1 (0 or -1
    would train nothing, or fail in the scheduler);
    ``model.cost_loss.loss_weight`` is a finite number (a negative one warns
    when the loss is built); ``model.sample_seed`` is an integer;
    ``budget_window`` lies in [0, 1); ``work_dir`` is not a file.

    Args:
        cfg (Config): The merged config.

    Returns:
        list[str]: The options checked (for tests and logs).

    Raises:
        ConfigError: Naming the option, its value and what is allowed.
        OutputPathError: If ``work_dir`` is an existing file.
    """
    checked = []
    train_cfg = cfg.get('train_cfg')
    if isinstance(train_cfg, dict):
        for key in ('max_epochs', 'max_iters'):
            if key in train_cfg:
                option_int(f'train_cfg.{key}', train_cfg[key], minimum=1)
                checked.append(f'train_cfg.{key}')
    model = cfg.get('model')
    if isinstance(model, dict):
        cost_loss = model.get('cost_loss')
        if isinstance(cost_loss, dict) and 'loss_weight' in cost_loss:
            option_float('model.cost_loss.loss_weight',
                         cost_loss['loss_weight'])
            checked.append('model.cost_loss.loss_weight')
        if 'sample_seed' in model:
            option_int('model.sample_seed', model['sample_seed'])
            checked.append('model.sample_seed')
    if 'budget_window' in cfg:
        window = option_float('budget_window', cfg['budget_window'])
        if not 0 <= window < 1:
            raise ConfigError(
                f'budget_window must lie in [0, 1) (the share of a latency '
                f'budget below it a budget net may lie), got {window}')
        checked.append('budget_window')
    work_dir = cfg.get('work_dir')
    if work_dir:
        # checked only: a refused config leaves nothing behind
        prepare_output_dir(os.fspath(work_dir), '--work-dir', create=False)
        checked.append('work_dir')
    return checked
