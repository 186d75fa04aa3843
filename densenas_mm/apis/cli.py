"""Argument helpers shared by the command line tools."""
import argparse
import os
import shlex
import sys
from typing import (Any, Callable, Dict, List, NamedTuple, Optional, Sequence,
                    Tuple, Type)

import torch.nn as nn


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options key=value ...`` (mmengine's ``DictAction``)."""
    from mmengine.config import DictAction
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, key=value (e.g. '
        'model.backbone.arch=a.yaml); lists as key="[a,b]"')


def parse_cfg_options(options: Sequence[str]) -> Optional[Dict[str, Any]]:
    """``key=value`` strings as ``--cfg-options`` reads them (mmengine's
    ``DictAction``: ``1`` an int, ``"[a,b]"`` a list, ...).

    Args:
        options (Sequence[str]): ``key=value`` strings.

    Returns:
        dict | None: Key -> parsed value; None for no options.

    Raises:
        ValueError: For a string without ``=``, naming it.
    """
    if not options:
        return None
    from mmengine.config import DictAction
    bad = [o for o in options if '=' not in o]
    if bad:
        raise ValueError(f'config options must be key=value, got {bad}')
    namespace = argparse.Namespace()
    DictAction(option_strings=['--cfg-options'], dest='cfg_options')(
        argparse.ArgumentParser(), namespace, list(options))
    return namespace.cfg_options


def add_shape(parser: argparse.ArgumentParser) -> None:
    """``--shape H W`` (one value: square; default: the model's own input
    size, see :func:`resolve_input_shape`)."""
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=None,
        help='input H W (one value: square); default: the input size of '
        'the architecture or search space, else of the config\'s test '
        'pipeline')


def add_launcher(parser: argparse.ArgumentParser) -> None:
    """``--launcher`` and both spellings of ``--local-rank``.

    ``torch.distributed.launch`` passes ``--local-rank`` (torch >= 2.0) or
    ``--local_rank`` (older); torchrun sets ``LOCAL_RANK`` instead.
    """
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--local_rank', '--local-rank', dest='local_rank', type=int, default=0)


def input_shape(model: nn.Module, batch_size: int,
                shape: Sequence[int]) -> List[int]:
    """``[N, C, H, W]`` for ``model`` from ``--shape`` (H W or one size)."""
    if len(shape) not in (1, 2):
        raise SystemExit('--shape takes H W or a single size')
    h, w = (list(shape) * 2)[:2]
    # the first convolution's input channels (a backbone's ``in_channels``
    # attribute can mean something else, e.g. in mmcls's MobileNetV2)
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)),
                 None)
    channels = first.in_channels if first is not None else 3
    return [batch_size, channels, h, w]


def default_input_size(model: nn.Module,
                       cfg: Any = None) -> Tuple[int, str]:
    """The input size a model is built for, and where it comes from.

    A ``DenseNASNet`` records the size its architecture was searched for, a
    supernet its space's; other models take the size the config's test (or
    val, or train) pipeline crops or resizes to.

    Raises:
        SystemExit: When none of them tells (then pass ``--shape``).
    """
    backbone = getattr(model, 'backbone', None)
    for attr, what in (('arch', 'the architecture'),
                       ('space', 'the search space')):
        size = getattr(getattr(backbone, attr, None), 'input_size', None)
        if isinstance(size, int):
            return size, f"{what}'s input_size"
    if cfg is not None:
        from .derive import get_key
        from .run_checks import pipeline_size
        for loader in ('test_dataloader', 'val_dataloader',
                       'train_dataloader'):
            pipeline = get_key(cfg, f'{loader}.dataset.pipeline')
            if isinstance(pipeline, list):
                known, size = pipeline_size(pipeline)
                if known and size is not None:
                    return size, f'{loader}.dataset.pipeline'
    raise SystemExit('error: cannot tell the input size of this model (no '
                     'DenseNAS architecture or space, no crop / resize in '
                     "the config's pipelines): pass --shape H W")


