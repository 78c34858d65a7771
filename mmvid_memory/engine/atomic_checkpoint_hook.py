"""Checkpoint saves that a crash cannot turn into a lost checkpoint."""
import os
import os.path as osp
from typing import Any, List, Optional

from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from ..utils.atomic import atomic_output, publish_temp, remove_stale_temps, temp_path_for


def save_runner_checkpoint_atomic(runner, out_dir: str, filename: str, *args: Any,
                                  **kwargs: Any) -> str:
    """``runner.save_checkpoint`` to a temporary name, then ``fsync`` and rename.

    Args:
        runner: The MMEngine runner (only the main process writes).
        out_dir: A local folder.
        filename: The checkpoint's name in ``out_dir``.
        *args, **kwargs: Passed to ``Runner.save_checkpoint``.

    Returns:
        str: The checkpoint's path.
    """
    final = osp.join(out_dir, filename)
    tmp = temp_path_for(final)
    if is_main_process():
        remove_stale_temps(final)
    try:
        # The class's method: an instance attribute may be our own wrapper
        # (see AtomicCheckpointHook._save_best_checkpoint).
        # Relative to out_dir: a filename_tmpl may name a sub-folder.
        type(runner).save_checkpoint(runner, out_dir, osp.relpath(tmp, osp.abspath(out_dir)),
                                     *args, **kwargs)
        if is_main_process():
            if not osp.isfile(tmp):
                raise RuntimeError(f'saving {final}: the runner wrote no file')
            publish_temp(tmp, final)
    finally:
        if is_main_process() and osp.exists(tmp):  # the save failed
            os.remove(tmp)
    return final


class _DeferredRemovals:
    """A file backend that records ``remove``/``rmtree`` calls instead of running them."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.paths: List[str] = []

    def remove(self, path: str) -> None:
        self.paths.append(path)

    def rmtree(self, path: str) -> None:
        self.paths.append(path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


# mmengine's root registry (mmdet's looks up its parent): found whatever the
# runner's default scope.
@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` whose saves are atomic and never lose the last one.

    mmengine 0.10.7 removes the oldest kept checkpoint *before* writing the new
    one, writes it in place and then ``last_checkpoint``; a kill in between
    left no checkpoint at all with ``max_keep_ckpts=1``. Here, on local
    folders:

    1. the new checkpoint is written to ``.<name>.tmp-<pid>-<hex>`` in the
       same folder, ``fsync``-ed and renamed over ``<name>`` (atomic);
    2. ``last_checkpoint`` is then replaced the same way;
    3. only then are checkpoints beyond ``max_keep_ckpts`` (and a superseded
       best checkpoint) removed.

    A kill at any moment leaves ``last_checkpoint`` naming a whole checkpoint;
    temporary files of killed runs are removed by the next save. Arguments
    are those of ``CheckpointHook``. Other storage backends (no rename) keep
    mmengine's behaviour.
    """

    def _atomic_here(self) -> bool:
        backend = getattr(self, 'file_backend', None)
        backend = getattr(backend, '_backend', backend)  # under _save_best_checkpoint
        return isinstance(backend, LocalBackend)

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        if not self._atomic_here():
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated: List[str] = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.file_backend.join_path(
                    self.out_dir, self.filename_tmpl.format(self.keep_ckpt_ids.popleft())))
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        save_runner_checkpoint_atomic(
            runner, self.out_dir, ckpt_filename, file_client_args=self.file_client_args,
            save_optimizer=self.save_optimizer, save_param_scheduler=self.save_param_scheduler,
            meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        with atomic_output(osp.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
            f.write(self.last_ckpt)
        self._remove(outdated, keep=self.last_ckpt)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        # Called after every validation; only with save_best does it save.
        if not self.save_best or not self._atomic_here():
            return super()._save_best_checkpoint(runner, metrics)
        # mmengine removes the previous best before saving the new one and
        # saves in place: defer the removal and make the save atomic.
        backend = self.file_backend
        deferred = _DeferredRemovals(backend)
        self.file_backend = deferred
        runner.save_checkpoint = lambda out_dir, filename, *args, **kwargs: \
            save_runner_checkpoint_atomic(runner, out_dir, filename, *args, **kwargs)
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
            del runner.save_checkpoint  # the class's method again
        if is_main_process():
            # One key indicator keeps best_ckpt_path, several best_ckpt_path_dict.
            current = {getattr(self, 'best_ckpt_path', None), self.last_ckpt,
                       *getattr(self, 'best_ckpt_path_dict', {}).values()}
            self._remove([p for p in deferred.paths if p not in current])

    def _remove(self, paths: List[str], keep: Optional[str] = None) -> None:
        for path in paths:
            if path == keep:
                continue
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed saves folders
                self.file_backend.rmtree(path)
