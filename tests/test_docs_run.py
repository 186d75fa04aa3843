"""The documents' ``run`` commands run, reduced, as written.

Every command of a ```` ```bash run ```` block of README.md, docs/*.md,
configs/densenas/README.md and resources/latency/README.md runs in one
temporary copy of the checkout, document after document and line after
line, so that a command finds what an earlier one wrote (README's
``make demo`` the latency table and ``work_dirs/demo``, ...). How the runs
are reduced is in ``tests/helpers/doc_runs.py``. A document whose command
fails stops at that command; its test names the document, the line, the
command and the last line of its stderr.
"""
import os.path as osp
import sys
import time
from typing import Dict, List

import pytest

from helpers.doc_runs import Outcome, is_demo, reduced_argv, run_command
from helpers.docs import Doc, commands, documents

RUN_DOCS = [
    doc for doc in documents()
    if any(c.mark == 'run' for c in commands(doc))
]


@pytest.fixture(scope='session')
def documented_runs(docs_workspace, request) -> Dict[str, List[Outcome]]:
    """Outcomes of every document's run commands, in document order."""
    workspace, env = docs_workspace
    results = {}
    for doc in RUN_DOCS:
        outcomes = []
        for cmd in commands(doc):
            if cmd.mark != 'run':
                continue
            if is_demo(cmd) and not cmd.env:
                # the session's reduced demo (the demo test's run)
                start = time.monotonic()
                _, proc, seconds = request.getfixturevalue('reduced_demo')
                outcome = Outcome(cmd, ['bash', 'tools/demo.sh'],
                                  proc.returncode,
                                  max(seconds, time.monotonic() - start),
                                  proc.stderr)
            else:
                outcome = run_command(cmd, workspace, env)
            outcomes.append(outcome)
            print(f'{outcome.seconds:6.1f} s  rc {outcome.returncode}  '
                  f'{cmd.where}  {" ".join(cmd.argv)[:70]}')
            if outcome.returncode:
                break
        results[doc.rel] = outcomes
    return results


def test_the_documents_have_run_commands():
    by_doc = {d.rel: [c for c in commands(d) if c.mark == 'run']
              for d in RUN_DOCS}
    assert len(RUN_DOCS) >= 5
    assert sum(map(len, by_doc.values())) >= 25
    assert [c.argv[:2] for c in by_doc['README.md'][:1]] == [['make', 'demo']]


def test_the_reduction(tmp_path):
    """One mechanism: a second --cfg-options for trainings (a schedule the
    command gives is kept), capped nets, appended timing options, the
    newest checkpoint for a documented epoch the reduced run did not
    reach, the demo recognised."""
    text = '\n'.join([
        '```bash run',
        'python tools/train.py configs/densenas/x_supernet.py \\',
        '    --cfg-options search_epochs=2 warmup_epochs=1',
        'python tools/train.py configs/baseline/net.py',
        'python tools/analysis/latency_audit.py --random 12 --lut t.json',
        'python tools/test.py configs/baseline/net.py work_dirs/net/epoch_9.pth',
        'WORK_DIR=work_dirs/b make demo',
        '```', ''])
    search, train, audit, test, demo = commands(
        Doc(str(tmp_path / 'x.md'), text))
    (tmp_path / 'work_dirs' / 'net').mkdir(parents=True)
    (tmp_path / 'work_dirs' / 'net' / 'last_checkpoint').write_text(
        'epoch_1.pth')
    argv = reduced_argv(search, str(tmp_path))
    assert argv[0] == sys.executable
    assert argv[-10:] == [
        '--cfg-options', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_dataloader.dataset.indices=64',
        'train_cfg.arch_dataloader.num_workers=0',
        'train_cfg.arch_dataloader.persistent_workers=False',
        'train_cfg.arch_dataloader.dataset.indices=32',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'val_dataloader.dataset.indices=32']
    assert 'search_epochs=1' not in argv and argv.count('--cfg-options') == 2
    argv = reduced_argv(train, str(tmp_path))
    assert argv[-3:] == ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                         'default_hooks.checkpoint.interval=1']
    argv = reduced_argv(audit, str(tmp_path))
    assert argv[argv.index('--random') + 1] == '3'
    assert argv[-10:] == ['--rounds', '2', '--warmup', '1', '--min-repeats',
                          '1', '--max-repeats', '3', '--extra-rounds', '0']
    argv = reduced_argv(test, str(tmp_path))
    assert argv[3] == 'work_dirs/net/epoch_1.pth'
    assert argv[-4:] == ['--cfg-options', 'test_dataloader.num_workers=0',
                         'test_dataloader.persistent_workers=False',
                         'test_dataloader.dataset.indices=32']
    assert is_demo(demo) and demo.env == {'WORK_DIR': 'work_dirs/b'}
    assert (search.line, demo.line) == (2, 7)


@pytest.mark.slow
@pytest.mark.parametrize('doc', RUN_DOCS, ids=[d.rel for d in RUN_DOCS])
def test_documented_commands_run(doc, documented_runs, docs_workspace):
    outcomes = documented_runs[doc.rel]
    expected = [c for c in commands(doc) if c.mark == 'run']
    failed = [o for o in outcomes if o.returncode]
    assert not failed, failed[0].failure()
    assert [o.cmd.where for o in outcomes] == [c.where for c in expected]
    workspace = docs_workspace[0]
    # what the documents promise to write is there (a sample per document)
    written = {
        'README.md': 'work_dirs/baseline_metrics.json',
        'docs/demo.md': 'plots/supernet.png',
        'docs/latency.md': 'work_dirs/latency/heldout_demo.json',
        'docs/subnets.md': 'metrics.json',
        'resources/latency/README.md':
        'resources/latency/densenas_resnet_224_ref_b32.json',
    }.get(doc.rel)
    if written:
        assert osp.getsize(osp.join(workspace, written)) > 0