def resolve_input_shape(model: nn.Module, cfg: Any, batch_size: int,
                        shape: Optional[Sequence[int]]
                        ) -> Tuple[List[int], str]:
    """``([N, C, H, W], where H W come from)``: ``--shape`` if given, else
    :func:`default_input_size`."""
    if shape:
        return input_shape(model, batch_size, shape), '--shape'
    size, source = default_input_size(model, cfg)
    return input_shape(model, batch_size, [size]), source


def input_errors() -> Tuple[Type[BaseException], ...]:
    """Errors that describe bad input (a file, a config, a table) and are
    reported as one ``error:`` line instead of a traceback."""
    from densenas_mm.datasets.checks import DataError
    from densenas_mm.datasets.imagenet_subset import SubsetError
    from densenas_mm.latency.schema import LatencyTableError
    from densenas_mm.models.algorithms.ddp import RankTimeoutError
    from densenas_mm.search_space.errors import SearchSpaceError
    from densenas_mm.structures.errors import ArchError
    from densenas_mm.utils.checkpoint import CheckpointError
    from densenas_mm.utils.io import OutputPathError
    from densenas_mm.utils.options import ConfigError
    from densenas_mm.utils.work_dir_lock import WorkDirLockedError
    from .derive import DeriveError
    from .run_checks import RunConfigError
    return (ArchError, CheckpointError, ConfigError, DataError,
            LatencyTableError, SearchSpaceError, SubsetError, OutputPathError,
            DeriveError, RunConfigError, WorkDirLockedError, RankTimeoutError)


def error_message(err: BaseException) -> str:
    """The message of an input error; for one re-raised from a DataLoader
    worker (torch wraps it as ``Caught X in DataLoader worker process N.
    Original Traceback ...``), the original message without the worker's
    traceback."""
    text = str(err)
    name = type(err).__name__
    if not text.startswith(f'Caught {name} in DataLoader worker'):
        return text
    where = text.split('.', 1)[0][len(f'Caught {name} '):]
    marker = f'{name}: '
    start = text.rfind(marker)
    return text[start + len(marker):].rstrip() + f' ({where})' if start >= 0 \
        else text


def run_cli(main: Callable[[], Any]) -> int:
    """Run a tool's ``main``; bad input exits 1 with ``error: message``.

    Anything else keeps its traceback (also ``FloatingPointError``, a
    search stopped on NaN or divergence: its message says what to do).

    Returns:
        int: The exit status (``main``'s int result, else 0).
    """
    try:
        result = main()
    except input_errors() as err:
        rank = os.environ.get('RANK')
        prefix = f'error (rank {rank})' if rank not in (None, '0') else \
            'error'
        print(f'{prefix}: {error_message(err)}', file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


def add_round_args(parser: argparse.ArgumentParser,
                   rounds: int = 5,
                   min_repeats: int = 5,
                   max_repeats: int = 20,
                   max_seconds: float = 0.05,
                   extra_rounds: int = 6) -> None:
    """The interleaved-round settings of the latency tools (defaults given
    per tool); :func:`round_settings` reads them back."""
    parser.add_argument(
        '--rounds',
        type=int,
        default=rounds,
        help=f'interleaved rounds (default {rounds})')
    parser.add_argument(
        '--warmup',
        type=int,
        default=2,
        help='untimed calls per op and round (default 2)')
    parser.add_argument(
        '--min-repeats',
        type=int,
        default=min_repeats,
        help=f'timed calls per op and round at least (default {min_repeats})')
    parser.add_argument(
        '--max-repeats',
        type=int,
        default=max_repeats,
        help=f'timed calls per op and round at most (default {max_repeats})')
    parser.add_argument(
        '--max-seconds',
        type=float,
        default=max_seconds,
        help='cap on timed seconds per op and round, <= 0 for none '
        f'(default {max_seconds})')
    parser.add_argument(
        '--tolerance',
        type=float,
        default=0.05,
        help="rounds agree when the value's relative uncertainty is at most "
        'this: for a minimum the gap between the two lowest rounds, for a '
        'median its robust standard error (default 0.05)')
    parser.add_argument(
        '--extra-rounds',
        type=int,
        default=extra_rounds,
        help='rounds added at most to an op whose rounds disagree (default '
        f'{extra_rounds})')


def add_net_timing_args(parser: argparse.ArgumentParser,
                        draws: bool = True) -> None:
    """The options of the tools that time whole nets of a space like a
    table (calibration, held-out check, level check): device, backend,
    draws (of random nets, unless ``draws`` is False), the interleaved
    rounds, clock and threads."""
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--backend',
        choices=['torch', 'onnxruntime-cpu'],
        help="timing backend (default and only accepted: the table's)")
    if draws:
        parser.add_argument(
            '--draws',
            type=int,
            help='random nets drawn to pick the spread from (default 20 x '
            'nets)')
    add_round_args(parser, rounds=7, max_seconds=0.1)
    parser.add_argument(
        '--clock',
        choices=['auto', 'cuda', 'thread', 'wall'],
        help="default: the table's clock")
    parser.add_argument(
        '--threads', type=int, help="torch CPU threads (default the table's)")


