"""The DenseNAS supernet graph: nodes, edges and paths of a search space.

Node 0 is the stem output, nodes 1..N the candidate blocks, node N+1 the
terminal. Block i links to the blocks after it by the paper's rule: scan
j = i+1, i+2, ..., keep at most ``connections`` of them, and *stop* at the
first j whose stage is more than one above i's or whose resolution ratio to
i is not 1 or 2. Every path therefore visits every stage.
"""
from dataclasses import dataclass
from typing import Dict, List, Tuple

from .errors import SearchSpaceError


@dataclass(frozen=True)
class Edge:
    """A connection ``src -> dst``.

    Attributes:
        src (int): Source node.
        dst (int): Destination node.
        stride (int): 1 or 2, from the resolution ratio.
        out_index (int): Position of ``dst`` among ``src``'s outgoing edges
            (index into the source's beta vector).
        in_index (int): Position of ``src`` among ``dst``'s incoming edges,
            nearest predecessor first (index of the head branch).
    """
    src: int
    dst: int
    stride: int
    out_index: int
    in_index: int


class SpaceGraph:
    """Graph of a :class:`SearchSpace`.

    Args:
        space (SearchSpace): The (already list-checked) space; the graph
            reads its per-block lists, stem, ``last_dim`` and
            ``connections_of_stage``.

    Raises:
        SearchSpaceError: If no path links the stem to the terminal or a
            block cannot be reached.
    """

    def __init__(self, space: 'SearchSpace') -> None:  # noqa: F821
        self.space = space
        n = space.num_blocks
        self.terminal = n + 1
        self.widths = [space.stem_channels] + list(space.widths) + [
            space.last_dim
        ]
        self.resolutions = [space.stem_resolution] + list(
            space.resolutions) + [space.resolutions[-1]]
        self.stages = [0] + list(space.stages) + [space.num_stages + 1]
        self.num_layers = [0] + list(space.num_layers) + [0]
        pairs = self._connect()
        self.outgoing: Dict[int, List[int]] = {i: [] for i in self.nodes}
        self.incoming: Dict[int, List[int]] = {i: [] for i in self.nodes}
        for src, dst in pairs:
            self.outgoing[src].append(dst)
        for src, dst in sorted(pairs, key=lambda p: (p[1], -p[0])):
            self.incoming[dst].append(src)
        self.edges: List[Edge] = []
        self._edge_of: Dict[Tuple[int, int], Edge] = {}
        for src, dst in pairs:
            edge = Edge(src, dst,
                        self.resolutions[src] // self.resolutions[dst],
                        self.outgoing[src].index(dst),
                        self.incoming[dst].index(src))
            self.edges.append(edge)
            self._edge_of[(src, dst)] = edge
        self._check_reachable()

    # ------------------------------------------------------------ building
    @property
    def nodes(self) -> range:
        """All nodes, 0..N+1."""
        return range(self.terminal + 1)

    @property
    def blocks(self) -> range:
        """The candidate blocks 1..N."""
        return range(1, self.terminal)

    def _connect(self) -> List[Tuple[int, int]]:
        pairs = []
        for i in range(self.terminal):
            limit = self.space.connections_of_stage(self.stages[i])
            for j in range(i + 1, self.terminal + 1):
                if len([p for p in pairs if p[0] == i]) >= limit:
                    break
                if self.stages[j] - self.stages[i] > 1:
                    break
                ratio, rem = divmod(self.resolutions[i], self.resolutions[j])
                if rem or ratio not in (1, 2):
                    break
                pairs.append((i, j))
        return pairs

    def _check_reachable(self) -> None:
        reach = {0}
        for i in self.nodes:
            if i in reach:
                reach.update(self.outgoing[i])
        if self.terminal not in reach:
            raise SearchSpaceError(
                'no path leads from the stem to the terminal; check '
                'connections (must be >= 1) and that every stage is reachable')
        lost = [j for j in self.blocks if j not in reach]
        if lost:
            raise SearchSpaceError(f'blocks {lost} cannot be reached from '
                                   'the stem')
        dead = [i for i in self.blocks if not self.outgoing[i]]
        if dead:
            raise SearchSpaceError(f'blocks {dead} have no outgoing edge')

    # ------------------------------------------------------------- queries
    def edge(self, src: int, dst: int) -> Edge:
        """The edge ``src -> dst``; KeyError names it when absent."""
        try:
            return self._edge_of[(src, dst)]
        except KeyError:
            raise KeyError(f'the space has no edge {src} -> {dst}') from None

    def in_edges(self, dst: int) -> List[Edge]:
        """Incoming edges of ``dst``, nearest predecessor first."""
        return [self._edge_of[(src, dst)] for src in self.incoming[dst]]

    @property
    def head_edges(self) -> List[Edge]:
        """Edges into candidate blocks (one head branch each)."""
        return [e for e in self.edges if e.dst != self.terminal]

    @property
    def terminal_edges(self) -> List[Edge]:
        """Edges into the terminal (one 1x1 branch each)."""
        return [e for e in self.edges if e.dst == self.terminal]

    @property
    def num_stack_layers(self) -> int:
        """Searchable stacking layers in all blocks."""
        return sum(self.num_layers)

    def num_paths(self) -> int:
        """Distinct block paths from node 0 to the terminal."""
        count = {0: 1}
        for j in range(1, self.terminal + 1):
            count[j] = sum(count[i] for i in self.incoming[j])
        return count[self.terminal]

    def is_path(self, nodes: List[int]) -> bool:
        """Whether ``nodes`` (0 ... terminal) is a path of the graph."""
        if not nodes or nodes[0] != 0 or nodes[-1] != self.terminal:
            return False
        return all((a, b) in self._edge_of for a, b in zip(nodes, nodes[1:]))

    def summary(self) -> Dict[str, int]:
        """The counts the method doc quotes."""
        return dict(
            blocks=self.space.num_blocks,
            edges=len(self.edges),
            head_branches=len(self.head_edges),
            terminal_branches=len(self.terminal_edges),
            stacking_layers=self.num_stack_layers,
            paths=self.num_paths())
