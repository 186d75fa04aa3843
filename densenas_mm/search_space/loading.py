"""Find the search space in a config (a space preset or a full config)."""
import os
import os.path as osp
from typing import Any, Dict, List

from .errors import SearchSpaceError
from .spec import SearchSpace


def search_space_from_cfg(cfg: Any) -> SearchSpace:
    """Return the :class:`SearchSpace` a config defines.

    The one place that knows where configs keep their space. Looks for a
    top-level ``search_space`` (the presets under
    ``configs/_base_/search_spaces/``), then
    ``model.architecture.backbone.search_space`` (search configs) and
    ``model.backbone.search_space``, then any nested ``search_space`` dict
    with ``widths``.

    Args:
        cfg (Config | dict | str): An mmengine config, dict or file path.

    Raises:
        SearchSpaceError: If the config holds no search space.
    """
    if isinstance(cfg, str):
        from densenas_mm.utils.config_file import load_config
        cfg = load_config(cfg)
    cfg = _plain(cfg)
    candidates = [('search_space', ),
                  ('model', 'architecture', 'backbone', 'search_space'),
                  ('model', 'backbone', 'search_space')]
    for keys in candidates:
        node: Any = cfg
        for key in keys:
            if isinstance(node, dict) and key in node:
                node = node[key]
            else:
                node = None
                break
        if node is not None:
            return SearchSpace.from_config(_plain(node))
    stack = [cfg]
    while stack:
        node = stack.pop(0)
        space = node.get('search_space')
        if isinstance(space, dict) and 'widths' in space:
            return SearchSpace.from_config(dict(space))
        stack.extend(v for v in node.values() if isinstance(v, dict))
    raise SearchSpaceError(
        'the config defines no search space: expected a top-level '
        '`search_space` or `model.architecture.backbone.search_space` '
        '(e.g. configs/_base_/search_spaces/densenas_demo_32.py)')


def _plain(node: Any) -> Dict:
    """ConfigDict -> dict (recursively)."""
    if hasattr(node, 'to_dict'):
        return node.to_dict()
    return dict(node)


#: Where the presets ship inside the package (package data, as mmcls ships
#: its configs under ``mmcls/.mim``): in a checkout a link to
#: ``configs/_base_/search_spaces/``, in an installed package a copy.
PRESET_DIR = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim', 'configs',
    '_base_', 'search_spaces')


def preset_names() -> List[str]:
    """Names of the shipped search-space presets, sorted."""
    if not osp.isdir(PRESET_DIR):
        return []
    return sorted(name[:-3] for name in os.listdir(PRESET_DIR)
                  if name.endswith('.py') and not name.startswith('_'))


def preset_path(name: str) -> str:
    """Path of the shipped preset ``<name>`` (the file
    ``configs/_base_/search_spaces/<name>.py`` of the source tree, package
    data of ``densenas_mm``).

    Raises:
        SearchSpaceError: For an unknown name, listing the presets.
    """
    path = osp.join(PRESET_DIR, f'{name}.py')
    if not osp.isfile(path):
        raise SearchSpaceError(
            f'no search-space preset {name!r}; the presets are '
            f'{", ".join(preset_names()) or "missing from this install"} '
            '(configs/_base_/search_spaces/, shipped as package data under '
            'densenas_mm/.mim/)')
    return path


def load_preset(name: str, **overrides: Any) -> SearchSpace:
    """Load a preset space, optionally overriding fields (e.g. num_classes).
    """
    from mmengine.config import Config
    spec = _plain(Config.fromfile(preset_path(name)))['search_space']
    spec.update(overrides)
    return SearchSpace.from_config(spec)
