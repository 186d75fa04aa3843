"""The repository layout the experiments use (the one place that knows it).

Experiments run the configs of a source checkout and read its
``resources/``; the library itself never looks outside the installed
package (``tests/test_import_graph.py`` checks that).
"""
import os.path as osp
from typing import Optional

#: The checkout this package is imported from.
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The configs users run.
CONFIGS = osp.join(REPO_ROOT, 'configs')
#: Data files shipped with the checkout (latency lists, ...).
RESOURCES = osp.join(REPO_ROOT, 'resources')


def repo_path(*parts: str) -> str:
    """An absolute path inside the checkout, e.g.
    ``repo_path('configs', 'densenas', 'x.py')``."""
    return osp.join(REPO_ROOT, *parts)


def inside(path: str, root: str = REPO_ROOT) -> Optional[str]:
    """``path`` relative to ``root`` when ``path`` is absolute and lies in
    ``root`` (``'.'`` for ``root`` itself), else None.

    The one test of "a path inside the checkout" that reports and run
    records share.
    """
    if not osp.isabs(path):
        return None
    rel = osp.relpath(path, osp.abspath(root))
    if rel == osp.pardir or rel.startswith(osp.pardir + osp.sep):
        return None
    return rel


def shown_path(path: str) -> str:
    """``path`` as a report shows it: relative to the checkout when it lies
    inside it (a report reads the same from any clone), else unchanged."""
    rel = inside(path)
    return path if rel is None else rel
