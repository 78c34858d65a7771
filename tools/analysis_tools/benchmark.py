"""Speed of a (memory) detector per module, over whole videos, online.

Frames come from the config's test data set in video order (SynthVID is
generated when missing), or are random with ``--synthetic H W``. After
``--warmup`` frames, every frame is timed: backbone (+neck), memory read,
memory write, heads (RPN + RoI head, or the single-stage head) and the rest;
data loading is timed apart. Memory rows over time come from each frame's
``memory_stats``.

Examples::

    python tools/analysis_tools/benchmark.py CONFIG CHECKPOINT --max-videos 5
    python tools/analysis_tools/benchmark.py CONFIG --synthetic 160 160 --out bench.json
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction

import mmvid_memory  # noqa: F401  (registers the components)
from mmvid_memory.apis import (benchmark_videos, dataset_videos, ensure_test_data,
                               format_benchmark_table, init_detector, synthetic_videos)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark a video detector per module')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', default=None, help='checkpoint file')
    parser.add_argument('--max-videos', type=int, default=None,
                        help='videos to run (default: all; 2 with --synthetic)')
    parser.add_argument('--warmup', type=int, default=5, help='frames run but not timed')
    parser.add_argument('--num-frames', type=int, default=None,
                        help='stop after this many timed frames (default: whole videos)')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--synthetic', type=int, nargs=2, metavar=('H', 'W'), default=None,
                        help='random H x W frames instead of the data set')
    parser.add_argument('--video-length', type=int, default=20,
                        help='frames per synthetic video')
    parser.add_argument('--seed', type=int, default=0, help='seed of the synthetic frames')
    parser.add_argument('--cpu-threads', type=int, default=None,
                        help='torch intra-op threads (default: torch\'s); 1 is often fastest '
                        'for small models on a busy machine')
    parser.add_argument('--out', default=None, help='write the full report to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device.startswith('cuda'):
        if not torch.cuda.is_available():
            raise RuntimeError(f'--device {args.device}: CUDA is not available here')
    if args.cpu_threads is not None:
        if args.cpu_threads < 1:
            raise ValueError(f'--cpu-threads must be >= 1, got {args.cpu_threads}')
        torch.set_num_threads(args.cpu_threads)
    if args.max_videos is not None and args.max_videos < 1:
        raise ValueError(f'--max-videos must be >= 1, got {args.max_videos}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.synthetic is None:
        ensure_test_data(cfg)  # first, so that the class names can be read from it
    model = init_detector(cfg, args.checkpoint, device=args.device)
    if args.synthetic is not None:
        height, width = args.synthetic
        videos = synthetic_videos(model.cfg, height, width,
                                  num_videos=args.max_videos or 2,
                                  video_length=args.video_length, seed=args.seed)
        source = f'synthetic {height}x{width}'
    else:
        videos = dataset_videos(model.cfg, max_videos=args.max_videos)
        source = 'test_dataloader'
    report = benchmark_videos(model, videos, warmup=args.warmup, num_frames=args.num_frames)
    report = dict(config=args.config, checkpoint=args.checkpoint, source=source,
                  cpu_threads=torch.get_num_threads(), **report)
    print(format_benchmark_table(report))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1, default=str, allow_nan=False)
        print(f'report -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
