"""Choose the object-guided write threshold tau from a detector's scores.

Runs a detector (single-frame or memory) over frames of a split, matches its
detections to the ground truth with the VID rule, and prints the score
distribution of correct detections, per tau the precision of detections above
it and the share of ground-truth boxes with a correct detection above it, and
the lowest tau whose detections are correct ``--precision`` of the time.

Example (the training split of SynthVID, the shipped baseline)::

    python tools/analysis_tools/score_threshold.py configs/rfcn/rfcn_r18-dc5_1xb4-12e_synthvid.py \\
        checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth \\
        --ann-file annotations/synthvid_train.json --videos 60 --precision 0.9
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional

import numpy as np
import torch
from mmengine.config import Config, DictAction

import mmvid_memory  # noqa: F401
from mmvid_memory.apis import dataset_videos, init_detector, predict_packed
from mmvid_memory.evaluation.functional.score_threshold import label_detections, score_report


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='score distribution and write threshold tau')
    parser.add_argument('config', help='detector config')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('--ann-file', default=None,
                        help='annotation file of the split to score, relative to the test '
                        "data set's data_root (default: the test split)")
    parser.add_argument('--videos', type=int, default=40, help='videos to run (default 40)')
    parser.add_argument('--precision', type=float, default=0.9,
                        help='wanted precision of written objects (default 0.9)')
    parser.add_argument('--threads', type=int, default=None, help='torch threads')
    parser.add_argument('--out', default=None, help='write the report as JSON here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='config overrides')
    return parser.parse_args(argv)


def numpy_of(value) -> np.ndarray:
    value = getattr(value, 'tensor', value)
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.ann_file:
        cfg.test_dataloader.dataset.ann_file = args.ann_file
        cfg.test_dataloader.dataset.pop('indices', None)
    model = init_detector(cfg, args.checkpoint, device='cpu')
    frames = []
    for video_id, video in dataset_videos(cfg, args.videos):
        vstate = model.new_video_state(video_id) if hasattr(model, 'new_video_state') else None
        for inputs, sample in video:
            gt = sample.gt_instances
            out = predict_packed(model, inputs, sample, vstate)
            pred = out.pred_instances
            frames.append(dict(det_bboxes=numpy_of(pred.bboxes), det_scores=numpy_of(pred.scores),
                               det_labels=numpy_of(pred.labels), gt_bboxes=numpy_of(gt.bboxes),
                               gt_labels=numpy_of(gt.labels)))
    report = score_report(label_detections(frames), args.precision)
    report.update(config=args.config, checkpoint=args.checkpoint, frames=len(frames),
                  ann_file=cfg.test_dataloader.dataset.ann_file)
    print(f'{len(frames)} frames, {report["num_detections"]} detections, '
          f'{report["num_gt"]} ground-truth boxes ({report["ann_file"]})')
    print(f'scores of correct detections (percentiles): {report["correct_score_percentiles"]}')
    print('tau      precision above  gt with a correct det above  detections above')
    for thr, row in report['thresholds'].items():
        prec = '-' if row['precision'] is None else f'{row["precision"]:.3f}'
        rec = '-' if row['gt_recall'] is None else f'{row["gt_recall"]:.3f}'
        print(f'{thr:<8} {prec:<16} {rec:<28} {row["detections"]}')
    print(f'lowest tau with precision >= {args.precision}: {report["tau"]:.4f}')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=2)

    return 0


if __name__ == '__main__':
    sys.exit(main())
