"""Writes the derived architecture of every search epoch and keeps the
top-k by supernet validation on search-val."""
import json
import os.path as osp
from typing import Any, Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from densenas_mm.registry import HOOKS
from densenas_mm.structures import DerivedArch
from densenas_mm.utils.io import write_text_atomic
from densenas_mm.utils.safe_read import read_json_file
from .arch_selection import TopK
from .records import latest_record


@HOOKS.register_module()
class DenseNASArchHook(Hook):
    """Log and save the architecture derived after every training epoch,
    and select the best ones on search-val.

    The hook observes: it writes the architecture of the search loop's
    epoch record (``runner.train_loop.latest_record``). Files in
    ``work_dir/<out_dir>/`` (written atomically by rank 0; every rank holds
    identical alphas/betas, so every rank derives the same):

    - ``epoch_<N>.yaml``: the derived architecture (``DerivedArch`` YAML,
      also an mmrazor fix_subnet for the supernet) with its path, predicted
      latency / FLOPs / params and the epoch's phase in ``meta``;
    - ``epoch_<N>.net_config``: the reference net_config string;
    - ``last.yaml``: the newest;
    - ``top1.yaml`` .. ``top<k>.yaml``: the architectures of the ``topk``
      epochs with the best supernet validation score (``best_metric``),
      their rank and score in ``meta``; ``best.yaml`` is ``top1.yaml``;
    - ``topk.json``: those epochs and scores.

    Selection follows the reference (keep the top-2 by search-val
    accuracy): only epochs after warm-up are candidates (validation of a
    warm-up epoch is logged and ignored), and supernet validation must read
    the split the architecture steps read (search-val), so that no test
    data takes part in choosing the result; the hook checks that before
    training. The validation window is the search loop's ``val_begin``
    (the paper configs: from epoch 121 of 150 MBV2, 51 of 70 ResNet, as the
    reference). Without supernet validation nothing is selected and
    ``last.yaml`` is the result. The kept scores survive a resume (in the
    checkpoint's meta and in ``topk.json``).

    Args:
        out_dir (str): Folder under the work dir. Defaults to ``'arch'``.
        best_metric (str): Validation metric choosing the top-k.
        rule (str): ``'greater'`` or ``'less'``.
        topk (int): How many architectures to keep. Defaults to 2.
        check_val_split (bool): Refuse to select on a validation split other
            than the architecture loader's. Defaults to True.
    """

    priority = 'LOW'
    _CKPT_KEY = 'densenas_arch_hook'
    _TOPK_FILE = 'topk.json'

    def __init__(self,
                 out_dir: str = 'arch',
                 best_metric: str = 'accuracy/top1',
                 rule: str = 'greater',
                 topk: int = 2,
                 check_val_split: bool = True) -> None:
        self.out_dir = out_dir
        self.best_metric = best_metric
        self.selection = TopK(topk, rule)
        self.check_val_split = check_val_split

    def folder(self, runner) -> str:
        """Absolute output folder."""
        return osp.join(runner.work_dir, self.out_dir)

    # ------------------------------------------------------------- hooks
    def before_train(self, runner) -> None:
        """Check the validation split; restore the kept scores on resume."""
        val_loop = getattr(runner, 'val_loop', None)
        if val_loop is None or getattr(val_loop, 'dataloader', None) is None:
            runner.logger.warning(
                'DenseNASArchHook: no supernet validation, so no '
                'architecture is selected (no best.yaml / top-k); '
                f'{self.out_dir}/last.yaml is the search result')
        elif self.check_val_split:
            self._check_split(runner, val_loop.dataloader)
        # scores of epochs up to the resumed one: the checkpoint's meta
        # (restored in after_load_checkpoint) lacks the last epoch's, which
        # was validated after its checkpoint was saved
        path = osp.join(self.folder(runner), self._TOPK_FILE)
        if runner.epoch > 0 and osp.exists(path):
            self.selection.merge(read_topk(path))
        self.selection.until(runner.epoch)

    def after_train_epoch(self, runner) -> None:
        """Save the architecture of the finished epoch."""
        record = latest_record(runner, self)
        arch, epoch = record.arch, record.epoch
        meta: Dict = arch.meta
        costs_txt = ', '.join(f'{k}: {v}' for k, v in meta.items()
                              if k not in ('epoch', 'phase'))
        runner.logger.info(
            f'Epoch(search) [{epoch}] {meta["phase"]}: derived path '
            f'{arch.path}; {costs_txt}; net_config: {arch.to_net_config()}')
        if not is_main_process():
            return
        folder = self.folder(runner)
        path = osp.join(folder, f'epoch_{epoch}.yaml')
        arch.dump(path)
        write_text_atomic(arch.to_net_config() + '\n',
                          osp.join(folder, f'epoch_{epoch}.net_config'))
        self._copy(path, osp.join(folder, 'last.yaml'))

    def after_val_epoch(self, runner, metrics: Optional[Dict] = None) -> None:
        """Offer the validated epoch to the top-k (after warm-up only)."""
        if not metrics or self.best_metric not in metrics:
            return
        record = latest_record(runner, self)
        score = float(metrics[self.best_metric])
        if record.phase != 'search':
            runner.logger.info(
                f'epoch {record.epoch} is a warm-up epoch: its supernet '
                f'{self.best_metric} ({score:.3f}) does not take part in '
                'the selection')
            return
        if not self.selection.add(record.epoch, score):
            return
        ranks = ', '.join(f'epoch {c.epoch} ({c.score:.3f})'
                          for c in self.selection.kept)
        runner.logger.info(f'top-{self.selection.k} architectures by '
                           f'{self.best_metric} on search-val: {ranks}')
        if is_main_process():
            self._write_selection(runner)

    def before_save_checkpoint(self, runner, checkpoint: Dict) -> None:
        """Store the kept scores in the checkpoint's meta."""
        checkpoint.setdefault('meta', {})[self._CKPT_KEY] = dict(
            topk=self.selection.state())

    def after_load_checkpoint(self, runner, checkpoint: Dict) -> None:
        """Restore the kept scores on resume."""
        state = checkpoint.get('meta', {}).get(self._CKPT_KEY) or {}
        self.selection.merge(TopK.candidates(state.get('topk')))

    # ----------------------------------------------------------- helpers
    def _write_selection(self, runner) -> None:
        folder = self.folder(runner)
        for rank, cand in enumerate(self.selection.kept, start=1):
            src = osp.join(folder, f'epoch_{cand.epoch}.yaml')
            if not osp.exists(src):
                runner.logger.warning(f'{src} is missing: top{rank}.yaml '
                                      'not written')
                continue
            arch = DerivedArch.load(src)
            arch.meta.update(
                selection_rank=rank,
                selection_metric=self.best_metric,
                selection_score=round(cand.score, 4))
            arch.dump(osp.join(folder, f'top{rank}.yaml'))
            if rank == 1:
                arch.dump(osp.join(folder, 'best.yaml'))
        state = dict(self.selection.state(), metric=self.best_metric)
        write_text_atomic(
            json.dumps(state, indent=1), osp.join(folder, self._TOPK_FILE))

    def _check_split(self, runner, val_loader: Any) -> None:
        arch_loader = getattr(runner.train_loop, 'arch_dataloader', None)
        if arch_loader is None:
            return
        val, arch = (_data_source(val_loader.dataset),
                     _data_source(arch_loader.dataset))
        if val != arch:
            raise ValueError(
                'DenseNASArchHook selects the architecture on the supernet '
                f'validation, which reads {val!r}, but the architecture '
                f'steps read {arch!r} (search-val): selecting on another '
                'split lets it (e.g. the test split) leak into the search '
                'result. Set val_dataloader to the search-val split (the '
                "dataset bases' supernet_val_dataloader), or "
                'DenseNASArchHook(check_val_split=False) on purpose.')

    @staticmethod
    def _copy(src: str, dst: str) -> None:
        with open(src, encoding='utf-8') as f:
            write_text_atomic(f.read(), dst)


def _data_source(dataset: Any) -> str:
    """The annotation file (or image folder) a dataset reads, through
    wrappers such as ``SeededDataset``."""
    while not hasattr(dataset, 'ann_file') and hasattr(dataset, 'dataset'):
        dataset = dataset.dataset
    ann = getattr(dataset, 'ann_file', '') or ''
    if ann:
        return osp.normpath(ann)
    prefix = getattr(dataset, 'data_prefix', {}) or {}
    root = getattr(dataset, 'data_root', '') or ''
    return osp.normpath(osp.join(root, str(prefix.get('img_path', ''))))


def read_topk(path: str) -> list:
    """The candidates recorded in a resumed run's ``topk.json``.

    Raises:
        ValueError: For a damaged file, naming it and the fix.
    """
    fix = ('Restore it from a backup, or delete it: the resumed run then '
           'keeps the scores stored in the checkpoint (all but the last '
           'epoch\'s)')
    state = read_json_file(path, 'the top-k record', fix)
    try:
        return TopK.candidates(state)
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise ValueError(
            f'the top-k record {path!r} is damaged: it is not '
            f'{{"kept": [{{"epoch": N, "score": S}}, ...]}} ({err!r}). '
            f'{fix}') from None
