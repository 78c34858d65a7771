"""Per-frame time and memory size of a memory detector over one long stream.

Runs N frames (default 1000) of one synthetic video online through a memory
detector and prints, per window of frames (default 100), the time per frame
(preprocessing + ``predict_frame``; making the frame is not timed) and the
rows in each memory point, so one can see whether time stays flat while the
memory is bounded (Deng et al. keeps it bounded by its write rules; see
docs/ogem.md, "Memory bound").

The video: a smoothed random image, the view shifted by one pixel per frame.
The model: a config (+ checkpoint), or with no config a built-in tiny
Faster R-CNN (ResNet-18 of width 8, 16-channel FPN) with pixel OGEM on FPN
level 0 and instance OGEM on its 16 x 7 x 7 RoI features, random weights and
tau = 0 (a random detector scores about 1/C; with tau = 0 it writes objects,
so the per-class cap is reached as on a busy video).

Examples::

    python tools/analysis_tools/benchmark_long_stream.py --cpu-threads 1
    python tools/analysis_tools/benchmark_long_stream.py \\
        configs/ogem/ogem-pix-inst_rfcn_r18-dc5_synthvid.py CKPT --size 160 160
"""
import argparse
import json
import statistics
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, DictAction

import mmvid_memory  # noqa: F401  (registers the components)
from mmvid_memory.apis import (build_test_pipeline, init_detector, is_memory_detector,
                               pack_frame, predict_packed)

TINY_CLASSES = ('a', 'b', 'c')


def tiny_config(height: int, width: int) -> Config:
    """The built-in tiny memory detector (pixel + instance OGEM) and its test pipeline."""
    norm = dict(type='BN', requires_grad=True)
    detector = dict(
        type='FasterRCNN',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True,
                               pad_size_divisor=32),
        backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                      out_indices=(0, 1, 2, 3), norm_cfg=norm, norm_eval=False),
        neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, num_outs=5),
        rpn_head=dict(
            type='RPNHead', in_channels=16, feat_channels=16,
            anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                                  strides=[4, 8, 16, 32, 64]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                            target_stds=[1.0] * 4)),
        roi_head=dict(
            type='StandardRoIHead',
            bbox_roi_extractor=dict(
                type='SingleRoIExtractor',
                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                out_channels=16, featmap_strides=[4, 8, 16, 32]),
            bbox_head=dict(
                type='Shared2FCBBoxHead', in_channels=16, fc_out_channels=32, roi_feat_size=7,
                num_classes=len(TINY_CLASSES),
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                target_stds=[0.1, 0.1, 0.2, 0.2]))),
        train_cfg=None,  # inference only
        test_cfg=dict(
            rpn=dict(nms_pre=200, max_per_img=16, nms=dict(type='nms', iou_threshold=0.7),
                     min_bbox_size=0),
            rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=10)))
    ogem = dict(type='ExternalMemoryAggregator', num_heads=2, embed_channels=8)
    model = dict(type='MemoryVideoDetector', detector=detector, pixel_levels=[0],
                 pixel_memory=dict(ogem, in_channels=16, score_thr=0.0),
                 instance_memory=dict(ogem, in_channels=16 * 7 * 7))
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=(width, height), keep_ratio=True),
                dict(type='PackVideoFrameInputs')]
    return Config(dict(
        default_scope='mmdet', model=model,
        test_dataloader=dict(dataset=dict(type='SynthVIDDataset', pipeline=pipeline,
                                          metainfo=dict(classes=TINY_CLASSES)))))


