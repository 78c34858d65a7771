"""The exact SynthVID displacement field in place of a flow network (an oracle).

An upper bound for the memory warps: with the field SynthVID's generator knows
(:func:`mmvid_memory.datasets.synthvid.frame_flow`), how much of Vu et al.'s
gains does the architecture give when the flow is right? Test-time only, on
SynthVID frames that are not flipped (resizing keeps a square frame square).
"""
import json
import math
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from .flow_supervision import pool_flow


def flow_net_field(flow_net: nn.Module, img_cur: Tensor, img_ref: Tensor,
                   out_size: Optional[Sequence[int]],
                   frames: Optional[Tuple[Any, int, int]] = None) -> Tensor:
    """Call a displacement network, passing ``frames`` to one that needs them.

    Args:
        flow_net (nn.Module): a FlowNetS, ZeroFlow, SynthVIDOracleFlow, ...
        img_cur (Tensor): (N, 3, H, W) frame t.
        img_ref (Tensor): (N, 3, H, W) frame s.
        out_size (tuple[int, int] | None): grid of the field.
        frames (tuple | None): ``(video_id, frame t, frame s)`` for networks
            with ``uses_frame_ids = True``.

    Returns:
        Tensor: (N, 2, h, w) ``D_{t,s}`` in feature pixels.
    """
    if getattr(flow_net, 'uses_frame_ids', False):
        return flow_net(img_cur, img_ref, out_size=out_size, frames=frames)
    return flow_net(img_cur, img_ref, out_size=out_size)


@MODELS.register_module()
class SynthVIDOracleFlow(BaseModule):
    """``D_{t,s}`` computed from SynthVID's scene instead of the images.

    Args:
        data_root (str): the SynthVID folder of the frames.
        split (str): split of the frames in eval mode, ``'val'`` or ``'train'``.
        train_split (str): split in training mode (training with the oracle
            needs a pipeline without flips: the field is not mirrored).
        feature_stride (int): stride when no ``out_size`` is given.
        cache_videos (int): scenes kept in memory (sampling one takes ~20 ms).
        init_cfg (dict, optional): unused (no parameters).
    """
    uses_frame_ids = True

    def __init__(self, data_root: str = 'data/synthvid/', split: str = 'val',
                 train_split: str = 'train', feature_stride: int = 16, cache_videos: int = 4,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, value in (('split', split), ('train_split', train_split)):
            if value not in ('train', 'val'):
                raise ValueError(f"SynthVIDOracleFlow: {name} must be 'train' or 'val', got "
                                 f'{value!r}')
        self.data_root = data_root
        self.splits = dict(eval=split, train=train_split)
        self.feature_stride = feature_stride
        self.cache_videos = max(1, int(cache_videos))
        self._scenes: 'OrderedDict[tuple, Any]' = OrderedDict()
        self._video_index: Dict[str, Dict[Any, int]] = {}
        self._params: Optional[Dict[str, Any]] = None

    @property
    def split(self) -> str:
        """The split of the frames now (training or eval mode)."""
        return self.splits['train' if self.training else 'eval']

    def _load_index(self, split: str) -> None:
        summary_path = osp.join(self.data_root, 'synthvid_params.json')
        ann_path = osp.join(self.data_root, 'annotations', f'synthvid_{split}.json')
        for path in (summary_path, ann_path):
            if not osp.isfile(path):
                raise FileNotFoundError(f'SynthVIDOracleFlow: {path} does not exist (data_root '
                                        f'{self.data_root!r} must be a generated SynthVID)')
        with open(summary_path) as f:
            self._params = json.load(f)['params']
        with open(ann_path) as f:
            videos = json.load(f)['videos']
        # Video names end in the index their generator was seeded with.
        self._video_index[split] = {v['id']: int(v['name'].rsplit('_', 1)[1]) for v in videos}

    def _scene(self, video_id: Any):
        from mmvid_memory.datasets.synthvid.generator import _SPLIT_CODES, _video_config
        from mmvid_memory.datasets.synthvid.video import sample_scene
        split = self.split
        if split not in self._video_index:
            self._load_index(split)
        if video_id not in self._video_index[split]:
            raise KeyError(f'SynthVIDOracleFlow: video_id {video_id!r} is not a video of '
                           f'{self.data_root} {split}')
        key = (split, self._video_index[split][video_id])
        if key not in self._scenes:
            self._scenes[key] = sample_scene(self._params['seed'], _SPLIT_CODES[split], key[1],
                                             _video_config(self._params))
            while len(self._scenes) > self.cache_videos:
                self._scenes.popitem(last=False)
        return self._scenes[key]

    def forward(self, img_cur: Tensor, img_ref: Tensor,
                out_size: Optional[Sequence[int]] = None,
                out_stride: Optional[float] = None,
                frames: Optional[Tuple[Any, int, int]] = None) -> Tensor:
        """(1, 2, h, w) exact field, area-averaged onto the grid, in its pixels."""
        from mmvid_memory.datasets.synthvid.flow import frame_flow
        if frames is None:
            raise ValueError('SynthVIDOracleFlow needs frames=(video_id, t, s); the caller does '
                             'not pass them (supported: MemNet / ClockNet reads and box '
                             'propagation)')
        if img_cur.shape[0] != 1:
            raise ValueError(f'SynthVIDOracleFlow takes one frame, got {tuple(img_cur.shape)}')
        video_id, t, s = frames
        scene = self._scene(video_id)
        size = scene.cfg.image_size
        height, width = img_cur.shape[-2:]
        if height != width:  # a square frame resized with its aspect kept stays square
            raise ValueError(f'SynthVIDOracleFlow: the input is {height}x{width}, SynthVID '
                             f'frames are {size}x{size} (padded or stretched inputs are not '
                             'supported)')
        if out_size is None:
            out_size = (math.ceil(height / self.feature_stride),
                        math.ceil(width / self.feature_stride))
        field = torch.from_numpy(frame_flow(scene, int(t), int(s))).permute(2, 0, 1)[None]
        field = pool_flow(field, tuple(out_size))
        # The whole frame spans the grid, whatever size the frame was resized to.
        field[:, 0] *= out_size[1] / size
        field[:, 1] *= out_size[0] / size
        return field.to(device=img_cur.device, dtype=img_cur.dtype)


__all__ = ['SynthVIDOracleFlow', 'flow_net_field']
