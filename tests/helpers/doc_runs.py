"""Running the documents' ``run`` commands in CI, reduced.

``tests/test_docs_run.py`` runs every command of the ```` ```bash run ````
blocks (see :mod:`helpers.docs`), document by document in the order of
:data:`helpers.docs.DOCS` and line by line, in one temporary workspace: a
copy of the checkout's ``configs/``, ``tools/``, ``docs/``, ``resources/``
and top-level files, where the commands' outputs (``work_dirs/``,
``data/``, a regenerated table) go and where later commands find what
earlier ones wrote, as a reader who follows the documents in order would.

The commands are run as written, with one central reduction, so that the
whole run fits a few minutes on 2 cores:

- trainings and tests (``tools/train.py`` / ``tools/test.py``) get a second
  ``--cfg-options`` (:func:`reduce_options`: in-process loading, data
  subsets, searches of 1 warm-up + 1 search epoch, retrains of 1 epoch;
  a schedule the command sets itself is kept);
- the timing tools get fewer rounds and timed calls (:data:`APPENDED`),
  and ``--nets`` / ``--random`` are capped at 3 (:data:`CAPPED`);
- ``make demo`` / ``bash tools/demo.sh`` run the reduced demo of
  ``tests/test_tools/test_demo.py`` (:data:`REDUCED_DEMO`), once per test
  session (``reduced_demo`` fixture of ``tests/conftest.py``);
- a checkpoint named by the documented schedule's last epoch
  (``.../epoch_20.pth``) that the reduced run did not write is its work
  dir's newest checkpoint (mmengine's ``last_checkpoint``);
- the digits data is the session's build (``DENSENAS_DEMO_DATA``), and
  Fashion-MNIST is Debian's copy, or where it is not installed a synthetic
  stand-in in its file format (``DENSENAS_FMNIST``);
- the user's own images README's "search on your own data" starts from
  (``data/my_images/<class>/<image>``) are a synthetic stand-in: 3 classes
  of 20 random 64x64 PNG images (:func:`write_own_images`);
- ``python`` is the interpreter that runs the tests, with the checkout on
  ``PYTHONPATH``.
"""
import gzip
import os
import os.path as osp
import re
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from helpers import REPO_ROOT
from helpers.docs import Command, tool_call

#: What a workspace copies from the checkout.
WORKSPACE_DIRS = ('configs', 'tools', 'docs', 'resources', 'requirements')
WORKSPACE_FILES = ('Makefile', 'README.md', 'setup.cfg', 'setup.py',
                   'requirements.txt')
#: Where Debian's dataset-fashion-mnist puts the files.
DEBIAN_FMNIST = '/usr/share/datasets/fashion-mnist'
FMNIST_FILES = ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
                't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz')

#: Options appended to a tool's arguments (the last one given wins):
#: 2 interleaved rounds of at most 3 timed calls, no re-measurement.
_TIMING = ['--rounds', '2', '--warmup', '1', '--min-repeats', '1',
           '--max-repeats', '3', '--extra-rounds', '0']
APPENDED = {
    # --max-noisy 1: a reduced table must not depend on the machine's load
    'tools/build_latency_lut.py':
    _TIMING + ['--max-seconds', '0.02', '--passes', '1', '--max-noisy', '1',
               '--no-progress'],
    'tools/analysis/latency_audit.py': _TIMING,
    'tools/analysis/calibrate_latency.py': _TIMING,
    'tools/analysis/latency_heldout.py': _TIMING,
    'tools/analysis/latency_level.py': _TIMING,
}
#: Options whose (numeric) value is capped, per tool.
CAPPED = {
    'tools/analysis/latency_audit.py': {'--random': 3},
    'tools/analysis/calibrate_latency.py': {'--nets': 3},
    'tools/analysis/latency_heldout.py': {'--nets': 3},
}
#: The reduced demo (2 search epochs, 1 warm-up; 2 random nets; 1 retrain
#: epoch) on the digits, present everywhere; its latency table is built
#: and audited with the reduced timing above, so the documents' own build
#: of the same table (same settings) reuses it.
REDUCED_DEMO = dict(
    DEMO_DATA='digits',
    DEMO_RANDOM='2',
    DEMO_SEARCH_EPOCHS='2',
    DEMO_WARMUP_EPOCHS='1',
    DEMO_RETRAIN_EPOCHS='1',
    DEMO_LUT_ARGS=' '.join(APPENDED['tools/build_latency_lut.py']),
    DEMO_AUDIT_ARGS=' '.join(_TIMING))

