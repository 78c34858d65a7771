"""Batching and normalisation of image pairs for a flow network."""
from typing import Optional, Sequence

import torch
from mmdet.registry import MODELS
from mmengine.model import BaseDataPreprocessor


@MODELS.register_module()
class FlowPairDataPreprocessor(BaseDataPreprocessor):
    """Stack (6, H, W) uint8 pairs and normalise each image like the detector.

    A flow network inside a memory detector sees the detector's normalised
    images, so pre-training must feed the same: give the detector's ``mean``,
    ``std`` and ``bgr_to_rgb``.

    Args:
        mean (Sequence[float]): per-channel mean (3 values, after the channel
            swap, as ``DetDataPreprocessor``).
        std (Sequence[float]): per-channel std.
        bgr_to_rgb (bool): swap the channels of both images.
    """

    def __init__(self, mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375), bgr_to_rgb: bool = True,
                 non_blocking: Optional[bool] = False) -> None:
        super().__init__(non_blocking)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f'FlowPairDataPreprocessor: mean and std need 3 values, got '
                             f'{list(mean)} and {list(std)}')
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1),
                             False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1),
                             False)
        self.bgr_to_rgb = bgr_to_rgb

    def forward(self, data: dict, training: bool = False) -> dict:
        """Returns ``dict(inputs=(N, 6, H, W) float, data_samples=list)``:
        channels 0-2 the normalised frame t, 3-5 frame s."""
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) != 1:
                raise ValueError(f'FlowPairDataPreprocessor: pairs of different sizes in one '
                                 f'batch: {sorted(shapes)}')
            inputs = torch.stack(list(inputs))
        if inputs.dim() != 4 or inputs.shape[1] != 6:
            raise ValueError(f'FlowPairDataPreprocessor: inputs must be (N, 6, H, W), got '
                             f'{tuple(inputs.shape)}')
        images = []
        for img in inputs.float().split(3, dim=1):
            if self.bgr_to_rgb:
                img = img.flip(1)
            images.append((img - self.mean) / self.std)
        return dict(inputs=torch.cat(images, dim=1), data_samples=data.get('data_samples'))
