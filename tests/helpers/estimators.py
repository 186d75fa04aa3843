"""Helpers of the estimator tests: a fake mutator, path -> DerivedArch."""
import hashlib
import itertools
from typing import (Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple)

import torch

from densenas_mm.latency import LatencyTable, arch_parts, space_ops
from densenas_mm.search_space import (SearchSpace, SpaceGraph, load_preset,
                                      naming)
from densenas_mm.structures import DerivedArch, DerivedBlock

# the demo preset itself (configs/_base_/search_spaces/densenas_demo_32.py)
DEMO = load_preset('densenas_demo_32').to_dict()

# Smaller still: 3 blocks, 2 layers in block 2, every op combination of
# every path can be enumerated.
TINY = dict(
    name='tiny',
    input_size=16,
    stem_channels=4,
    stem_stride=2,
    stem_ops=['mbconv_k3_t1'],
    widths=[6, 8, 10],
    resolutions=[8, 4, 4],
    stages=[1, 2, 2],
    num_layers=[1, 2, 0],
    connections=3,
    head_ops=['mbconv_k3_t3', 'mbconv_k5_t6'],
    stack_ops=['mbconv_k3_t3', 'mbconv_k3_t6', 'skip_connect'],
    last_dim=16,
    num_classes=5,
    act='relu6')


def hashed_cost(sig) -> float:
    """A deterministic pseudo-random positive cost per signature; skip costs
    0, as with a table that has no skip entries (the tables built here)."""
    if sig.is_skip:
        return 0.0
    digest = hashlib.sha256(sig.key.split('|b')[0].encode()).digest()
    return 0.1 + int.from_bytes(digest[:4], 'little') / 2**32


def synthetic_table(space: SearchSpace,
                    batch_size: int = 1,
                    device: str = 'synthetic',
                    dtype: str = 'float32',
                    memory_format: str = 'contiguous') -> LatencyTable:
    """A table with :func:`hashed_cost` entries for every op of ``space``."""
    meta = dict(
        device=device,
        batch_size=batch_size,
        dtype=dtype,
        memory_format=memory_format,
        unit='ms')
    table = LatencyTable(meta)
    for sig in space_ops(space, batch_size=batch_size, dtype=dtype,
                         memory_format=memory_format).unique():
        table.add(sig, hashed_cost(sig), 0.0, 1)
    return table


class FakeMutator:
    """What ChainedLatencyEstimator needs of DenseRoutingMutator.

    Args:
        space (SearchSpace): The space.
        alphas (dict): alias -> logits over all candidates.
        betas (dict): src -> logits over ``graph.outgoing[src]``.
        subsets (dict, optional): alias -> candidate indices in play.
        onehot (bool): Return exact one-hot weights of the argmax.
    """

    def __init__(self, space, alphas, betas, subsets=None, onehot=False):
        self.space = space
        self.graph = SpaceGraph(space)
        self.alphas, self.betas = alphas, betas
        self.subsets = subsets or {}
        self.onehot = onehot

    def op_distribution(self,
                        alias: str,
                        all_ops: bool = False
                        ) -> Tuple[List[int], torch.Tensor]:
        alpha = self.alphas[alias]
        idx = list(range(alpha.numel()) if all_ops else self.subsets.get(
            alias, range(alpha.numel())))
        logits = alpha[idx]
        if self.onehot:
            return idx, torch.nn.functional.one_hot(logits.argmax(),
                                                    len(idx)).to(alpha.dtype)
        return idx, torch.softmax(logits, 0)

    def route_probs(self, src: int) -> torch.Tensor:
        if self.onehot:
            beta = self.betas[src]
            return torch.nn.functional.one_hot(beta.argmax(),
                                               beta.numel()).to(beta.dtype)
        return torch.softmax(self.betas[src], 0)


def random_params(space: SearchSpace,
                  seed: int = 0,
                  dtype=torch.float64,
                  scale: float = 1.0):
    """Random alpha / beta logits for every mutable of ``space``."""
    gen = torch.Generator().manual_seed(seed)
    graph = SpaceGraph(space)
    ops = space_ops(space, graph)
    alphas = {
        a:
        scale * torch.randn(len(space.head_ops), generator=gen, dtype=dtype)
        for a in ops.heads
    }
    alphas.update({
        a:
        scale * torch.randn(len(space.stack_ops), generator=gen, dtype=dtype)
        for a in ops.stacks
    })
    betas = {
        i: scale *
        torch.randn(len(graph.outgoing[i]), generator=gen, dtype=dtype)
        for i in graph.nodes if graph.outgoing[i]
    }
    return alphas, betas


