"""One search, many budgets: does it pay? (issue 23 item 4).

Arms, per latency budget ``T`` (everything fixed on the command line):

* **front**: the net :func:`densenas_mm.apis.budgets.derive_budgets`
  derives for ``T`` from the checkpoint of **one** search (seed
  ``search_seed``; ``search_dir`` reuses a finished search, e.g. one of the
  searched-vs-random protocol's work dir), on the same table (calibrated
  where it is): the most probable net costing between ``(1 - window) * T``
  and ``T`` (the most probable one under ``T`` when none lies there), its
  files in ``<work_dir>/front/``;
* **random**: the ``n_random`` first nets of the shared pool within
  ``tolerance`` of **that front net's own** predicted latency, widened
  stepwise up to ``max_tolerance`` (:func:`.searched_arms.match_searched`,
  the protocol's rule; the window used is reported);
* **budget search**: a separate search with ``model.cost_loss.target=T``
  and the same seed, options and ``budget_window`` (= ``window``) in
  ``<work_dir>/budget_<T>_s<seed>/``; its net is ``arch/budget.yaml``
  (:mod:`densenas_mm.apis.latency_budget`: the same derivation rule on the
  budget search's own alpha / beta).

Every net is retrained with the first ``seeds`` seeds of ``seed_list``
once per seed, whatever its roles (a net that two budgets or two arms
share is one net: :class:`.protocol_nets.NetBook`,
:func:`.protocol_nets.retrain_nets`); each search and retrain runs in its
own worker process and is reused when finished, so the experiment resumes
and can be split over sittings (``finished_only`` reports what has
finished). Statistics: :mod:`.arm_stats`; the report and the figure:
:mod:`.budget_front_report`. The command line:
``tools/benchmark/budget_front.py``.
"""
import os.path as osp
import time
from dataclasses import asdict
from typing import Any, Dict, List, Optional, Sequence

from densenas_mm.apis.latency_budget import BUDGET_WINDOW
from densenas_mm.utils.io import write_report
from densenas_mm.utils.options import ConfigError
from . import arm_stats
from .pool import load_or_draw_pool, read_pool
from .protocol_nets import (NetBook, latency_estimator, measure_protocol_nets,
                            retrain_nets)
from .runs import SEED_LIST, retrain_options, schedule_options, search
from .search_vs_random import search_done
from .searched_arms import arm_scores, match_searched, random_scores
from .workers import cpu_seconds, parallel


def budget_dir(work_dir: str, budget: float, seed: int) -> str:
    """The work dir of the budget search for ``budget``."""
    return osp.join(work_dir, f'budget_{budget:g}_s{seed}')


def cheapest_cost(config: str, lut: str,
                  allow_noisy_lut: bool = False) -> float:
    """Predicted cost of the cheapest net of the search config's space on
    ``lut`` (the derivation's costs; alpha / beta do not change it)."""
    from densenas_mm.apis.budgets import budget_estimator
    from densenas_mm.apis.model_io import load_config
    from densenas_mm.apis.random_arch import build_search_mutator
    from densenas_mm.models.estimators.budget_derivation import pareto_front
    mutator = build_search_mutator(config)
    est = budget_estimator(load_config(config), None, lut, allow_noisy_lut)
    return pareto_front(est.space_costs(mutator.space), mutator.space,
                        mutator.host_arch_params(), mutator.graph)[0].cost


