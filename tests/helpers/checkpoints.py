"""Malicious checkpoint files for the safety tests.

:func:`malicious_checkpoint` writes a ``.pth`` whose pickle calls
``open(marker, 'w')`` when it is unpickled the unsafe way
(``torch.load(weights_only=False)``, what mmengine's own loader does), so a
test sees whether a reader ran code by whether the marker file exists.
"""
import collections
import os.path as osp
from typing import Tuple

import torch


class CreatesFile:
    """Unpickling calls ``open(path, 'w')``: it creates the marker file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


def malicious_checkpoint(folder, name: str = 'evil.pth',
                         where: str = 'meta') -> Tuple[str, str]:
    """Write a checkpoint carrying a :class:`CreatesFile` payload.

    Args:
        folder: Where the file (and, if unpickled, the marker) goes.
        name (str): File name.
        where (str): ``'meta'`` or ``'state_dict'``: where the payload sits.

    Returns:
        tuple[str, str]: The checkpoint path and the marker path.
    """
    marker = osp.join(str(folder), f'{name}.pwned')
    payload = CreatesFile(marker)
    ckpt = dict(
        meta=dict(epoch=1, iter=4),
        state_dict=collections.OrderedDict(w=torch.zeros(2)))
    if where == 'meta':
        ckpt['meta']['x'] = payload
    else:
        ckpt['state_dict']['w'] = payload
    path = osp.join(str(folder), name)
    torch.save(ckpt, path)
    return path, marker
