"""Minimal setuptools entry point; metadata lives in ``setup.cfg``.

Dependencies are read from ``requirements/*.txt`` so that pip, ``make env``
and the package metadata agree. Works offline with
``pip install -e . --no-build-isolation`` (only setuptools is needed).
"""
import os.path as osp
from setuptools import setup
from typing import List

HERE = osp.dirname(osp.abspath(__file__))


def parse_requirements(fname: str) -> List[str]:
    """Read one requirements file, following ``-r`` includes.

    Args:
        fname (str): Path relative to this directory.

    Returns:
        List[str]: Requirement specifiers without comments and options.
    """
    path = osp.join(HERE, fname)
    if not osp.exists(path):
        return []
    reqs: List[str] = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                include = osp.join(osp.dirname(fname), line[3:].strip())
                reqs.extend(parse_requirements(include))
            elif not line.startswith('-'):
                reqs.append(line)
    return reqs


setup(
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require={
        'all': (parse_requirements('requirements/runtime.txt') +
                parse_requirements('requirements/optional.txt') +
                parse_requirements('requirements/tests.txt')),
        'optional':
        parse_requirements('requirements/optional.txt'),
        'tests':
        parse_requirements('requirements/tests.txt'),
    })