def check_inputs(config: str, lut: str, pool: str, budgets: Sequence[float],
                 seeds: int, seed_list: Sequence[int], n_random: int,
                 tolerance: float, max_tolerance: float, window: float,
                 search_dir: Optional[str],
                 allow_noisy_lut: bool) -> Dict[str, Any]:
    """Every input checked before anything runs; returns the pool.

    Raises:
        ConfigError: No budget, a budget <= 0, repeated or below the
            cheapest net of the space, bad counts, windows or tolerances, a
            missing table or pool, a pool of another config or table, a
            ``search_dir`` without a finished search and its checkpoint.
    """
    from densenas_mm.utils.resume import read_last_checkpoint
    names = {f'{b:g}' for b in budgets}  # folder and file names
    if not budgets or min(budgets) <= 0 or len(names) < len(budgets):
        raise ConfigError(f'--budgets takes distinct latencies > 0 (ms, '
                          'distinct in 6 significant digits; 3 or more for a '
                          f'front), got {list(budgets)}')
    if n_random < 1 or seeds < 1 or seeds > len(seed_list):
        raise ConfigError(f'need --random >= 1 and 1 <= --seeds <= '
                          f'{len(seed_list)} (the seed list), got '
                          f'{n_random} and {seeds}')
    if not 0 < tolerance <= max_tolerance:
        raise ConfigError(f'need 0 < --tolerance <= --max-tolerance, got '
                          f'{tolerance} and {max_tolerance}')
    if not 0 <= window < 1:
        raise ConfigError(f'--window takes W in [0, 1), got {window}')
    for what, path, how in (('latency table', lut, 'build it with '
                             'tools/build_latency_lut.py'),
                            ('pool', pool, 'draw one with tools/benchmark/'
                             'signal_check.py or search_vs_random.py')):
        if not osp.isfile(path):
            raise ConfigError(f'no {what} {path}: {how}')
    if search_dir is not None and not (
            search_done(search_dir, 'last')
            and read_last_checkpoint(search_dir)):
        raise ConfigError(f'--search-dir {search_dir} holds no finished '
                          'search with its checkpoint (done.json, '
                          'arch/last.yaml, last_checkpoint): give a finished'
                          ' search or leave --search-dir out to run one')
    if search_dir is not None and not osp.isfile(
            read_last_checkpoint(search_dir)):
        raise ConfigError(f'--search-dir {search_dir}: its last_checkpoint '
                          f'names {read_last_checkpoint(search_dir)}, which '
                          'does not exist (the front is derived from it): '
                          'give the search folder with its checkpoint, or '
                          'leave --search-dir out to run one')
    own = read_pool(pool)
    try:  # the pool's own draw settings; its config and table must match
        the_pool = load_or_draw_pool(pool, config, lut, own.get('seed'),
                                     own.get('draws'), own.get('std'),
                                     allow_noisy_lut=allow_noisy_lut)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    low = cheapest_cost(config, lut, allow_noisy_lut)
    below = [b for b in budgets if b < low]
    if below:
        raise ConfigError(f'budgets {below} lie below the cheapest net of '
                          f'the space ({low:.4f} ms on {lut}): no net fits '
                          'them; give budgets of at least that')
    return the_pool


