"""Data augmentation as a function of (seed, epoch, sample index).

A resumed search restarts its data workers: their random generators start
from their initial seeds again, while an uninterrupted run's persistent
workers carry on from wherever the finished epochs left them, and with
several workers which worker loads which sample adds more history. Random
crops and flips after a resume then differ from the uninterrupted run's.

The pair below removes that history. :class:`SeededSampler` (mmengine's
``DefaultSampler`` order: shuffled by ``seed + epoch``, split across ranks)
yields :class:`SampleKey` ``(seed, epoch, index)`` instead of bare indices;
the key travels through the ``DataLoader`` to the worker, where
:class:`SeededDataset` runs the wrapped dataset's pipeline with Python's,
NumPy's and torch's generators seeded from the key. Every augmentation is
then fixed by the run's seed, the epoch and the sample, whichever process,
worker or rank loads it, with any ``num_workers`` and persistent workers::

    train_dataloader = dict(
        dataset=dict(type='densenas_mm.SeededDataset',
                     dataset_type='CustomDataset', data_root=..., ...),
        sampler=dict(type='densenas_mm.SeededSampler', shuffle=True))

The wrapped dataset's arguments sit beside ``dataset_type`` (not in a
nested dict), so ``train_dataloader.dataset.data_root=...`` overrides and
merges with a plain dataset config work as for the dataset itself.

The search configs use both for their search-train and search-val loaders.
"""
import copy
from typing import Any, Dict, Iterator, NamedTuple, Optional, Union

from mmengine.dataset import DefaultSampler
from torch.utils.data import get_worker_info

from densenas_mm.registry import DATA_SAMPLERS, DATASETS
from densenas_mm.utils.seeding import derive_seed, seeded_rngs

#: Seed stream of data augmentation (op sampling uses 0-2, see
#: ``densenas_mm.models.algorithms.steps``).
AUGMENT_STREAM = 3


class SampleKey(NamedTuple):
    """What :class:`SeededSampler` yields: a sample and its seed's inputs.

    Attributes:
        seed (int): The sampler's (the run's) seed.
        epoch (int): The epoch, as set by ``set_epoch``.
        index (int): The sample's index in the dataset.
    """
    seed: int
    epoch: int
    index: int

    def rng_seed(self) -> int:
        """The seed of this sample's augmentation."""
        return derive_seed(self.seed, AUGMENT_STREAM, self.epoch, self.index)


@DATA_SAMPLERS.register_module()
class SeededSampler(DefaultSampler):
    """``DefaultSampler`` that yields :class:`SampleKey` s.

    Same order, rank split and ``round_up`` as mmengine's ``DefaultSampler``
    (whose ``seed`` the runner sets to the run's seed); each index comes with
    the seed and the current epoch, so that :class:`SeededDataset` can seed
    the sample's augmentation. Pair it with :class:`SeededDataset`.

    Args:
        dataset: The dataset (a :class:`SeededDataset`).
        shuffle (bool): Shuffle by ``seed + epoch``. Defaults to True.
        seed (int, optional): Defaults to a seed shared by all ranks.
        round_up (bool): Pad to a multiple of the world size.
    """

    def __iter__(self) -> Iterator[SampleKey]:
        for index in super().__iter__():
            yield SampleKey(int(self.seed), int(self.epoch), int(index))


@DATASETS.register_module()
class SeededDataset:
    """Runs a dataset's pipeline with its RNGs seeded per sample.

    ``dataset[SampleKey(seed, epoch, index)]`` loads sample ``index`` of the
    wrapped dataset inside :func:`~densenas_mm.utils.seeding.seeded_rngs`
    with the key's seed, so its random transforms (crops, flips, ...) are a
    function of (seed, epoch, index) alone; the global generators are
    restored afterwards (in the main process; a data worker's generators
    serve nothing else). A plain int index loads the sample unseeded (as the
    wrapped dataset would), so the wrapper can stand where any dataset is
    expected (validation, tools). Attributes it does not have (``metainfo``,
    ``ann_file``, ``get_data_info``, ...) are those of the wrapped dataset.

    Args:
        dataset_type (str, optional): Registry type of the wrapped dataset
            (e.g. ``'CustomDataset'``); ``**kwargs`` are its arguments.
        dataset (dict | Dataset, optional): Instead of ``dataset_type``: the
            wrapped dataset or its full config.
        **kwargs: Arguments of ``dataset_type``.

    Raises:
        ValueError: Unless exactly one of ``dataset_type`` and ``dataset``
            is given.
    """

    def __init__(self,
                 dataset_type: Optional[str] = None,
                 dataset: Union[Dict, Any, None] = None,
                 **kwargs) -> None:
        if (dataset_type is None) == (dataset is None):
            raise ValueError(
                'SeededDataset: give the wrapped dataset either as '
                "dataset_type='CustomDataset' with its arguments beside it, "
                f'or as dataset=...; got dataset_type={dataset_type!r} and '
                f'dataset={type(dataset).__name__}')
        if dataset is not None and kwargs:
            raise ValueError(
                f'SeededDataset: {sorted(kwargs)} given beside dataset=...; '
                'put them into the wrapped dataset\'s config')
        if dataset_type is not None:
            dataset = dict(type=dataset_type, **kwargs)
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        if not hasattr(dataset, '__getitem__') or not hasattr(
                dataset, '__len__'):
            raise TypeError(
                'SeededDataset: the wrapped dataset must be indexable, got '
                f'{type(dataset).__name__}')
        self.dataset = dataset

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information (a copy)."""
        return copy.deepcopy(getattr(self.dataset, 'metainfo', {}))

    def full_init(self) -> None:
        """Fully initialise the wrapped dataset (if it defers that)."""
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: Union[SampleKey, int]) -> Any:
        if isinstance(key, SampleKey):
            # in a data worker the global generators serve only this
            # dataset: no need to restore them (the expensive part)
            in_worker = get_worker_info() is not None
            with seeded_rngs(key.rng_seed(), restore=not in_worker):
                return self.dataset[key.index]
        return self.dataset[key]

    def __getattr__(self, name: str) -> Any:
        # only reached for names this wrapper lacks; 'dataset' itself may be
        # missing while the object is being unpickled in a worker
        if name == 'dataset' or name.startswith('__'):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __repr__(self) -> str:
        return f'SeededDataset({self.dataset!r})'