def all_paths(graph: SpaceGraph) -> Iterator[List[int]]:
    """Every node path 0 -> terminal."""

    def walk(node: int, path: List[int]):
        if node == graph.terminal:
            yield path
            return
        for nxt in graph.outgoing[node]:
            yield from walk(nxt, path + [nxt])

    yield from walk(0, [0])


def path_mutables(space: SearchSpace, graph: SpaceGraph,
                  path: Sequence[int]) -> List[str]:
    """Aliases of the head branches and stacking layers on ``path``."""
    aliases = []
    for src, dst in zip(path, path[1:]):
        if dst == graph.terminal:
            continue
        aliases.append(naming.head_alias(dst, src))
        aliases += [
            naming.layer_alias(dst, k) for k in range(graph.num_layers[dst])
        ]
    return aliases


def path_arch(space: SearchSpace, graph: SpaceGraph, path: Sequence[int],
              choice: Dict[str, int]) -> DerivedArch:
    """The DerivedArch of ``path`` with op ``choice[alias]`` (skips
    dropped)."""
    blocks = []
    for src, dst in zip(path, path[1:]):
        if dst == graph.terminal:
            continue
        head = space.head_ops[choice[naming.head_alias(dst, src)]]
        stack = [
            space.stack_ops[choice[naming.layer_alias(dst, k)]]
            for k in range(graph.num_layers[dst])
        ]
        blocks.append(
            DerivedBlock(
                graph.widths[src],
                graph.widths[dst],
                head, [op for op in stack if op != 'skip_connect'],
                graph.edge(src, dst).stride,
                node=dst,
                src=src))
    return DerivedArch(
        family=space.family,
        stem_channels=space.stem_channels,
        stem_ops=list(space.stem_ops),
        blocks=blocks,
        last_dim=space.last_dim,
        stem_stride=space.stem_stride,
        input_size=space.input_size,
        num_classes=space.num_classes,
        act=space.act,
        path=list(path))


def argmax_arch(space: SearchSpace, graph: SpaceGraph, alphas: Dict,
                betas: Dict) -> Tuple[List[int], Dict[str, int], DerivedArch]:
    """The path following argmax(beta) from node 0, the argmax op of every
    mixed op, and their DerivedArch."""
    path = [0]
    while path[-1] != graph.terminal:
        path.append(graph.outgoing[path[-1]][int(betas[path[-1]].argmax())])
    choice = {a: int(v.argmax()) for a, v in alphas.items()}
    return path, choice, path_arch(space, graph, path, choice)


def choices(aliases: Sequence[str], subsets: Dict[str, Sequence[int]],
            sizes: Dict[str, int]) -> Iterator[Dict[str, int]]:
    """Every op combination of ``aliases`` (within ``subsets``)."""
    pools = [list(subsets.get(a, range(sizes[a]))) for a in aliases]
    for combo in itertools.product(*pools):
        yield dict(zip(aliases, combo))


def subset_of(alias: str, n: int, seed: Optional[int]) -> List[int]:
    """A deterministic pair of candidates of ``alias``."""
    start = int(hashlib.md5(f'{alias}{seed}'.encode()).hexdigest(), 16) % n
    return [start, (start + 1) % n]


def plain_sum(arch: DerivedArch) -> float:
    """The sum of :func:`hashed_cost` over a net's ops."""
    return sum(hashed_cost(s) for _, sigs in arch_parts(arch) for s in sigs)


def exact_expectation(space: SearchSpace,
                      mut: FakeMutator,
                      arch_cost: Callable[[DerivedArch], float] = plain_sum
                      ) -> float:
    """Enumerate every path and every op combination in play: the
    expectation of ``arch_cost`` over the nets they derive."""
    graph = mut.graph
    sizes = {
        **{a: len(space.head_ops) for a in mut.alphas},
        **{a: len(space.stack_ops) for a in mut.alphas if '_layer' in a}
    }
    total = 0.0
    for path in all_paths(graph):
        p_path = 1.0
        for i, j in zip(path, path[1:]):
            p_path *= float(mut.route_probs(i)[graph.outgoing[i].index(j)])
        aliases = path_mutables(space, graph, path)
        dist = {a: mut.op_distribution(a) for a in aliases}
        subsets = {a: d[0] for a, d in dist.items()}
        for choice in choices(aliases, subsets, sizes):
            p_ops = 1.0
            for a, k in choice.items():
                p_ops *= float(dist[a][1][dist[a][0].index(k)])
            total += p_path * p_ops * arch_cost(
                path_arch(space, graph, path, choice))
    return total
