"""The MMEngine runner with strict checkpoint loading for test, validation and resume."""
import contextlib
from typing import Callable, Iterator, Union

from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model

from ..utils.checkpoint import check_state_dict_fits, revise_state_dict, state_dict_of


# mmengine's root registry: tools build runners with mmengine.registry.RUNNERS
# before any default scope is set, so mmdet's child registry would not be searched.
@RUNNERS.register_module()
class StrictLoadRunner(Runner):
    """``Runner`` that refuses a checkpoint whose weights do not fit the model
    when it tests, validates or resumes.

    mmengine loads ``load_from`` and resume checkpoints with ``strict=False``:
    a checkpoint of another model (e.g. the single-frame R-FCN given to a
    memory detector, whose keys all lack the ``detector.`` prefix) loads
    nothing, and the test reports an mAP of 0 with exit status 0. Here the
    load raises :class:`~mmvid_memory.utils.CheckpointMismatchError` naming
    the missing and unexpected keys.

    ``strict_load = False`` in the config (``--allow-partial-load`` of
    ``tools/test.py`` and ``tools/train.py``) loads what fits, as mmengine
    does. ``load_from`` at the start of training (fine-tuning) is partial
    either way: a new head or memory is expected to be missing there.

    Set ``runner_type = 'StrictLoadRunner'`` in a config (the package's
    ``configs/_base_/default_runtime.py`` does).
    """

    _strict_now = False

    @property
    def strict_load(self) -> bool:
        """The config's ``strict_load`` (default True)."""
        return bool(self.cfg.get('strict_load', True))

    @contextlib.contextmanager
    def _strict(self) -> Iterator[None]:
        previous, self._strict_now = self._strict_now, self.strict_load
        try:
            yield
        finally:
            self._strict_now = previous

    def test(self) -> dict:
        with self._strict():
            return super().test()

    def val(self) -> dict:
        with self._strict():
            return super().val()

    def resume(self, filename: str, resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location: Union[str, Callable] = 'default') -> None:
        with self._strict():
            return super().resume(filename, resume_optimizer, resume_param_scheduler,
                                  map_location)

    def load_checkpoint(self, filename: str, map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False, revise_keys: list = [(r'^module.', '')]):
        """As ``Runner.load_checkpoint``, strict while testing, validating or resuming."""
        strict = strict or self._strict_now
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        # Hooks may rewrite the checkpoint (e.g. EMA) before it is loaded.
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        if strict:
            check_state_dict_fits(
                model, revise_state_dict(state_dict_of(checkpoint), revise_keys), filename)
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict,
                                               revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}'
                         + (' (strict)' if strict else ''))
        return checkpoint
