"""A non-editable install is the library alone: it imports every module and
loads every search-space preset without a checkout, and leaves the
experiments layer (which needs one) out."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig

import pytest

from helpers import REPO_ROOT

#: What a build reads from the source tree (the presets' link target too).
SOURCES = ('densenas_mm', 'requirements', 'configs/_base_/search_spaces',
           'setup.py', 'setup.cfg', 'README.md')

CHECK = r'''
import importlib, json, os, sys
import densenas_mm
root = os.path.dirname(densenas_mm.__file__)
assert root.startswith(sys.argv[1]), root
names = []
for folder, _, files in os.walk(root):
    rel = os.path.relpath(folder, os.path.dirname(root))
    if '.mim' in rel.split(os.sep) or '__pycache__' in rel:
        continue
    for f in sorted(files):
        if f.endswith('.py'):
            mod = rel.replace(os.sep, '.')
            if f != '__init__.py':
                mod += '.' + f[:-3]
            importlib.import_module(mod)
            names.append(mod)
from densenas_mm.search_space import load_preset, preset_names
spaces = {n: load_preset(n).name for n in preset_names()}
print(json.dumps(dict(modules=sorted(names), spaces=spaces,
                      sources=sorted({os.path.dirname(m.__file__)
                                      for n, m in sys.modules.items()
                                      if n.startswith('densenas_mm')
                                      and getattr(m, '__file__', None)}))))
'''


def library_modules():
    """Every module of the source package but the experiments layer."""
    out = []
    pkg = osp.join(REPO_ROOT, 'densenas_mm')
    for folder, _, files in os.walk(pkg):
        rel = osp.relpath(folder, REPO_ROOT)
        parts = rel.split(os.sep)
        if ('experiments' in parts or '.mim' in parts
                or '__pycache__' in parts):
            continue
        for f in files:
            if f.endswith('.py'):
                mod = '.'.join(parts)
                out.append(mod if f == '__init__.py' else f'{mod}.{f[:-3]}')
    return sorted(out)


@pytest.mark.slow
def test_non_editable_install_is_the_whole_library(tmp_path):
    src = tmp_path / 'src'
    for name in SOURCES:
        source = osp.join(REPO_ROOT, name)
        if osp.isdir(source):
            shutil.copytree(source, src / name, symlinks=True,
                            ignore=shutil.ignore_patterns('__pycache__'))
        else:
            os.makedirs(osp.dirname(src / name), exist_ok=True)
            shutil.copy(source, src / name)
    # the presets reach the package through a link, as in the checkout
    assert osp.islink(src / 'densenas_mm' / '.mim' / 'configs' / '_base_' /
                      'search_spaces')
    target = tmp_path / 'site'
    pip = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps',
         '--no-build-isolation', '--no-index', '--quiet', '--target',
         str(target), str(src)],
        capture_output=True, text=True, cwd=str(tmp_path), timeout=300)
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-2000:]
    installed = target / 'densenas_mm'
    assert not (installed / 'experiments').exists()
    presets = installed / '.mim' / 'configs' / '_base_' / 'search_spaces'
    assert not osp.islink(presets)  # a copy, not a link into a checkout
    def py_files(folder):
        return sorted(f for f in os.listdir(folder) if f.endswith('.py'))

    assert py_files(presets) == py_files(
        osp.join(REPO_ROOT, 'configs', '_base_', 'search_spaces'))
    # only the install and the environment's packages on the path (-S: no
    # .pth files, so no editable install of a checkout either)
    code = ('import sys; sys.path[:] = [sys.argv[1], sys.argv[2]] + '
            '[p for p in sys.path if "lib-dynload" in p or p.endswith('
            '".zip") or p.endswith("python3.11")]\n' + CHECK)
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    out = subprocess.run(
        [sys.executable, '-S', '-c', code, str(target),
         sysconfig.get_paths()['purelib']],
        capture_output=True, text=True, cwd=str(tmp_path), env=env,
        timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    import json
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report['modules'] == library_modules()
    assert report['spaces'] == {
        n: n
        for n in ('densenas_demo_32', 'densenas_demo_wide_32',
                  'densenas_mbv2_224', 'densenas_mbv2_32',
                  'densenas_resnet_224', 'densenas_resnet_32')
    }
    assert all(s.startswith(str(target)) for s in report['sources'])
