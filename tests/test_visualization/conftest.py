"""Shared tiny set-up of the visualization tests: a tiny SynthVID and two
untrained tiny detectors (single frame and OGEM) saved as checkpoints."""
from pathlib import Path
from typing import Dict

import pytest
import torch

from tests.test_apis._tiny_config import write_tiny_config

TINY_SYNTHVID = dict(train_videos=0, val_videos=2, frames=6, size=64, seed=1)


@pytest.fixture(scope='session')
def tiny_synthvid(tmp_path_factory) -> Path:
    from mmvid_memory.datasets.synthvid import generate_synthvid
    root = tmp_path_factory.mktemp('vis_synthvid') / 'synthvid'
    generate_synthvid(str(root), workers=1, progress=False, **TINY_SYNTHVID)
    return root


def _save_checkpoint(cfg_path: Path, ckpt_path: Path) -> None:
    from mmvid_memory.apis import init_detector
    torch.manual_seed(0)
    model = init_detector(str(cfg_path))
    torch.save(dict(state_dict=model.state_dict()), str(ckpt_path))


@pytest.fixture(scope='session')
def tiny_models(tmp_path_factory) -> Dict[str, Dict[str, str]]:
    """``{'baseline'|'ogem': {'config', 'checkpoint'}}`` of untrained tiny models."""
    folder = tmp_path_factory.mktemp('vis_models')
    out = {}
    for key, memory in (('baseline', None), ('ogem', 'ogem')):
        cfg = write_tiny_config(folder, memory=memory, name=f'{key}.py')
        ckpt = folder / f'{key}.pth'
        _save_checkpoint(cfg, ckpt)
        out[key] = dict(config=str(cfg), checkpoint=str(ckpt))
    return out
