"""Memory health report: is the memory of a checkpoint engaged?

Runs a memory detector online over test videos, and over training clips
drawn by the config's training pipeline (each clip a fresh memory, as in
training), and prints and saves what shows the mechanism at work:

* object guided memory: lambda per memory point, normalised attention
  entropy (1 = uniform), theta / beta distributions, rows and objects held,
  objects written, deleted as similar (Eq. 8) and evicted;
* warped memories: weight of the frame's own features in the output, age of
  each memory, share of frames with image evidence, and (``--flow-config``)
  the flow network's end-point error against the zero field on
  SynthVID-Flow.

Examples::

    python tools/analysis_tools/memory_health.py \\
        configs/ogem/ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500-e2e300_synthvid.py CKPT \\
        --videos 20 --train-clips 20 --out work_dirs/health.json
    python tools/analysis_tools/memory_health.py \\
        configs/memnet/memnet-mean_rfcn_r18-dc5_1xb2-mem500-e2e300_synthvid.py CKPT \\
        --flow-config configs/flownet/flownets-c8_1xb8-6k_synthvid-flow.py
"""
import argparse
import copy
import json
import os
import os.path as osp
import random
import sys
from typing import Iterator, List, Optional

import numpy as np
import torch
from mmengine.config import Config, DictAction

import mmvid_memory  # noqa: F401
from mmvid_memory.apis import dataset_videos, init_detector, is_memory_detector
from mmvid_memory.apis.memory_health import (HealthRecorder, engagement, memory_temperatures,
                                             run_health)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='memory health report of a checkpoint')
    parser.add_argument('config', help='the memory detector config')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('--videos', type=int, default=20,
                        help='test videos to stream (default 20)')
    parser.add_argument('--train-clips', type=int, default=20,
                        help='training clips to run, 0 for none (default 20)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the clip draw')
    parser.add_argument('--flow-config', default=None,
                        help='a FlowNetPretrainer config: also measure the flow network\'s EPE '
                        'on SynthVID-Flow val (warped memories)')
    parser.add_argument('--flow-prefix', default='pixel_memory.flow_net.',
                        help='key prefix of the flow network in the checkpoint')
    parser.add_argument('--threads', type=int, default=None, help='torch threads')
    parser.add_argument('--out', default=None, help='write the report as JSON here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='config overrides')
    return parser.parse_args(argv)


def training_clips(cfg: Config, num_clips: int, seed: int) -> Iterator:
    """``num_clips`` items of the config's training data set (clips of a
    video, or single frames), as ``(video_id, frames)``."""
    from mmdet.registry import DATASETS
    from mmdet.structures import TrackDataSample

    from mmvid_memory.utils.launch import generate_missing_synthvid
    generate_missing_synthvid(Config(dict(train_dataloader=cfg.train_dataloader)))
    dataset = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
    # The clip sampler and the photometric transforms draw from these.
    random.seed(seed)
    np.random.seed(seed)
    picks = random.Random(seed).sample(range(len(dataset)), min(num_clips, len(dataset)))
    for clip_index, idx in enumerate(picks):
        item = dataset[idx]
        inputs, sample = item['inputs'], item['data_samples']
        if isinstance(sample, TrackDataSample):
            frames = [(inputs[t], sample.video_data_samples[t]) for t in range(len(sample))]
        else:
            frames = [(inputs, sample)]
        yield f'train_clip_{clip_index}', frames


def format_report(report: dict) -> str:
    lines = [f'memory health of {report["checkpoint"]}']
    for name, value in report['temperature'].items():
        lines.append(f'  lambda {name}: {value:.3f}')
    if report.get('flow_epe'):
        flow = report['flow_epe']
        lines.append(f'  flow EPE {flow["epe"]:.4f} (zero field {flow["zero_epe"]:.4f})')
    keys = ('rows_mean', 'rows_read_mean', 'objects_mean', 'objects_on_frames_with_gt_mean',
            'background_rows_mean', 'entropy_mean', 'beta_mean_mean', 'theta_mean_mean',
            'beta_below_0.75', 'objects_written_total', 'objects_deleted_total',
            'objects_evicted_total', 'rows_deleted_total', 'same_class_pairs', 'similar_pairs',
            'current_weight_mean',
            'evidence_mean', 'age.0_mean', 'age.1_mean', 'age.2_mean')
    for part in ('test', 'train_clips'):
        if part not in report:
            continue
        lines.append(f'  {part} ({report[part]["frames"]} frames):')
        for point, figures in report[part]['points'].items():
            shown = ', '.join(f'{k.replace("_mean", "")} {figures[k]:.3g}' for k in keys
                              if figures.get(k) is not None)
            lines.append(f'    {point}: {shown}')
            ratios = figures.get('similarity_ratio_percentiles')
            if ratios:
                lines.append(f'    {point}: Eq. 8 D / threshold of same-class pairs, '
                             'percentiles ' + ', '.join(f'{p}: {v:.2f}'
                                                        for p, v in ratios.items()))
    for point, result in report['engagement'].items():
        checks = ', '.join(f'{k} {c["value"]:.3g} ({c["bound"]}: {"ok" if c["ok"] else "NO"})'
                           for k, c in result['checks'].items())
        lines.append(f'  engaged {point}: {result["engaged"]} ({checks})')
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = init_detector(cfg, args.checkpoint, device='cpu')
    if not is_memory_detector(model):
        raise TypeError(f'{args.config} is not a memory detector (MemoryVideoDetector)')
    report = dict(config=args.config, checkpoint=args.checkpoint,
                  temperature=memory_temperatures(model))
    test = run_health(model, dataset_videos(cfg, args.videos), HealthRecorder('test'))
    report['test'] = test.summary()
    if args.train_clips > 0:
        clips = run_health(model, training_clips(cfg, args.train_clips, args.seed),
                           HealthRecorder('train_clips'), train_mode_memory=True)
        report['train_clips'] = clips.summary()
    flow = None
    if args.flow_config:
        from mmvid_memory.apis.flow_eval import flow_epe_of_checkpoint
        metrics = flow_epe_of_checkpoint(args.flow_config, args.checkpoint, args.flow_prefix)
        flow = dict(epe=metrics['flow/epe'], zero_epe=metrics['flow/zero_epe'])
        report['flow_epe'] = flow
    report['engagement'] = engagement(report['test'], flow)
    print(format_report(report))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=2)

    return 0


if __name__ == '__main__':
    sys.exit(main())