_LOADERS = dict(search=('train_dataloader', 'train_cfg.arch_dataloader',
                        'val_dataloader'),
                train=('train_dataloader', 'val_dataloader'),
                test=('test_dataloader', ))


def reduce_options(tool: str, config: str,
                   given: Sequence[str] = ()) -> List[str]:
    """The ``--cfg-options`` that shrink a documented training or test.

    Args:
        tool (str): ``'tools/train.py'`` or ``'tools/test.py'``.
        config (str): The config the command runs.
        given (Sequence[str]): The command's own ``--cfg-options`` keys;
            a schedule the command sets itself (``search_epochs``, ...)
            is kept.

    Returns:
        list[str]: ``key=value`` items: loaders in-process on a subset of 64
        (training) / 32 (else) samples; a search of 1 warm-up and 1 search
        epoch; any other training of 1 epoch, validated and saved.
    """
    search = 'supernet' in osp.basename(config)
    kind = 'test' if tool == 'tools/test.py' else \
        'search' if search else 'train'
    options = []
    for loader in _LOADERS[kind]:
        size = 64 if loader == 'train_dataloader' else 32
        options += [f'{loader}.num_workers=0',
                    f'{loader}.persistent_workers=False',
                    f'{loader}.dataset.indices={size}']
    schedule = {'search': ['search_epochs=1', 'warmup_epochs=1'],
                'train': ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                          'default_hooks.checkpoint.interval=1'],
                'test': []}[kind]
    if not set(given) & {o.split('=')[0] for o in schedule}:
        options += schedule
    return options


def _option_keys(args: Sequence[str]) -> List[str]:
    """Keys of the ``--cfg-options`` items in ``args``."""
    keys, inside = [], False
    for arg in args:
        if arg.startswith('-'):
            inside = arg == '--cfg-options'
        elif inside and '=' in arg:
            keys.append(arg.split('=', 1)[0])
    return keys


def _cap(args: List[str], caps: Dict[str, int]) -> List[str]:
    out = list(args)
    for i, arg in enumerate(out[:-1]):
        if arg in caps and out[i + 1].isdigit():
            out[i + 1] = str(min(int(out[i + 1]), caps[arg]))
    return out


def _checkpoint(path: str, cwd: str) -> str:
    """``path``, or its work dir's newest checkpoint when the reduced run
    did not reach the documented epoch."""
    full = osp.join(cwd, path)
    pointer = osp.join(osp.dirname(full), 'last_checkpoint')
    if not re.search(r'(^|/)epoch_\d+\.pth$', path) or osp.exists(full) \
            or not osp.isfile(pointer):
        return path
    with open(pointer, encoding='utf-8') as f:
        last = f.read().strip()
    return osp.join(osp.dirname(path), osp.basename(last))


def reduced_argv(cmd: Command, cwd: str) -> List[str]:
    """The argv that runs ``cmd`` reduced (see the module docstring)."""
    argv = [_checkpoint(a, cwd) for a in cmd.argv]
    call = tool_call(cmd)
    if argv[0] in ('python', 'python3'):
        argv[0] = sys.executable
    if call is None or cmd.argv[0] not in ('python', 'python3'):
        return argv
    tool = call[0]
    argv = argv[:2] + _cap(argv[2:], CAPPED.get(tool, {}))
    argv += APPENDED.get(tool, [])
    if tool in ('tools/train.py', 'tools/test.py'):
        argv += ['--cfg-options'] + reduce_options(
            tool, call[1][0], _option_keys(call[1]))
    return argv


def is_demo(cmd: Command) -> bool:
    """Whether ``cmd`` runs the demo (``make demo``, ``tools/demo.sh``)."""
    return cmd.argv[:2] == ['make', 'demo'] or (
        cmd.argv[0] == 'bash' and len(cmd.argv) > 1
        and cmd.argv[1].endswith('tools/demo.sh'))


