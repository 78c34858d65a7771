"""Evaluate the fast + strong runner (Vu et al., Table 3) against the fast detector alone.

Runs the config's test videos online through :class:`FastStrongRunner` and
reports VID mAP (overall / slow / medium / fast) and ms per frame, for the
fast detector alone and with the strong features. ``--mode deterministic``
(default) uses each strong result exactly ``delay`` frames late, with the
strong detector in line (its time is in ``ms/frame``; ``fast path`` leaves it
out); ``--mode thread`` runs the strong detector in a background thread (on
``--strong-device``, e.g. a second GPU).

Examples::

    python tools/analysis_tools/eval_fast_strong.py \\
        configs/fast_strong/fast-strong_rfcn-r18_clocknet-rfcn-r18_synthvid.py CKPT
    python tools/analysis_tools/eval_fast_strong.py CONFIG --mode thread --device cuda:0 \\
        --strong-device cuda:1 --out fast_strong.json

Without CHECKPOINT the fast and strong checkpoints of the config's
``model.fast`` / ``model.strong`` are loaded (``init_weights``).
"""
import argparse

import torch
from mmengine.config import Config, DictAction

import mmvid_memory  # noqa: F401  (registers the components)
from mmvid_memory.apis import FastStrongRunner, dataset_videos, ensure_test_data, init_detector
from mmvid_memory.evaluation import VIDMetric
from mmvid_memory.utils.metrics_json import write_metrics_json


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Fast + strong detection vs fast alone')
    parser.add_argument('config', help='a FastStrongDetector config')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='FastStrongDetector checkpoint (default: the fast and strong '
                        'checkpoints named in the config)')
    parser.add_argument('--mode', choices=['deterministic', 'thread'], default='deterministic')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--strong-device', default=None, help='thread mode: the strong device')
    parser.add_argument('--max-videos', type=int, default=None)
    parser.add_argument('--warmup', type=int, default=5, help='frames not timed')
    parser.add_argument('--skip-fast-alone', action='store_true')
    parser.add_argument('--cpu-threads', type=int, default=None)
    parser.add_argument('--out', default=None, help='write the results to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def evaluate(model, cfg: Config, use_strong: bool, args) -> dict:
    """One pass over the test videos: VID metrics and the runner's timing summary."""
    metric = VIDMetric()
    metric.dataset_meta = dict(classes=model.dataset_meta.get('classes'))
    mode = args.mode if use_strong else 'deterministic'
    with FastStrongRunner(model, mode=mode, strong_device=args.strong_device,
                          use_strong=use_strong) as runner:
        for video_id, frames in dataset_videos(cfg, max_videos=args.max_videos):
            runner.start_video(video_id)
            for inputs, sample in frames:
                with torch.no_grad():
                    data = model.data_preprocessor(dict(inputs=[inputs], data_samples=[sample]))
                    result = runner.push(data['inputs'], data['data_samples'][0])
                metric.process(None, [result.to_dict()])
        summary = runner.summary(warmup=args.warmup)
    scores = metric.compute_metrics(metric.results)
    return dict(**{k: float(v) for k, v in scores.items()}, **summary)


def format_table(rows: dict) -> str:
    head = f"{'method':<32}{'mAP':>7}{'slow':>7}{'medium':>8}{'fast':>7}{'ms/frame':>10}" \
           f"{'fast path':>11}"
    lines = [head, '-' * len(head)]
    for name, r in rows.items():
        lines.append(f'{name:<32}{100 * r["mAP"]:>7.1f}{100 * r.get("mAP_slow", 0):>7.1f}'
                     f'{100 * r.get("mAP_medium", 0):>8.1f}{100 * r.get("mAP_fast", 0):>7.1f}'
                     f'{r["ms_per_frame"]:>10.1f}{r["fast_path_ms"]:>11.1f}')
    return '\n'.join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.cpu_threads is not None:
        torch.set_num_threads(args.cpu_threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.model.get('type') != 'FastStrongDetector':
        raise ValueError(f'{args.config}: model.type is {cfg.model.get("type")!r}, '
                         'not FastStrongDetector')
    ensure_test_data(cfg)
    model = init_detector(cfg, args.checkpoint, device=args.device)
    if args.checkpoint is None:
        model.init_weights()  # the fast and strong checkpoints of the config
        model.eval()
    rows = {}
    if not args.skip_fast_alone:
        rows['fast alone'] = evaluate(model, model.cfg, False, args)
    rows[f'fast + strong ({args.mode})'] = evaluate(model, model.cfg, True, args)
    print(f'interval {model.interval}, delay {model.delay} (deterministic), '
          f'device {args.device}')
    print(format_table(rows))
    if args.out:
        write_metrics_json(dict(config=args.config, checkpoint=args.checkpoint, mode=args.mode,
                                interval=model.interval, delay=model.delay, results=rows),
                           args.out)  # NaN as null
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
