"""Turns DenseNAS architecture updates on after the warm-up epochs."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from densenas_mm.registry import HOOKS


@HOOKS.register_module()
class DenseNASWarmupHook(Hook):
    """Enable architecture updates from epoch ``warmup_epochs`` on.

    The state is derived from ``runner.epoch`` in ``before_train`` and in
    every ``before_train_epoch``, never stored, so a resumed run is in the
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
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if not hasattr(model, 'arch_updates_enabled'):
            raise TypeError('DenseNASWarmupHook needs a DenseNAS model, got '
                            f'{type(model).__name__}')
        enabled = runner.epoch >= self.warmup_epochs
        if enabled != model.arch_updates_enabled:
            state = 'on' if enabled else 'off (warm-up)'
            runner.logger.info(
                f'DenseNAS architecture updates {state} from epoch '
                f'{runner.epoch + 1} (warmup_epochs={self.warmup_epochs})')
        model.arch_updates_enabled = enabled
