"""Stand-ins for ``torch.cuda``'s timing API on a CPU-only machine, for
the tests of the ``'cuda'`` clock.

:class:`FakeCudaClock` keeps a fake GPU time in ms that each call of
:meth:`FakeCudaClock.work` advances by the next of a list of durations, and
replaces ``torch.cuda.Event``, ``synchronize``, ``set_device``,
``current_device``, ``is_available``, ``device_count`` (2) and
``get_device_name`` with versions
that log what was called, in order, to :attr:`FakeCudaClock.log`.
"""
import time
from typing import Any, List, Optional, Sequence, Tuple

import torch


class FakeCudaClock:
    """A fake CUDA device: a log of calls and a GPU clock in ms.

    Args:
        durations (Sequence[float]): Milliseconds of successive
            :meth:`work` calls (the last one repeats).
        current (int): The current device index at the start.
        name (str): What ``get_device_name`` returns.
        host_time (bool): Events read the host's clock instead (for real
            work run on the CPU in place of the GPU's, e.g. under
            :class:`helpers.fake_cuda.FakeCudaMode`).
    """

    def __init__(self,
                 durations: Sequence[float] = (1.0, ),
                 current: int = 0,
                 name: str = 'NVIDIA Fake GPU',
                 host_time: bool = False) -> None:
        self.host_time = host_time
        self.durations = list(durations)
        self.current = current
        self.name = name
        self.now_ms = 0.0
        self.calls = 0
        self.log: List[Tuple[Any, ...]] = []
        clock = self

        class Event:
            """``torch.cuda.Event`` reading the fake GPU clock."""

            def __init__(self, enable_timing: bool = False) -> None:
                assert enable_timing, 'timing events need enable_timing'
                self.at: Optional[float] = None

            def record(self, stream: Any = None) -> None:
                self.at = (time.perf_counter() * 1e3
                           if clock.host_time else clock.now_ms)
                clock.log.append(('record', clock.current))

            def elapsed_time(self, end: 'Event') -> float:
                assert self.at is not None and end.at is not None
                return end.at - self.at

        self.Event = Event

    def work(self) -> None:
        """One timed call: advance the GPU clock, log it."""
        took = self.durations[min(self.calls, len(self.durations) - 1)]
        self.calls += 1
        self.now_ms += took
        self.log.append(('call', self.current))

    def synchronize(self, device: Any = None) -> None:
        self.log.append(('sync', device))

    def set_device(self, device: Any) -> None:
        self.current = torch.device('cuda', device).index if isinstance(
            device, int) else torch.device(device).index
        self.log.append(('set_device', self.current))

    def install(self, monkeypatch: Any) -> 'FakeCudaClock':
        """Replace torch.cuda's timing API with this clock's."""
        monkeypatch.setattr(torch.cuda, 'Event', self.Event)
        monkeypatch.setattr(torch.cuda, 'synchronize', self.synchronize)
        monkeypatch.setattr(torch.cuda, 'set_device', self.set_device)
        monkeypatch.setattr(torch.cuda, 'current_device', lambda: self.current)
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
        monkeypatch.setattr(torch.cuda, 'device_count', lambda: 2)
        monkeypatch.setattr(
            torch.cuda, 'get_device_name', lambda device=None: self.name)
        return self

    def kinds(self) -> List[str]:
        """The logged call names, in order."""
        return [entry[0] for entry in self.log]
