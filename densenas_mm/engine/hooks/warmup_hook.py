"""Turns DenseNAS architecture updates on after the warm-up epochs."""
from mmengine.hooks import Hook

from densenas_mm.registry import HOOKS


@HOOKS.register_module()
class DenseNASWarmupHook(Hook):
    """Enable architecture updates from epoch ``warmup_epochs`` on.

    The switch is one explicit call, ``runner.train_loop.set_arch_updates(
    runner.epoch >= warmup_epochs)``, made in ``before_train`` and before
    every epoch (the pattern of mmcls's ``SwitchRecipeHook``). The state is
    derived from ``runner.epoch``, never stored, so a resumed run is in the
    right phase by construction (mmrazor's DSNAS loses its phase on resume).
    During warm-up the weight steps sample ops uniformly and no architecture
    step runs; afterwards the weight steps sample from softmax(alpha) and
    the search loop runs architecture steps. Each switch is logged.

    Args:
        warmup_epochs (int): Epochs of weight-only training (reference: 50
            of 150 for MobileNetV2, 10 of 70 for ResNet).

    Example:
        >>> custom_hooks = [dict(type='densenas_mm.DenseNASWarmupHook',
        ...                      warmup_epochs=50)]
    """

    priority = 'VERY_HIGH'

    def __init__(self, warmup_epochs: int) -> None:
        if not isinstance(warmup_epochs, int) or warmup_epochs < 0:
            raise ValueError(f'warmup_epochs must be an int >= 0, got '
                             f'{warmup_epochs!r}')
        self.warmup_epochs = warmup_epochs

    def before_train(self, runner) -> None:
        """Set the phase for a fresh or resumed run."""
        max_epochs = getattr(runner.train_loop, 'max_epochs', None)
        if max_epochs is not None and self.warmup_epochs >= max_epochs:
            runner.logger.warning(
                f'warmup_epochs ({self.warmup_epochs}) >= max_epochs '
                f'({max_epochs}): the architecture will never be updated')
        self._apply(runner)

    def before_train_epoch(self, runner) -> None:
        """Switch on architecture updates once warm-up is over."""
        self._apply(runner)

    def _apply(self, runner) -> None:
        loop = runner.train_loop
        if not hasattr(loop, 'set_arch_updates'):
            raise TypeError(
                'DenseNASWarmupHook needs the DenseNAS search loop '
                "(train_cfg=dict(type='densenas_mm.DenseNASSearchLoop', "
                f'...)), got {type(loop).__name__}')
        enabled = runner.epoch >= self.warmup_epochs
        loop.plan_arch_updates(self.warmup_epochs)  # for the ETA
        if enabled != loop.arch_updates:
            state = 'on' if enabled else 'off (warm-up)'
            runner.logger.info(
                f'DenseNAS architecture updates {state} from epoch '
                f'{runner.epoch + 1} (warmup_epochs={self.warmup_epochs})')
        loop.set_arch_updates(enabled)