def budget_front(config: str,
                 subnet_config: str,
                 lut: str,
                 pool: str,
                 budgets: Sequence[float],
                 *,
                 search_seed: int = 0,
                 search_dir: Optional[str] = None,
                 seeds: int = 3,
                 seed_list: Sequence[int] = SEED_LIST,
                 n_random: int = 5,
                 tolerance: float = 0.01,
                 max_tolerance: float = 0.05,
                 window: float = BUDGET_WINDOW,
                 search_epochs: Optional[int] = None,
                 warmup_epochs: Optional[int] = None,
                 search_options: Sequence[str] = (),
                 budget_options: Sequence[str] = (),
                 retrain_epochs: Optional[int] = None,
                 subnet_options: Sequence[str] = (),
                 jobs: int = 2,
                 measure: bool = False,
                 bootstrap_reps: int = 2000,
                 finished_only: bool = False,
                 allow_noisy_lut: bool = False,
                 work_dir: str = 'work_dirs/budget_front',
                 command: Optional[str] = None) -> Dict[str, Any]:
    """Run the experiment (module doc); resumable.

    Args:
        config (str): The search config (as the pool was drawn with it).
        subnet_config (str): The retrain config.
        lut (str): The latency table (calibrated where it carries a
            calibration) of every search, derivation and match.
        pool (str): The shared pool of random nets (an existing file,
            :func:`.pool.load_or_draw_pool`'s format).
        budgets (Sequence[float]): Latency budgets (ms; 3 or more).
        search_seed (int): Seed of the one search and the budget searches.
        search_dir (str, optional): A finished search to derive from
            instead of running one (its options should be the budget
            searches').
        seeds (int): Retrain seeds of every net (the first of
            ``seed_list``).
        seed_list (Sequence[int]): The shared seed list.
        n_random (int): Random nets per budget.
        tolerance (float): Relative latency window of the matching.
        max_tolerance (float): The widest window (stepwise widening).
        window (float): Share of a budget below it that a front net and a
            budget search's net may lie (``derive_budgets``' window, the
            budget searches' ``budget_window``).
        search_epochs (int, optional): Override every search's max_epochs.
        warmup_epochs (int, optional): Override their warm-up.
        search_options (Sequence[str]): More options of every search.
        budget_options (Sequence[str]): More options of the budget
            searches only (e.g. ``model.cost_loss.loss_weight=3``).
        retrain_epochs (int, optional): Override the retrain's epochs.
        subnet_options (Sequence[str]): More retrain options.
        jobs (int): Runs at once.
        measure (bool): Measure every net's whole-net latency here.
        bootstrap_reps (int): Bootstrap replicates.
        finished_only (bool): Start nothing; report what has finished.
        allow_noisy_lut (bool): Use a table marked noisy.
        work_dir (str): Where everything goes.
        command (str, optional): The command line, recorded.

    Returns:
        dict: What ``budget_front.json`` holds.

    Raises:
        ConfigError: Bad input (:func:`check_inputs`), too few pool nets in
            a front net's widest window, nothing finished with
            ``finished_only``.
        RuntimeError: A run failed (with its log's end).
    """
    settings = {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in locals().items()}
    from densenas_mm.apis.budgets import derive_budgets
    from densenas_mm.apis.random_arch import build_search_mutator
    from densenas_mm.structures import DerivedArch
    from densenas_mm.utils.resume import read_last_checkpoint
    from .budget_front_report import format_report, plot_report
    budgets = sorted(float(b) for b in budgets)
    wd, lut, pool = (osp.abspath(p) for p in (work_dir, lut, pool))
    search_dir = osp.abspath(search_dir) if search_dir else None
    the_pool = check_inputs(config, lut, pool, budgets, seeds, seed_list,
                            n_random, tolerance, max_tolerance, window,
                            search_dir, allow_noisy_lut)
    sopts = schedule_options(search_options, search_epochs, warmup_epochs)
    if allow_noisy_lut:
        sopts.append('model.estimator.allow_noisy_lut=True')
    front_dir = search_dir or osp.join(wd, f'search_s{search_seed}')

    # 1. the one search (unless reused) and the budget searches, at once
    def train(job) -> Optional[str]:
        folder, opts, which = job
        if finished_only or (folder == search_dir):
            return (osp.join(folder, 'arch', f'{which}.yaml')
                    if search_done(folder, which) else None)
        return search(config, folder, search_seed, lut, opts, which,
                      reuse=True)

    trains = [(front_dir, sopts, 'last')] + [
        (budget_dir(wd, b, search_seed),
         [*sopts, f'model.cost_loss.target={b}', f'budget_window={window}',
          *budget_options], 'budget') for b in budgets]
    trained = parallel(jobs, train, trains)

    # 2. the front nets: one derivation from the one search's checkpoint
    derivation_s, rows = None, {}
    if trained[0] is not None:
        start = time.process_time()
        out = derive_budgets(config, read_last_checkpoint(front_dir),
                             budgets=budgets, lut=lut,
                             out_dir=osp.join(wd, 'front'), window=window,
                             allow_noisy_lut=allow_noisy_lut)
        derivation_s = time.process_time() - start
        if out.status != 0:
            raise ConfigError(out.err)
        rows = {r['budget']: r for r in out.result['budgets']}

    # 3. per budget: the front net and its window, the budget search's net
    latency_of = latency_estimator(build_search_mutator(config), lut,
                                   'latency', allow_noisy_lut)
    book = NetBook(osp.join(wd, 'nets'))
    slots: List[Dict[str, Any]] = []
    for b in budgets:
        slot: Dict[str, Any] = dict(budget=b)
        if b in rows:
            m = match_searched(
                book, the_pool, osp.join(wd, 'front', rows[b]['arch']),
                f'front_{b:g}', search_seed, latency_of, n_random,
                tolerance, max_tolerance)
            slot.update(front=m['net'], window=m['window'],
                        random=m['random'], logp=rows[b]['logp'],
                        derived_cost=rows[b]['cost'])
        slots.append(slot)
    for slot, path in zip(slots, trained[1:]):
        if path is not None:
            arch = DerivedArch.load(path)
            name = f'budget_{slot["budget"]:g}_s{search_seed}'
            slot['budget_net'] = book.add(arch, name, latency_of(arch), name)

    # 4. retrains, measurement
    nets = list(book.nets.values())
    done = retrain_nets(nets, subnet_config, list(seed_list)[:seeds], wd,
                        retrain_options(subnet_options, retrain_epochs),
                        jobs, finished_only)
    if finished_only and done.runs == 0:
        raise ConfigError(f'no finished retrain in {wd}: run without '
                          '--finished-only')
    if measure and nets:
        measure_protocol_nets(nets, lut)

    # 5. statistics and compute
    budget_cpu = {f'{b:g}': cpu_seconds(budget_dir(wd, b, search_seed)) /
                  3600 for b in budgets}
    cpu = dict(search=cpu_seconds(front_dir) / 3600,
               derivation=(derivation_s or 0.0) / 3600,
               budget_searches=budget_cpu, retrains=done.cpu_hours)
    cpu['one_search_total'] = cpu['search'] + cpu['derivation']
    cpu['budget_searches_total'] = sum(budget_cpu.values())
    result = dict(
        settings=settings, command=command, pool=pool,
        pool_size=len(the_pool['archs']), front_dir=front_dir,
        front_search_reused=search_dir is not None,
        retrain_seeds=list(seed_list)[:seeds],
        budgets=[budget_record(s, bootstrap_reps) for s in slots],
        pooled=pooled_record(slots, bootstrap_reps),
        nets=[asdict(n) for n in nets], runs=done.runs,
        planned_runs=done.planned, new_runs=done.new,
        machines=done.machines,
        derivation_cpu_s=derivation_s, cpu_hours=cpu)
    text = format_report(result)
    write_report(wd, 'budget_front', result, text)
    plot_report(result, osp.join(wd, 'budget_front.png'))
    return result


