"""Adjustments a config needs before the runner is built from it."""
import os
from typing import Any, Iterator

import torch
from mmengine.config import Config, ConfigDict


def _iter_dataset_cfgs(cfg: Any) -> Iterator[ConfigDict]:
    """All dataset configs nested in ``cfg`` (ConcatDataset, wrappers included)."""
    if isinstance(cfg, dict):
        if 'type' in cfg and ('ann_file' in cfg or 'data_root' in cfg):
            yield cfg
        for value in cfg.values():
            yield from _iter_dataset_cfgs(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            yield from _iter_dataset_cfgs(value)


def generate_missing_synthvid(cfg: Config) -> None:
    """Generate SynthVID for datasets that ask for it (``synthvid_params``).

    Done once here, before the runner starts worker processes or ranks, so that
    ranks never race on the generation; in a distributed run every rank calls
    this before ``init_dist``, and only LOCAL_RANK 0 generates while the others
    wait for its completion marker.
    """
    from mmvid_memory.datasets.synthvid import ensure_synthvid
    seen = set()
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if not loader:
            continue
        for ds in _iter_dataset_cfgs(loader.get('dataset', {})):
            params = ds.get('synthvid_params')
            if params is None:
                continue
            root = ds.get('data_root')
            ident = (root, repr(sorted(dict(params).items())))
            if ident in seen:
                continue
            seen.add(ident)
            ensure_synthvid(root, **dict(params))


def prepare_cfg_for_launch(cfg: Config) -> None:
    """Pick the distributed backend for the machine and make the data exist.

    NCCL needs GPUs: on a CPU-only machine a distributed launch uses gloo.
    """
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        env_cfg = cfg.setdefault('env_cfg', ConfigDict())
        dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
        dist_cfg['backend'] = 'gloo'
    if int(os.environ.get('LOCAL_RANK', '0')) == 0 or cfg.get('launcher', 'none') == 'none':
        generate_missing_synthvid(cfg)