def stream_frames(height: int, width: int, num_frames: int, seed: int = 0):
    """(H, W, 3) uint8 frames: a smoothed random image seen through a window
    that moves one pixel right and down per frame (wrapping around)."""
    rng = np.random.default_rng(seed)
    size = (height + 64, width + 64)
    noise = rng.integers(0, 256, (size[0] // 8 + 1, size[1] // 8 + 1, 3)).astype(np.float32)
    base = np.kron(noise, np.ones((8, 8, 1), np.float32))[:size[0], :size[1]].astype(np.uint8)
    for t in range(num_frames):
        dy, dx = t % 64, (t * 3) % 64
        yield np.ascontiguousarray(base[dy:dy + height, dx:dx + width])


def window_summary(times_ms: Sequence[float], rows: Sequence[Dict[str, float]],
                   start: int) -> Dict[str, Any]:
    """Time and memory rows of one window of frames."""
    out: Dict[str, Any] = dict(
        frames=f'{start}-{start + len(times_ms) - 1}',
        mean_ms=statistics.fmean(times_ms), median_ms=statistics.median(times_ms),
        max_ms=max(times_ms))
    for key in sorted({k for r in rows for k in r if k.endswith('.rows')}):
        values = [r.get(key, 0.0) for r in rows]
        out[f'{key}_mean'] = statistics.fmean(values)
        out[f'{key}_max'] = max(values)
    return out


def format_windows(windows: List[Dict[str, Any]]) -> str:
    keys = [k for k in windows[0] if k != 'frames']
    lines = ['frames     ' + ' '.join(f'{k:>22}' for k in keys)]
    for w in windows:
        lines.append(f"{w['frames']:<10} " + ' '.join(f'{w[k]:>22.1f}' for k in keys))
    return '\n'.join(lines)


def run(model, cfg: Config, height: int, width: int, num_frames: int, window: int,
        seed: int = 0) -> Dict[str, Any]:
    """Time ``num_frames`` frames of one video; returns windows and flatness."""
    if not is_memory_detector(model):
        raise TypeError(f'{type(model).__name__} is not a memory detector (MemoryVideoDetector)')
    pipeline = build_test_pipeline(cfg, 'array')
    vstate = model.new_video_state(0)
    on_cuda = next(model.parameters()).is_cuda
    times_ms: List[float] = []
    rows: List[Dict[str, float]] = []
    for t, frame in enumerate(stream_frames(height, width, num_frames, seed)):
        inputs, sample = pack_frame(pipeline, frame, 0, t)
        if on_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = predict_packed(model, inputs, sample, vstate)
        if on_cuda:
            torch.cuda.synchronize()
        times_ms.append((time.perf_counter() - start) * 1000)
        rows.append(dict(out.metainfo.get('memory_stats', {})))
    windows = [window_summary(times_ms[i:i + window], rows[i:i + window], i)
               for i in range(0, num_frames, window)]
    # The first window holds the warm-up; flatness compares the second with the last.
    ref = windows[1] if len(windows) > 2 else windows[0]
    return dict(num_frames=num_frames, window=window, windows=windows,
                last_over_second_window=windows[-1]['mean_ms'] / ref['mean_ms'],
                mean_ms=statistics.fmean(times_ms))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Time a memory detector over a long stream')
    parser.add_argument('config', nargs='?', default=None,
                        help='config file (default: the built-in tiny OGEM detector)')
    parser.add_argument('checkpoint', nargs='?', default=None, help='checkpoint file')
    parser.add_argument('--num-frames', type=int, default=1000, help='frames of the stream')
    parser.add_argument('--window', type=int, default=100, help='frames per reported window')
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'), default=None,
                        help='frame size (default 64 64 for the tiny model, 160 160 otherwise)')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--cpu-threads', type=int, default=None, help='torch intra-op threads')
    parser.add_argument('--seed', type=int, default=0, help='seed of the frames and the weights')
    parser.add_argument('--out', default=None, help='write the report to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def main(argv=None) -> Optional[Dict[str, Any]]:
    args = parse_args(argv)
    if args.num_frames < 1 or args.window < 1:
        raise ValueError(f'--num-frames ({args.num_frames}) and --window ({args.window}) '
                         'must be >= 1')
    if args.cpu_threads is not None:
        if args.cpu_threads < 1:
            raise ValueError(f'--cpu-threads must be >= 1, got {args.cpu_threads}')
        torch.set_num_threads(args.cpu_threads)
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError(f'--device {args.device}: CUDA is not available here')
    torch.manual_seed(args.seed)
    height, width = args.size or ((64, 64) if args.config is None else (160, 160))
    if args.config is None:
        if args.checkpoint is not None:
            raise ValueError('a checkpoint needs its config')
        cfg = tiny_config(height, width)
    else:
        cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = init_detector(cfg, args.checkpoint, device=args.device)
    report = run(model, model.cfg, height, width, args.num_frames, args.window, args.seed)
    report.update(config=args.config or 'built-in tiny OGEM detector', checkpoint=args.checkpoint,
                  size=[height, width], device=args.device, threads=torch.get_num_threads())
    print(f"{report['config']}, {height}x{width}, {args.device}, "
          f"{report['threads']} thread(s), {args.num_frames} frames")
    print(format_windows(report['windows']))
    print(f"mean {report['mean_ms']:.1f} ms/frame; last window / second window: "
          f"{report['last_over_second_window']:.2f}")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == '__main__':
    main()
