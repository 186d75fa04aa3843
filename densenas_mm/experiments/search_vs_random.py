"""Searched vs random, with statistics: the comparison protocol (issue 21.4).

Arms, one net each per search seed ``k`` (seeds fixed on the command line):

* **searched**: a search with the search config (:func:`.runs.search`,
  resumable); its net is ``arch/last.yaml`` by default (the
  architecture derived at the end of the search, what the paper retrains)
  or ``arch/best.yaml`` (the epoch with the best supernet validation);
* **random**: the ``n_random`` first nets of the shared pool
  (:func:`.pool.load_or_draw_pool`, the signal check's file
  format; ``pool`` reuses one) within ``tolerance`` of the searched net's
  own predicted latency, the window widened stepwise up to
  ``max_tolerance`` when it holds fewer (:mod:`.latency_windows`; the
  window used is reported);
* **RS-WS** (random search with weight sharing, equal cost): one supernet
  trained for the search's total epochs with weight steps only (the
  warm-up hook's ``warmup_epochs`` = ``max_epochs``: uniformly sampled ops,
  and with ``weight_paths='sampled'``, the default, one uniformly sampled
  path per step), then the ``rsws_candidates`` first pool nets in each
  searched net's latency window scored by the supernet with recalibrated
  BN on search-val (:mod:`.rsws`, :mod:`.supernet_score`); the best is
  retrained;
* **hand-designed**: the uniform MobileNetV2-like net of the space whose
  predicted latency is closest to the searched net's
  (:mod:`.hand_designed`);
* **extra searched arms** (``extra_arms``, optional): other search configs
  and options, each searched once per search seed and matched to its own
  latency windows of the same pool (:mod:`.searched_arms`).

Every net is retrained with the first ``seeds`` seeds of ``seed_list``:
one retrain per net and seed (a net serving several arms or windows,
identified by its ``net_config``, is retrained once:
:mod:`.protocol_nets`), each run in its own worker process and reused
when finished (:mod:`.workers`), so a protocol can be split over
sittings; ``finished_only`` reports what has finished.
Statistics: :mod:`.arm_stats`. Results (atomic): ``results.json``,
``results.md``, ``results.png`` (:mod:`.search_vs_random_report`). The
command line: ``tools/benchmark/search_vs_random.py``.
"""
import json
import os.path as osp
from dataclasses import asdict
from typing import Any, Dict, List, Optional, Sequence

from densenas_mm.utils.io import dump_json_atomic, write_text_atomic
from densenas_mm.utils.options import ConfigError
from . import arm_stats
from .hand_designed import closest_uniform, uniform_nets
from .protocol_nets import (NetBook, latency_estimator, measure_protocol_nets,
                            retrain_nets)
from .pool import load_or_draw_pool
from .rsws import rsws_arm, rsws_options
from .runs import SEED_LIST, retrain_options, schedule_options, search
from .searched_arms import (arm_scores, check_same_space, extra_arm_record,
                            match_searched, parse_extra_arms, random_scores)
from .workers import DONE_FILE, cpu_seconds, parallel

#: The arms compared with the random nets.
ARMS = ('searched', 'rsws', 'hand')


def search_done(work_dir: str, arch: str) -> bool:
    """Whether a search work dir holds a finished search and its net."""
    done = osp.join(work_dir, DONE_FILE)
    if not osp.isfile(done) or not osp.isfile(
            osp.join(work_dir, 'arch', f'{arch}.yaml')):
        return False
    with open(done, encoding='utf-8') as f:
        return 'train' in json.load(f)


