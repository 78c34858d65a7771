"""Test a detector with the stock MMEngine runner (mmdet's tools/test.py interface).

Examples::

    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --cfg-options test_dataloader.dataset.indices=20
    bash tools/dist_test.sh CONFIG CHECKPOINT 2
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

# Before any config is read: registers the components, the `mmvid_memory::`
# config scope and the checkpoint allow-list, also for configs that forget
# custom_imports.
import mmvid_memory  # noqa: F401,E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file (omit to test the initialised model)')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument('--out', type=str,
                        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument('--metrics-out', type=str,
                        help='write the evaluation metrics to this JSON file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. model.test_cfg.rcnn.score_thr=0.01')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    from mmvid_memory.utils import prepare_cfg_for_launch
    prepare_cfg_for_launch(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl file, got {args.out!r}')
        cfg.test_evaluator = cfg.test_evaluator if isinstance(
            cfg.test_evaluator, list) else [cfg.test_evaluator]
        cfg.test_evaluator.append(dict(type='DumpDetResults', out_file_path=args.out))
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    metrics = runner.test()
    if args.metrics_out is not None:
        from mmengine.dist import is_main_process
        if is_main_process():
            import json
            os.makedirs(osp.dirname(osp.abspath(args.metrics_out)), exist_ok=True)
            with open(args.metrics_out, 'w') as f:
                json.dump({k: float(v) if isinstance(v, (int, float)) else str(v)
                           for k, v in metrics.items()}, f, indent=2)


if __name__ == '__main__':
    from mmvid_memory.utils import close_process_group
    try:
        main()
    finally:  # before interpreter exit: a gloo group left to it can abort the process
        close_process_group()
