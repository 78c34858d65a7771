"""Test a detector with the stock MMEngine runner (mmdet's tools/test.py interface).

Examples::

    python tools/test.py CONFIG CHECKPOINT
    python tools/test.py CONFIG CHECKPOINT --cfg-options test_dataloader.dataset.indices=20
    python tools/test.py CONFIG CHECKPOINT --allow-partial-load   # load only what fits
    python tools/test.py CONFIG CHECKPOINT --show-dir vis [--video-fps 10]   # one folder per video
    bash tools/dist_test.sh CONFIG CHECKPOINT 2
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS

# Before any config is read: registers the components, the `mmvid_memory::`
# config scope and the checkpoint allow-list, also for configs that forget
# custom_imports.
import mmvid_memory  # noqa: F401,E402
from mmvid_memory.engine import StrictLoadRunner  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file (omit to test the initialised model)')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument('--out', type=str,
                        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument('--metrics-out', type=str,
                        help='write the evaluation metrics to this JSON file')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='folder where the drawn frames are saved, one sub-folder per video; a relative '
             'folder is placed under work_dir/timestamp/')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='the interval of show (s)')
    parser.add_argument(
        '--video-fps', type=float, default=None,
        help='with --show-dir: also write each video\'s drawn frames to <video>.mp4 at this '
             'frame rate')
    parser.add_argument(
        '--allow-partial-load', action='store_true',
        help='load only the checkpoint weights that fit the model (sets strict_load=False); '
             'by default a checkpoint whose keys or shapes differ from the model is an error')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. model.test_cfg.rcnn.score_thr=0.01')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_cfg(args: argparse.Namespace) -> Config:
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir or args.video_fps is not None:
        trigger_visualization_hook(cfg, args)
    if args.allow_partial_load:
        cfg.strict_load = False
    return cfg


#: ``default_hooks.visualization`` types that mean mmdet's frame-wise hook.
_DET_VISUALIZATION_HOOKS = ('DetVisualizationHook', 'mmdet.DetVisualizationHook')


def trigger_visualization_hook(cfg: Config, args: argparse.Namespace) -> Config:
    """Switch drawing on for ``--show`` / ``--show-dir`` (mmdet's tools/test.py).

    mmdet's ``DetVisualizationHook`` becomes the package's
    ``VideoVisualizationHook`` (same arguments), which writes one folder per
    video instead of letting frames of different videos overwrite each other.
    """
    hooks = cfg.get('default_hooks') or {}
    if 'visualization' not in hooks:
        raise RuntimeError("--show / --show-dir need default_hooks.visualization, e.g. "
                           "visualization=dict(type='VideoVisualizationHook')")
    hook = hooks['visualization']
    if hook.get('type') in _DET_VISUALIZATION_HOOKS:
        hook['type'] = 'VideoVisualizationHook'
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        hook['test_out_dir'] = args.show_dir
    if args.video_fps is not None:
        if not args.show_dir:
            raise ValueError('--video-fps writes clips into --show-dir; give --show-dir too')
        if str(hook.get('type')).split('.')[-1] != 'VideoVisualizationHook':
            raise ValueError(f"--video-fps needs default_hooks.visualization of type "
                             f"'VideoVisualizationHook', the config has {hook.get('type')!r}")
        hook['video_fps'] = args.video_fps
    return cfg


def main() -> None:
    args = parse_args()
    cfg = build_cfg(args)
    from mmvid_memory.utils.launch import prepare_cfg_for_launch, used_loaders
    # Only the test loader: a test run never builds (or generates) the training data.
    prepare_cfg_for_launch(cfg, used_loaders(cfg, 'test'))
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl file, got {args.out!r}')
        cfg.test_evaluator = cfg.test_evaluator if isinstance(
            cfg.test_evaluator, list) else [cfg.test_evaluator]
        cfg.test_evaluator.append(dict(type='DumpDetResults', out_file_path=args.out))
    if 'runner_type' not in cfg:
        # Strict checkpoint loading also for configs that do not name it.
        runner = StrictLoadRunner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    metrics = runner.test()
    if args.metrics_out is not None:
        from mmengine.dist import is_main_process
        if is_main_process():
            # NaN (e.g. the AP of a class without ground truth) is written as null.
            from mmvid_memory.utils.metrics_json import write_metrics_json
            write_metrics_json(metrics, args.metrics_out)


if __name__ == '__main__':
    from mmvid_memory.utils import close_process_group
    try:
        main()
    finally:  # before interpreter exit: a gloo group left to it can abort the process
        close_process_group()
