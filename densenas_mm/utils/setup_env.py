"""Eager registration of every densenas_mm component.

The registries of :mod:`densenas_mm.registry` import their modules lazily
(``locations``); :func:`register_all_modules` imports them all at once, as
``mmcls.utils.register_all_modules`` does for mmcls. It is the only module
that imports every layer; nothing in the package imports it.
"""
import importlib


def register_all_modules(init_default_scope: bool = False) -> None:
    """Import every module of densenas_mm (and mmcls, mmrazor) that registers.

    Args:
        init_default_scope (bool): Also make ``mmcls`` the default scope when
            none is set, as the configs of this project do. Defaults to False.
    """
    import densenas_mm  # noqa: F401  (compat fixes before mmrazor.models)
    import mmcls.utils
    for name in ('densenas_mm.datasets.checked_dataset',
                 'densenas_mm.engine', 'densenas_mm.models',
                 'densenas_mm.search_space', 'mmrazor.engine',
                 'mmrazor.models'):
        importlib.import_module(name)
    mmcls.utils.register_all_modules(init_default_scope=init_default_scope)
