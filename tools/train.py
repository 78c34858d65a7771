"""Train a detector with the stock MMEngine runner (mmdet's tools/train.py interface).

Examples::

    python tools/train.py configs/rfcn/rfcn_r18-dc5_1xb4-8e_synthvid.py
    python tools/train.py CONFIG --work-dir work_dirs/x --cfg-options train_cfg.max_iters=10
    python tools/train.py CONFIG --resume            # latest checkpoint in work_dir
    bash tools/dist_train.sh CONFIG 2                # torchrun, --launcher pytorch
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
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true', help='enable automatic LR scaling')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest in the work dir when '
             'no path is given')
    parser.add_argument(
        '--allow-partial-load', action='store_true',
        help='--resume from a checkpoint whose weights do not all fit the model (sets '
             'strict_load=False); by default a mismatch is an error')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=10')
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
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise RuntimeError('--auto-scale-lr needs `auto_scale_lr.base_batch_size` in the config')
        cfg.auto_scale_lr.enable = True
    if args.allow_partial_load:
        cfg.strict_load = False
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main() -> None:
    args = parse_args()
    cfg = build_cfg(args)
    from mmvid_memory.utils.launch import prepare_cfg_for_launch, used_loaders
    prepare_cfg_for_launch(cfg, used_loaders(cfg, 'train'))
    if 'runner_type' not in cfg:
        # Strict resume also for configs that do not name the runner.
        runner = StrictLoadRunner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    from mmvid_memory.utils import close_process_group
    try:
        main()
    finally:  # before interpreter exit: a gloo group left to it can abort the process
        close_process_group()