def round_settings(args: argparse.Namespace) -> Dict[str, Any]:
    """The keyword arguments of :func:`add_round_args`' options."""
    return dict(
        rounds=args.rounds,
        warmup=args.warmup,
        min_repeats=args.min_repeats,
        max_repeats=args.max_repeats,
        max_seconds=args.max_seconds if args.max_seconds > 0 else None,
        tolerance=args.tolerance,
        extra_rounds=args.extra_rounds)


def print_and_save(report: Dict[str, Any], text: str,
                   out: Optional[str]) -> None:
    """Print a benchmark's table; write its report as JSON to ``out``."""
    from densenas_mm.utils.io import dump_json_atomic
    print(text)
    if out:
        dump_json_atomic(report, out, indent=2)
        print(f'wrote {out}')


class ToolOutput(NamedTuple):
    """What a tool's job returns for its ``main`` to print: the text, the
    exit status and the job's result.

    Attributes:
        status (int): The exit status.
        out (str): Text for stdout ('' for none).
        err (str): Text for stderr ('' for none).
        result (Any): The job's result (what ``main`` returns to a caller
            that imports the tool), None for none.
    """
    status: int
    out: str = ''
    err: str = ''
    result: Any = None


def emit(output: ToolOutput, exit_on_error: bool = False) -> int:
    """Print a job's :class:`ToolOutput` (stdout first, then stderr).

    Args:
        output (ToolOutput): What the job returned.
        exit_on_error (bool): Raise ``SystemExit(status)`` for a non-zero
            status (for tools whose ``main`` returns a result, not a
            status).

    Returns:
        int: The exit status.
    """
    if output.out:
        print(output.out)
    if output.err:
        print(output.err, file=sys.stderr)
    if exit_on_error and output.status:
        raise SystemExit(output.status)
    return output.status


def one_thread_per_run() -> None:
    """Run this process and every worker it spawns with one torch / OpenMP
    thread (``OMP_NUM_THREADS=1`` unless set): the benchmarks run several
    one-thread runs at once on a few cores."""
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    import torch
    torch.set_num_threads(1)


def command_line(tool: str, argv: Optional[Sequence[str]] = None) -> str:
    """The command that ran a tool, as a shell line for its report.

    Args:
        tool (str): The tool's path from the repository root, e.g.
            ``'tools/benchmark/budget_front.py'``.
        argv (Sequence[str], optional): Its arguments; ``sys.argv[1:]``
            when None (a call from the shell).

    Returns:
        str: ``python <tool> <arguments>``, quoted so that it pastes back
        into a shell unchanged.
    """
    given = sys.argv[1:] if argv is None else argv
    return shlex.join(['python', tool] + list(given))
