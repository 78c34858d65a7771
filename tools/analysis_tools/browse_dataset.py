"""Browse what a config's pipeline makes of a video data set: frames or clips.

mmdet's ``browse_dataset.py`` expects one image per item; a clip pipeline
(``VideoClipSample`` ... ``PackTrackInputs``) gives (T, 3, H, W) inputs and a
``TrackDataSample``, which it cannot draw. Here every item is drawn with its
ground truth after the pipeline (augmentations included): a single frame as
one picture, a clip as its frames side by side, named after the video and
frame ids.

Examples::

    python tools/analysis_tools/browse_dataset.py CONFIG --output-dir vis --not-show
    python tools/analysis_tools/browse_dataset.py CONFIG --loader train_dataloader \\
        --cfg-options train_dataloader=ogem_train_dataloader ... --max-items 20
"""
import argparse
import os
import os.path as osp
import sys
from typing import List

import mmcv
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar

import mmvid_memory  # noqa: F401  (registers the components and the config scope)

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Browse a video data set after its pipeline')
    parser.add_argument('config', help='config file')
    parser.add_argument('--loader', default='train_dataloader', choices=LOADERS,
                        help='whose data set and pipeline to browse')
    parser.add_argument('--output-dir', default=None,
                        help='write the pictures here (one per item)')
    parser.add_argument('--not-show', action='store_true', help='do not open a window')
    parser.add_argument('--show-interval', type=float, default=2,
                        help='seconds a shown picture stays')
    parser.add_argument('--max-items', type=int, default=None, help='stop after N items')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def _frame_image(inputs) -> np.ndarray:
    """(3, H, W) uint8 BGR tensor -> (H, W, 3) RGB array for the visualizer."""
    return inputs.permute(1, 2, 0).cpu().numpy()[..., ::-1].copy()


def draw_item(visualizer, item: dict) -> np.ndarray:
    """An RGB picture of one packed item: the frame, or a clip's frames side by side.

    Args:
        visualizer: an mmdet ``DetLocalVisualizer`` with the data set's meta.
        item (dict): ``inputs`` (3, H, W) or (T, 3, H, W); ``data_samples``
            a ``DetDataSample`` or a ``TrackDataSample`` of T frames.

    Returns:
        np.ndarray: (H, W * T, 3) uint8 RGB.
    """
    inputs, samples = item['inputs'], item['data_samples']
    if inputs.dim() == 3:
        frames, samples = [inputs], [samples]
    elif inputs.dim() == 4:
        frames, samples = list(inputs), list(samples.video_data_samples)
    else:
        raise ValueError(f'packed inputs must be (3, H, W) or (T, 3, H, W), got '
                         f'{tuple(inputs.shape)}')
    pictures: List[np.ndarray] = []
    for frame, sample in zip(frames, samples):
        visualizer.add_datasample('frame', _frame_image(frame), data_sample=sample,
                                  draw_pred=False, show=False)
        picture = visualizer.get_image()
        meta = sample.metainfo
        label = f"video {meta.get('video_id', '?')} frame {meta.get('frame_id', '?')}"
        pictures.append(_label(picture, label))
    height = max(p.shape[0] for p in pictures)
    pictures = [np.pad(p, ((0, height - p.shape[0]), (0, 0), (0, 0))) for p in pictures]
    return np.concatenate(pictures, axis=1)


def _label(picture: np.ndarray, text: str) -> np.ndarray:
    import cv2
    out = np.ascontiguousarray(picture)
    cv2.putText(out, text, (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1,
                cv2.LINE_AA)
    return out


def item_name(index: int, item: dict) -> str:
    samples = item['data_samples']
    first = samples.video_data_samples[0] if hasattr(samples, 'video_data_samples') else samples
    meta = first.metainfo
    return f"{index:05d}_video{meta.get('video_id', 'x')}_frame{meta.get('frame_id', 'x')}.jpg"


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if not cfg.get(args.loader):
        raise KeyError(f'{args.config} has no {args.loader}')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    from mmdet.registry import DATASETS, VISUALIZERS

    from mmvid_memory.utils.launch import generate_missing_synthvid
    generate_missing_synthvid(cfg, (args.loader, ))
    dataset = DATASETS.build(cfg[args.loader].dataset)
    visualizer_cfg = cfg.get('visualizer') or dict(type='DetLocalVisualizer')
    visualizer_cfg = dict(visualizer_cfg, name=f'browse_dataset_{id(dataset)}')
    visualizer_cfg.pop('vis_backends', None)  # pictures go to --output-dir, not to a backend
    visualizer = VISUALIZERS.build(visualizer_cfg)
    visualizer.dataset_meta = dataset.metainfo
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
    total = len(dataset) if args.max_items is None else min(len(dataset), args.max_items)
    progress = ProgressBar(total, file=sys.stdout)
    for index in range(total):
        item = dataset[index]
        picture = draw_item(visualizer, item)
        name = item_name(index, item)
        if args.output_dir:
            mmcv.imwrite(picture[..., ::-1], osp.join(args.output_dir, name))
        if not args.not_show:
            visualizer.show(picture, win_name=name, wait_time=args.show_interval)
        progress.update()
    print()
    return 0


if __name__ == '__main__':
    sys.exit(main())