def budget_record(slot: Dict[str, Any], reps: int) -> Dict[str, Any]:
    """What ``budget_front.json`` keeps of one budget: the nets by name,
    the window, each arm's mean top-1 with its CI, front minus random
    (with the front net's percentile and the pairs it wins) and front minus
    the budget search (:mod:`.arm_stats`)."""
    front, bnet = slot.get('front'), slot.get('budget_net')
    rand = slot.get('random', [])
    f_scores, b_scores = arm_scores([front, bnet])
    r_scores = random_scores([slot])[0]
    win = slot.get('window')
    vs_random = arm_stats.compare_arm([f_scores], [r_scores], reps)
    return dict(
        budget=slot['budget'], front=front.name if front else None,
        budget_search=bnet.name if bnet else None,
        same_net=front is not None and front is bnet,
        random=[n.name for n in rand],
        window=None if win is None else win.as_dict(),
        logp=slot.get('logp'), derived_cost=slot.get('derived_cost'),
        means=dict(front=arm_stats.arm_mean([f_scores], reps),
                   random=arm_stats.arm_mean(r_scores, reps),
                   budget_search=arm_stats.arm_mean([b_scores], reps)),
        front_minus_random=vs_random['per_seed'][0],
        front_minus_budget_search=arm_stats.compare_arms(
            [f_scores], [b_scores], reps))


def pooled_record(slots: Sequence[Dict[str, Any]],
                  reps: int) -> Dict[str, Any]:
    """Front minus random and front minus the budget search over all
    budgets at once (:func:`.arm_stats.compare_arm` / ``compare_arms`` with
    the budgets in the place of search seeds). A front net that several
    budgets share (with its random nets) counts once, and so does a pair of
    front and budget-search nets; ``budgets`` lists the budgets counted."""
    seen_front, seen_pair, kept, pairs = set(), set(), [], []
    for slot in slots:
        front, bnet = slot.get('front'), slot.get('budget_net')
        if front is None:
            continue
        if front.name not in seen_front:
            seen_front.add(front.name)
            kept.append(slot)
        if bnet is not None and (front.name, bnet.name) not in seen_pair:
            seen_pair.add((front.name, bnet.name))
            pairs.append((front, bnet))
    vs_random = arm_stats.compare_arm(
        arm_scores([s['front'] for s in kept]), random_scores(kept), reps)
    return dict(
        budgets=[s['budget'] for s in kept],
        front_minus_random=vs_random['pooled'],
        front_minus_budget_search=arm_stats.compare_arms(
            arm_scores([f for f, _ in pairs]),
            arm_scores([b for _, b in pairs]), reps))


__all__ = ['budget_dir', 'budget_front', 'budget_record', 'cheapest_cost',
           'check_inputs', 'pooled_record']