def make_workspace(root: str) -> str:
    """Copy what the documents' commands read into ``root``; return it."""
    os.makedirs(root, exist_ok=True)
    for name in WORKSPACE_DIRS:
        shutil.copytree(osp.join(REPO_ROOT, name), osp.join(root, name),
                        ignore=shutil.ignore_patterns('__pycache__'))
    for name in WORKSPACE_FILES:
        shutil.copy2(osp.join(REPO_ROOT, name), osp.join(root, name))
    write_own_images(osp.join(root, 'data', 'my_images'))
    return root


def write_own_images(root: str, classes: int = 3, per_class: int = 20,
                     size: int = 64) -> str:
    """A class-folder dataset of random RGB PNG images under ``root``."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for c in range(classes):
        folder = osp.join(root, f'class_{c}')
        os.makedirs(folder, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(osp.join(folder, f'{i:03d}.png'))
    return root


def _idx(path: str, magic: int, dims: List[int], data: bytes) -> None:
    with gzip.open(path, 'wb') as f:
        f.write(struct.pack('>I', magic) +
                b''.join(struct.pack('>I', d) for d in dims) + data)


def fashion_mnist_root(scratch: str) -> str:
    """Debian's Fashion-MNIST folder, or a synthetic stand-in written to
    ``scratch`` (random 28x28 images, as many per class as the demo's
    splits take: 250 training and 1000 test images of each of 10
    classes)."""
    if all(osp.isfile(osp.join(DEBIAN_FMNIST, f)) for f in FMNIST_FILES):
        return DEBIAN_FMNIST
    import numpy as np
    os.makedirs(scratch, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, per_class in (('train', 250), ('t10k', 1000)):
        labels = np.repeat(np.arange(10, dtype=np.uint8), per_class)
        rng.shuffle(labels)
        images = rng.integers(0, 256, (labels.size, 28, 28), dtype=np.uint8)
        _idx(osp.join(scratch, f'{prefix}-images-idx3-ubyte.gz'), 0x803,
             [labels.size, 28, 28], images.tobytes())
        _idx(osp.join(scratch, f'{prefix}-labels-idx1-ubyte.gz'), 0x801,
             [labels.size], labels.tobytes())
    return scratch


def docs_env(base: Dict[str, str], fmnist: str) -> Dict[str, str]:
    """The environment of every documented command: ``base`` (the tests'
    tool environment) with the checkout on ``PYTHONPATH`` and the
    Fashion-MNIST folder."""
    env = dict(base)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO_ROOT, base.get('PYTHONPATH')) if p)
    env['DENSENAS_FMNIST'] = fmnist
    return env


def run_demo(cwd: str, env: Dict[str, str],
             extra: Optional[Dict[str, str]] = None,
             timeout: int = 900) -> subprocess.CompletedProcess:
    """``bash tools/demo.sh`` of the workspace ``cwd``, reduced."""
    env = dict(env, **REDUCED_DEMO, **(extra or {}))
    return subprocess.run(['bash', osp.join(cwd, 'tools', 'demo.sh')],
                          cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@dataclass
class Outcome:
    """A documented command's run: what ran, its exit status, its time."""
    cmd: Command
    argv: List[str]
    returncode: int
    seconds: float
    stderr: str

    def failure(self) -> str:
        """``doc:line: command`` and the last line of its stderr."""
        lines = [ln for ln in self.stderr.strip().splitlines() if ln.strip()]
        last = lines[-1] if lines else '(no stderr)'
        return (f'{self.cmd.where}: {self.cmd.text.strip()}\n'
                f'    exit {self.returncode}: {last}\n'
                f'    ran: {" ".join(self.argv)}')


def run_command(cmd: Command, cwd: str, env: Dict[str, str],
                timeout: int = 600) -> Outcome:
    """Run one documented command, reduced, in the workspace ``cwd``."""
    argv = reduced_argv(cmd, cwd)
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=cwd, env=dict(env, **cmd.env),
                          capture_output=True, text=True, timeout=timeout)
    return Outcome(cmd, argv, proc.returncode, time.monotonic() - start,
                   proc.stderr or proc.stdout)
