"""One data preprocessor for frame batches and video-clip batches."""
from typing import List, Optional

import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample


@MODELS.register_module()
class VideoDataPreprocessor(DetDataPreprocessor):
    """``DetDataPreprocessor`` that also takes clips of T frames.

    A memory detector trains on clips (``PackTrackInputs``: inputs (T, 3, H, W)
    and ``TrackDataSample``) and tests on single frames (``PackDetInputs``:
    inputs (3, H, W) and ``DetDataSample``). Both go through the same
    normalisation and padding: clip frames are flattened into one frame batch,
    processed by ``DetDataPreprocessor``, and regrouped.

    Returns for clips: ``inputs`` (B, T, 3, H, W) and the ``TrackDataSample``
    list with each frame's metainfo updated (``batch_input_shape``,
    ``pad_shape``). For frames: what ``DetDataPreprocessor`` returns.
    All args are ``DetDataPreprocessor``'s.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        samples: Optional[List] = data.get('data_samples')
        if not samples or not isinstance(samples[0], TrackDataSample):
            return super().forward(data, training)
        inputs = data['inputs']
        num_frames = [len(s) for s in samples]
        if len(set(num_frames)) != 1:
            raise ValueError(f'all clips of a batch must have the same number of frames, '
                             f'got {num_frames}')
        frames, frame_samples = [], []
        for clip, track_sample in zip(inputs, samples):
            if clip.dim() != 4 or clip.shape[0] != len(track_sample):
                raise ValueError(
                    f'a clip input must be (T, C, H, W) with T = {len(track_sample)} frames '
                    f'of its TrackDataSample, got {tuple(clip.shape)}')
            frames.extend(list(clip))
            frame_samples.extend(track_sample.video_data_samples)
        flat = super().forward(dict(inputs=frames, data_samples=frame_samples), training)
        batch, t = len(samples), num_frames[0]
        flat_inputs: torch.Tensor = flat['inputs']
        clip_inputs = flat_inputs.view(batch, t, *flat_inputs.shape[1:])
        regrouped = []
        for b, track_sample in enumerate(samples):
            new_sample = TrackDataSample(metainfo=track_sample.metainfo)
            new_sample.video_data_samples = list(flat['data_samples'][b * t:(b + 1) * t])
            regrouped.append(new_sample)
        return dict(inputs=clip_inputs, data_samples=regrouped)

