"""A tiny memory-detector config file, written by the tests that need one."""
import pprint
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from tests.test_models._tiny_detectors import tiny_faster_rcnn, tiny_retinanet

CLASSES = ('circle', 'square', 'triangle')  # make_tiny_cocovid's


def _ogem(channels: int) -> dict:
    return dict(type='ExternalMemoryAggregator', in_channels=channels, num_heads=2,
                embed_channels=8)


def tiny_model_cfg(memory: Optional[str] = 'ogem', single_stage: bool = False) -> dict:
    """Tiny Faster R-CNN (or RetinaNet) in a MemoryVideoDetector.

    Args:
        memory: 'ogem' (pixel + instance OGEM of the package), 'pixel'
            (pixel OGEM only) or None (plain mmdet detector, no wrapper).
        single_stage: RetinaNet instead of Faster R-CNN.
    """
    detector = (tiny_retinanet if single_stage else tiny_faster_rcnn)(len(CLASSES)).to_dict()
    if not single_stage:  # few proposals keep the instance memory (and the tests) small
        detector['test_cfg']['rpn']['max_per_img'] = 16
        detector['test_cfg']['rcnn']['max_per_img'] = 10
    if memory is None:
        return detector
    model = dict(type='MemoryVideoDetector', detector=detector, pixel_levels=[0],
                 pixel_memory=_ogem(16))
    if memory == 'ogem' and not single_stage:
        # RoI features (K, 16, 7, 7) are read as flattened vectors of 16*7*7.
        model['instance_memory'] = _ogem(16 * 7 * 7)
    return model


def write_tiny_config(folder: Path, memory: Optional[str] = 'ogem', single_stage: bool = False,
                      name: str = 'tiny_cfg.py', class_names: bool = True) -> Path:
    """Write a complete config (model + test pipeline) into ``folder``.

    The test data set is a CocoVID file at ``folder/annotations/val.json``
    (write it with ``make_tiny_cocovid(folder, 'val')`` when a test reads
    it); ``class_names`` puts the names into the config's ``metainfo``.
    """
    cfg = dict(
        default_scope='mmdet',
        custom_imports=dict(imports=['mmvid_memory'], allow_failed_imports=False),
        model=tiny_model_cfg(memory, single_stage),
        test_pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(64, 64), keep_ratio=True),
            dict(type='LoadTrackAnnotations'),
            dict(type='PackVideoFrameInputs'),
        ])
    cfg['test_dataloader'] = dict(
        batch_size=1, num_workers=0,
        sampler=dict(type='VideoShardSampler'),
        dataset=dict(type='SynthVIDDataset', data_root=str(folder),
                     ann_file='annotations/val.json', data_prefix=dict(img_path='Data/'),
                     test_mode=True, pipeline=cfg['test_pipeline']))
    if class_names:
        cfg['test_dataloader']['dataset']['metainfo'] = dict(classes=CLASSES)
    path = Path(folder) / name
    path.write_text('\n'.join(f'{key} = {pprint.pformat(value)}' for key, value in cfg.items())
                    + '\n')
    return path


def moving_square_frames(num_frames: int = 6, size=(64, 64), seed: int = 0):
    """(H, W, 3) uint8 BGR frames of a bright square moving over noise."""
    rng = np.random.default_rng(seed)
    h, w = size
    frames = []
    for t in range(num_frames):
        img = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
        x = 4 + 4 * t
        img[20:40, x:x + 20] = (30, 200, 240)
        frames.append(img)
    return frames


def write_video(path: Path, frames, fps: float = 5.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (frames[0].shape[1], frames[0].shape[0]))
    assert writer.isOpened(), f'cv2 cannot write {path}'
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path
