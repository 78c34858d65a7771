"""Adjustments a config needs before the runner is built from it."""
import os
from typing import Any, Iterator, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict


def iter_dataset_cfgs(cfg: Any) -> Iterator[ConfigDict]:
    """All dataset configs nested in ``cfg`` (ConcatDataset, wrappers included)."""
    if isinstance(cfg, dict):
        if 'type' in cfg and ('ann_file' in cfg or 'data_root' in cfg):
            yield cfg
        for value in cfg.values():
            yield from iter_dataset_cfgs(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            yield from iter_dataset_cfgs(value)


#: The data loaders of a config, in the order a training run uses them.
ALL_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def used_loaders(cfg: Config, command: str) -> Tuple[str, ...]:
    """The data loaders a tool's run builds.

    Args:
        cfg (Config): The run's config.
        command (str): ``'train'`` (the training loader, and the validation
            loader when the config validates: ``val_cfg`` and ``val_dataloader``
            set) or ``'test'`` (the test loader only).

    Returns:
        tuple[str]: Config keys of the loaders.
    """
    if command == 'test':
        return ('test_dataloader', )
    if command == 'train':
        validates = bool(cfg.get('val_cfg')) and bool(cfg.get('val_dataloader'))
        return ('train_dataloader', 'val_dataloader') if validates else ('train_dataloader', )
    raise ValueError(f"command must be 'train' or 'test', got {command!r}")


def generate_missing_synthvid(cfg: Config, loaders: Sequence[str] = ALL_LOADERS) -> None:
    """Generate SynthVID (``synthvid_params``) and SynthVID-Flow
    (``synthvid_flow_params``) for the datasets that ask for them.

    Done here, before the runner starts worker processes. In a distributed run
    every rank calls this before ``init_dist``; ``ensure_synthvid`` holds a file
    lock, so the first rank generates and the others wait, then find the data
    complete and reuse it.

    Args:
        cfg (Config): The run's config.
        loaders (Sequence[str]): The loaders whose data sets to generate
            (:func:`used_loaders`): a test run does not generate the training
            split.
    """
    from mmvid_memory.datasets.synthvid import ensure_synthvid, ensure_synthvid_flow
    unknown = [key for key in loaders if key not in ALL_LOADERS]
    if unknown:
        raise ValueError(f'unknown data loader keys {unknown}; known: {ALL_LOADERS}')
    seen = set()
    for key in loaders:
        loader = cfg.get(key)
        if not loader:
            continue
        for ds in iter_dataset_cfgs(loader.get('dataset', {})):
            for key, ensure in (('synthvid_params', ensure_synthvid),
                                ('synthvid_flow_params', ensure_synthvid_flow)):
                params = ds.get(key)
                if params is None:
                    continue
                root = ds.get('data_root')
                ident = (key, root, repr(sorted(dict(params).items())))
                if ident in seen:
                    continue
                seen.add(ident)
                ensure(root, **dict(params))


def init_cpu_process_group(dist_cfg: dict) -> None:
    """Start the gloo process group of a ``torchrun`` launch without CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` first, which a
    CPU-only build of torch cannot do; the Runner skips ``init_dist`` when a
    group exists already.

    Args:
        dist_cfg (dict): the config's ``env_cfg.dist_cfg``; ``timeout`` (s) is used.
    """
    import datetime

    import torch.distributed as dist
    if dist.is_initialized():
        return
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT') if k not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher pytorch needs the torchrun environment; missing {missing} '
                           '(start it with tools/dist_train.sh or tools/dist_test.sh)')
    timeout = datetime.timedelta(seconds=int(dist_cfg.get('timeout', 1800)))
    dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                            world_size=int(os.environ['WORLD_SIZE']), timeout=timeout)


#: ``default_hooks.checkpoint.type`` values that mean mmengine's own hook.
_PLAIN_CHECKPOINT_HOOKS = ('CheckpointHook', 'mmengine.CheckpointHook', 'mmdet.CheckpointHook')


def use_atomic_checkpoint_hook(cfg: Config) -> bool:
    """Replace mmengine's ``CheckpointHook`` by ``AtomicCheckpointHook`` (same
    arguments), so that configs written without this package's runtime base
    cannot lose their last checkpoint to a crash during a save.

    Returns:
        bool: Whether the hook was replaced.
    """
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if not isinstance(hook, dict):
        return False
    from mmengine.hooks import CheckpointHook
    if hook.get('type') in _PLAIN_CHECKPOINT_HOOKS or hook.get('type') is CheckpointHook:
        hook['type'] = 'AtomicCheckpointHook'
        return True
    return False


#: Visual backends that need a package outside the required install:
#: backend type -> (importable modules, any of which serves; what to install).
OPTIONAL_VIS_BACKENDS = {
    'TensorboardVisBackend': (('tensorboard', ),
                              'pip install -r requirements/optional.txt '
                              '(or pip install "mmvid_memory[optional]")'),
}


def check_vis_backends(cfg: Config) -> None:
    """Refuse, before any training step, a visual backend whose package is missing.

    TensorBoard is optional: a config switches it on with
    ``visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend')])``. mmengine would only fail when the
    first scalar is written; this names the config entry and the install.

    Raises:
        ImportError: A configured backend's package is not installed.
    """
    import importlib.util
    backends = ((cfg.get('visualizer') or {}).get('vis_backends') or [])
    for backend in backends:
        name = str(backend.get('type', '')).split('.')[-1]
        if name not in OPTIONAL_VIS_BACKENDS:
            continue
        modules, install = OPTIONAL_VIS_BACKENDS[name]
        if not any(importlib.util.find_spec(m) is not None for m in modules):
            raise ImportError(f'visualizer.vis_backends has {name}, which needs '
                              f'{" or ".join(modules)}, not installed here: {install}')


def prepare_cfg_for_launch(cfg: Config, loaders: Sequence[str] = ALL_LOADERS) -> None:
    """Pick the distributed backend for the machine and make the data exist.

    NCCL needs GPUs: on a CPU-only machine a ``pytorch`` launch uses gloo, its
    process group is started here, and the model is wrapped by
    ``CPUDistributedDataParallel``. A plain ``CheckpointHook`` becomes the
    atomic one (:func:`use_atomic_checkpoint_hook`); an optional visual
    backend whose package is missing is an error (:func:`check_vis_backends`).

    Args:
        cfg (Config): The run's config, changed in place.
        loaders (Sequence[str]): The loaders the run builds, whose SynthVID
            data is generated when missing (:func:`used_loaders`).
    """
    use_atomic_checkpoint_hook(cfg)
    check_vis_backends(cfg)
    generate_missing_synthvid(cfg, loaders)
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise ValueError(f'launcher {cfg.launcher!r} on a machine without CUDA: only '
                         "'pytorch' (torchrun, gloo) is supported on CPUs")
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
    dist_cfg['backend'] = 'gloo'
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='CPUDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    init_cpu_process_group(dist_cfg)


def close_process_group() -> None:
    """Destroy the default process group, if any, before the interpreter exits.

    A gloo process group left to interpreter finalisation can abort the
    process ("terminate called without an active exception", SIGABRT) after
    the work is done, which a launcher reports as a failed rank.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
