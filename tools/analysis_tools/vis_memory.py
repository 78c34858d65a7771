"""Picture an OGEM memory detector's memory on one test video (Deng et al., Fig. 3a).

The video runs online from its first frame with a fresh memory. Right after
frame ``--frame`` the tool draws where the memory rows came from (earlier
frames, their boxes and locations) and where the frame's attention lands;
at the end, the memory size per frame. Frames come from the config's test
data set (SynthVID is generated when missing).

Examples::

    python tools/analysis_tools/vis_memory.py CONFIG CHECKPOINT --video-index 0 --frame 40 \\
        --out-dir work_dirs/vis_memory
    python tools/analysis_tools/vis_memory.py CONFIG CHECKPOINT --frame 40 --query 120 80 \\
        --out-dir vis        # which rows the location (120, 80) takes from
    python tools/analysis_tools/vis_memory.py CONFIG CHECKPOINT --frame 40 --object-id 3 \\
        --out-dir vis        # where stored object #3 attends
"""
import argparse
import copy
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction

import mmvid_memory  # noqa: F401  (registers the components)
from mmvid_memory.apis import ensure_test_data, init_detector
from mmvid_memory.visualization import visualize_video_memory


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Picture the memory of an OGEM detector')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file (omit to run the initialised model)')
    parser.add_argument('--video-index', type=int, default=0,
                        help='video of the test data set (its place, from 0)')
    parser.add_argument('--frame', type=int, required=True,
                        help='frame of that video to picture (its place, from 0)')
    parser.add_argument('--out-dir', required=True, help='folder for the figures and the JSON')
    parser.add_argument('--point', default='pixel.0', help="memory point, e.g. 'pixel.0'")
    query = parser.add_mutually_exclusive_group()
    query.add_argument('--query', type=float, nargs=2, metavar=('X', 'Y'),
                       help='query location in frame pixels')
    query.add_argument('--query-box', type=float, nargs=4, metavar=('X1', 'Y1', 'X2', 'Y2'),
                       help='query box in frame pixels')
    query.add_argument('--object-id', type=int, default=None,
                       help='show where this stored object attends')
    parser.add_argument('--top-k', type=int, default=8, help='memory sources shown')
    parser.add_argument('--max-frames', type=int, default=None,
                        help='stop the video after N frames (default: whole video)')
    parser.add_argument('--score-thr', type=float, default=0.3, help='draw detections above it')
    parser.add_argument('--dpi', type=float, default=100, help='figure resolution')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # Before SynthVID may be generated: a wrong path should not cost minutes.
    for what, path in (('config', args.config), ('checkpoint', args.checkpoint)):
        if path is not None and '://' not in path and not osp.isfile(path):
            raise FileNotFoundError(f'{what} {path!r} does not exist')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError(f'--device {args.device}: CUDA is not available here')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    ensure_test_data(cfg)  # first, so that the class names can be read from it
    model = init_detector(cfg, args.checkpoint, device=args.device)
    from mmdet.registry import DATASETS
    dataset = DATASETS.build(copy.deepcopy(model.cfg.test_dataloader.dataset))
    query = args.query or args.query_box
    report = visualize_video_memory(
        model, dataset, args.video_index, args.frame, args.out_dir, point=args.point,
        query=query, object_id=args.object_id, top_k=args.top_k, max_frames=args.max_frames,
        score_thr=args.score_thr, dpi=args.dpi)
    summary = report['provenance']
    print(f"video {report['video_id']}: {len(report['frames'])} frames; frame "
          f"{report['frame_id']} read {summary['memory_rows']} rows of {report['point']}")
    for source in summary['sources'][:args.top_k]:
        print(f"  {source['kind']:<10} object {source['object_id']:>3}  frame "
              f"{source['frame_id']:>5}  rows {source['rows']:>5}  weight {source['weight']:.4f}")
    for name, path in report['files'].items():
        print(f'{name}: {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
