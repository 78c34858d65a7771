"""Pack one video frame for single-frame pipelines."""
from typing import Sequence

from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS

VIDEO_FRAME_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                         'flip', 'flip_direction', 'video_id', 'frame_id', 'video_length')
REQUIRED_VIDEO_KEYS = ('video_id', 'frame_id', 'video_length')


@TRANSFORMS.register_module()
class PackVideoFrameInputs(PackDetInputs):
    """``PackDetInputs`` that keeps the track ids and the frame's place in its video.

    Output: ``inputs`` (3, H, W) uint8 and a ``DetDataSample`` whose
    ``gt_instances`` hold ``bboxes``, ``labels`` and ``instances_ids`` (the
    track ids, from ``LoadTrackAnnotations``) and whose metainfo holds
    ``video_id``, ``frame_id`` and ``video_length`` besides mmdet's keys, so
    that a memory detector resets at video boundaries and ``VIDMetric`` can
    rebuild the tracks.

    Args:
        meta_keys (Sequence[str]): metainfo keys; the video keys are always
            required.
    """

    mapping_table = dict(PackDetInputs.mapping_table, gt_instances_ids='instances_ids')

    def __init__(self, meta_keys: Sequence[str] = VIDEO_FRAME_META_KEYS) -> None:
        meta_keys = tuple(meta_keys)
        missing = [k for k in REQUIRED_VIDEO_KEYS if k not in meta_keys]
        super().__init__(meta_keys=meta_keys + tuple(missing))

    def transform(self, results: dict) -> dict:
        """Pack ``results``; raises KeyError when a video key is missing."""
        missing = [k for k in REQUIRED_VIDEO_KEYS if k not in results]
        if missing:
            raise KeyError(f'PackVideoFrameInputs: frame {results.get("img_path")} lacks '
                           f'{missing}; it needs a video dataset (ImageNetVIDDataset) item')
        # Without a Resize the frame is at its original scale; models read
        # scale_factor to map predictions back.
        results.setdefault('scale_factor', (1.0, 1.0))
        return super().transform(results)