def search_vs_random(config: str,
                     subnet_config: str,
                     lut: str,
                     *,
                     work_dir: str = 'work_dirs/search_vs_random',
                     search_seeds: Sequence[int] = (0, 1, 2, 3),
                     seeds: int = 3,
                     seed_list: Sequence[int] = SEED_LIST,
                     n_random: int = 10,
                     tolerance: float = 0.01,
                     max_tolerance: float = 0.05,
                     arch: str = 'last',
                     search_epochs: Optional[int] = None,
                     warmup_epochs: Optional[int] = None,
                     search_options: Sequence[str] = (),
                     extra_arms: Sequence[str] = (),
                     retrain_epochs: Optional[int] = None,
                     subnet_options: Sequence[str] = (),
                     pool: Optional[str] = None,
                     pool_seed: int = 0,
                     pool_draws: int = 5000,
                     latency_key: str = 'latency',
                     rsws: bool = True,
                     rsws_candidates: int = 100,
                     rsws_seed: Optional[int] = None,
                     rsws_weight_paths: str = 'sampled',
                     recal_batches: int = 20,
                     hand: bool = True,
                     hand_head_op: Optional[str] = None,
                     hand_stack_op: Optional[str] = None,
                     jobs: int = 2,
                     measure: bool = False,
                     bootstrap_reps: int = 2000,
                     finished_only: bool = False,
                     allow_noisy_lut: bool = False,
                     command: Optional[str] = None) -> Dict[str, Any]:
    """Run the protocol (module doc); resumable.

    Args:
        config (str): The search config.
        subnet_config (str): The retrain config.
        lut (str): The latency table of searches and matching (calibrated
            where it carries a calibration).
        work_dir (str): Where everything goes.
        search_seeds (Sequence[int]): One search per seed.
        seeds (int): Retrain seeds of every net (the first of
            ``seed_list``).
        seed_list (Sequence[int]): The shared seed list.
        n_random (int): Random nets per searched net.
        tolerance (float): Relative latency window of the matching.
        max_tolerance (float): The widest window (stepwise widening).
        arch (str): ``'last'`` or ``'best'``: a search's net.
        search_epochs (int, optional): Override the search's max_epochs.
        warmup_epochs (int, optional): Override its warm-up.
        search_options (Sequence[str]): More search ``key=value`` options
            (of every search, the extra arms' too).
        extra_arms (Sequence[str]): Extra searched arms,
            ``NAME=CONFIG[,KEY=VALUE...]`` each (:mod:`.searched_arms`).
        retrain_epochs (int, optional): Override the retrain's epochs.
        subnet_options (Sequence[str]): More retrain options.
        pool (str, optional): The pool file (default
            ``<work_dir>/pool.json.gz``; drawn when missing).
        pool_seed (int): Seed of the pool's draws.
        pool_draws (int): Draws of the pool.
        latency_key (str): The estimator's number the pool is matched on.
        rsws (bool): Run the RS-WS arm.
        rsws_candidates (int): Candidates per searched net.
        rsws_seed (int, optional): Seed of the RS-WS supernet (default:
            the first search seed).
        rsws_weight_paths (str): ``'sampled'`` (one uniform path per step)
            or ``'all'`` (every path, as the search's warm-up).
        recal_batches (int): BN recalibration batches of the scoring.
        hand (bool): Run the hand-designed arm.
        hand_head_op (str, optional): Its head op (default: module rule).
        hand_stack_op (str, optional): Its stacking op.
        jobs (int): Runs at once.
        measure (bool): Measure every net's whole-net latency here.
        bootstrap_reps (int): Bootstrap replicates.
        finished_only (bool): Start nothing; report what has finished.
        allow_noisy_lut (bool): Use a table marked noisy.
        command (str, optional): The command line, recorded.

    Returns:
        dict: What ``results.json`` holds.

    Raises:
        ConfigError: Bad counts or windows, a bad extra arm, too few
            random nets in a window (at ``max_tolerance``), a pool of other
            settings, nothing finished with ``finished_only``.
        ValueError: A work dir of other nets.
        RuntimeError: A run failed (with its log's end).
    """
    settings = {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in locals().items()}
    from densenas_mm.apis.random_arch import build_search_mutator
    from densenas_mm.latency.schema import LatencyTableError
    from .search_vs_random_report import format_report, plot_report
    if not search_seeds or n_random < 1 or seeds < 1:
        raise ConfigError(f'need at least one search seed, one random net '
                         f'and one retrain seed, got {list(search_seeds)}, '
                         f'{n_random}, {seeds}')
    if seeds > len(seed_list):
        raise ConfigError(f'--seeds {seeds} exceeds the seed list '
                         f'{list(seed_list)}')
    if arch not in ('last', 'best'):
        raise ConfigError(f"arch must be 'last' or 'best', got {arch!r}")
    wd = osp.abspath(work_dir)
    lut = osp.abspath(lut)
    if not osp.isfile(lut):
        raise LatencyTableError(f'no latency table {lut}: build it with '
                                'tools/build_latency_lut.py')
    if not 0 < tolerance <= max_tolerance:
        raise ConfigError(f'need 0 < --tolerance <= --max-tolerance, got '
                          f'{tolerance} and {max_tolerance}')
    if rsws and rsws_candidates < 1:
        raise ConfigError(f'--rsws-candidates must be >= 1, got '
                          f'{rsws_candidates}')
    extras = parse_extra_arms(extra_arms)
    n_seeds = len(search_seeds)
    sopts = schedule_options(search_options, search_epochs, warmup_epochs)
    if allow_noisy_lut:
        sopts.append('model.estimator.allow_noisy_lut=True')
    mutator = build_search_mutator(config)
    check_same_space(extras, mutator.space, sopts)
    used_seeds = list(seed_list)[:seeds]
    pool_path = osp.abspath(pool or osp.join(wd, 'pool.json.gz'))
    try:
        the_pool = load_or_draw_pool(pool_path, config, lut, pool_seed,
                                     pool_draws, latency_key=latency_key,
                                     allow_noisy_lut=allow_noisy_lut)
    except ValueError as err:  # a pool of other settings: bad input
        raise ConfigError(str(err)) from None
    pool_lats = [e['latency'] for e in the_pool['archs']]
    rsws_seed = search_seeds[0] if rsws_seed is None else rsws_seed
    rsws_dir = osp.join(wd, 'rsws')
    supernet_dir = osp.join(rsws_dir, 'supernet')
    ropts = (rsws_options(config, sopts, rsws_weight_paths) if rsws
             else [])

    # 1. the searches (default arm, RS-WS supernet, extra arms) at once
    def train(job) -> Optional[str]:
        folder, cfg, opts, which, seed = job
        if finished_only:
            return (osp.join(folder, 'arch', f'{which}.yaml')
                    if search_done(folder, which) else None)
        return search(cfg, folder, seed, lut, opts, which, reuse=True)

    trains = [(osp.join(wd, f'search_s{s}'), config, sopts, arch, s)
              for s in search_seeds]
    trains += [(supernet_dir, config, ropts, 'last', rsws_seed)] if rsws \
        else []
    trains += [(a.folder(wd, s), a.config, a.search_options(sopts), arch, s)
               for a in extras for s in search_seeds]
    trained = parallel(jobs, train, trains)
    rsws_ckpt = trained[n_seeds] if rsws else None
    extra_trained = trained[n_seeds + int(rsws):]
    latency_of = latency_estimator(mutator, lut, latency_key,
                                   allow_noisy_lut)
    book = NetBook(osp.join(wd, 'nets'))
    match = dict(latency_of=latency_of, n_random=n_random,
                 tolerance=tolerance, max_tolerance=max_tolerance)

    # 2. searched nets and their windows of random nets
    slots: List[Dict[str, Any]] = []
    for seed, path in zip(search_seeds, trained):
        slot: Dict[str, Any] = dict(search_seed=seed, searched=None)
        slots.append(slot)
        if path is not None:
            m = match_searched(book, the_pool, path, 'searched', seed,
                               **match)
            slot.update(searched=m['net'], window=m['window'],
                        random=m['random'])

    # 3. RS-WS: candidates in each window, scored by the supernet
    searched_slots = [s for s in slots if s['searched'] is not None]
    rsws_done = rsws_ckpt is not None
    if rsws_done:
        rsws_done = rsws_arm(config, lut, book, the_pool, searched_slots,
                             rsws_ckpt, rsws_dir, rsws_candidates,
                             tolerance, max_tolerance, recal_batches,
                             rsws_seed, allow_noisy_lut, finished_only)

    # 4. hand-designed: the closest uniform net
    if hand and searched_slots:
        candidates = uniform_nets(mutator.space, mutator.graph, latency_of,
                                  hand_head_op, hand_stack_op)
        for slot in searched_slots:
            u = closest_uniform(candidates, slot['searched'].latency)
            slot['hand'] = book.add(
                u.arch, f'uniform_{candidates.index(u)}', u.latency,
                f'hand_s{slot["search_seed"]}')

    # 5. extra searched arms, each net in its own window (added last: the
    # nets the other arms named keep their names and finished runs)
    extra_slots = {}
    for k, arm in enumerate(extras):
        paths = extra_trained[k * n_seeds:(k + 1) * n_seeds]
        extra_slots[arm.name] = [
            dict(search_seed=seed, **({} if path is None else match_searched(
                book, the_pool, path, arm.name, seed, **match)))
            for seed, path in zip(search_seeds, paths)
        ]

    # 6. retrains
    nets = list(book.nets.values())
    done = retrain_nets(nets, subnet_config, used_seeds, wd,
                        retrain_options(subnet_options, retrain_epochs),
                        jobs, finished_only)
    if measure and nets:
        measure_protocol_nets(nets, lut)

    # 7. statistics
    def arm_of(key: str) -> List[Optional[Dict[int, float]]]:
        return arm_scores([slot.get(key) for slot in slots])

    randoms = random_scores(slots)
    comparisons = {
        arm: arm_stats.compare_arm(arm_of(arm), randoms, bootstrap_reps)
        for arm in ARMS
    }
    if comparisons['searched']['pooled'] is None:
        raise ConfigError(
            f'no search seed has a finished searched net and finished '
            f'random nets in {wd}: run without --finished-only')
    between = {
        f'searched-{arm}': arm_stats.compare_arms(
            arm_of('searched'), arm_of(arm), bootstrap_reps)
        for arm in ('rsws', 'hand')
    }
    extra_records = {
        arm.name: extra_arm_record(arm, extra_slots[arm.name],
                                   arm_of('searched'), wd, bootstrap_reps)
        for arm in extras
    }
    cpu = dict(
        searches=sum(cpu_seconds(osp.join(wd, f'search_s{s}'))
                     for s in search_seeds) / 3600,
        rsws=(cpu_seconds(supernet_dir) + cpu_seconds(rsws_dir)) / 3600,
        retrains=done.cpu_hours,
        extra_searches=sum(r['cpu_hours'] for r in extra_records.values()))
    result = dict(
        settings=settings, command=command, pool=pool_path,
        pool_size=len(pool_lats), retrain_seeds=used_seeds,
        slots=[_slot_record(s) for s in slots],
        nets=[asdict(n) for n in nets], comparisons=comparisons,
        between=between, extra_arms=extra_records,
        rsws_finished=bool(rsws_done),
        runs=done.runs, planned_runs=done.planned,
        new_runs=done.new, machines=done.machines,
        cpu_hours=dict(cpu, total=sum(cpu.values())))
    text = format_report(result)
    dump_json_atomic(result, osp.join(wd, 'results.json'))
    write_text_atomic(text, osp.join(wd, 'results.md'))
    plot_report(result, osp.join(wd, 'results.png'))
    print(text, end='')
    return result


def _slot_record(slot: Dict[str, Any]) -> Dict[str, Any]:
    """What results.json keeps of a search seed's arms (net names)."""
    rec: Dict[str, Any] = dict(search_seed=slot['search_seed'])
    for key in ('searched', 'rsws', 'hand'):
        net = slot.get(key)
        rec[key] = None if net is None else net.name
    rec['random'] = [n.name for n in slot.get('random', [])]
    for key in ('window', 'rsws_window'):
        win = slot.get(key)
        rec[key] = None if win is None else win.as_dict()
    return rec


__all__ = ['ARMS', 'search_done', 'search_vs_random']
