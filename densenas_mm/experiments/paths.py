"""The repository layout the experiments use (the one place that knows it).

Experiments run the configs of a source checkout and read its
``resources/``; the library itself never looks outside the installed
package (``tests/test_import_graph.py`` checks that).
"""
import os.path as osp

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


def shown_path(path: str) -> str:
    """``path`` as a report shows it: relative to the checkout when it lies
    inside it (a report reads the same from any clone), else unchanged."""
    if osp.isabs(path):
        rel = osp.relpath(path, REPO_ROOT)
        if rel != '..' and not rel.startswith('..' + osp.sep):
            return rel
    return path
