"""Loss and mAP curves, and training time, from MMEngine's json logs (mmdet's interface).

The runner writes one json line per logged step to
``work_dirs/<run>/<timestamp>/vis_data/<timestamp>.json`` (``scalars.json``
holds the same): training lines carry ``loss``, ``lr``, ``time``, ...,
validation lines the metrics (``vid/mAP``, ``vid/mAP_fast``, ...), each with
its ``step`` (iteration, or epoch for epoch-based validation).

Examples::

    python tools/analysis_tools/analyze_logs.py plot_curve LOG.json --keys loss --out loss.png
    python tools/analysis_tools/analyze_logs.py plot_curve A.json B.json \\
        --keys vid/mAP vid/mAP_fast --legend ogem nomem --out map.png
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Sequence, Tuple

import numpy as np


def load_json_log(path: str) -> List[dict]:
    """The records of a json log, one per line (blank lines skipped).

    Raises:
        FileNotFoundError: No such file.
        ValueError: A line is not a JSON object (names file and line).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'log {path!r} does not exist')
    records = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{number}: not a JSON line ({err.msg})') from None
            if not isinstance(record, dict):
                raise ValueError(f'{path}:{number}: a JSON line must be an object')
            records.append(record)
    return records


def series(records: Sequence[dict], key: str) -> Tuple[np.ndarray, np.ndarray]:
    """(steps, values) of every record that has ``key`` (and a ``step``).

    Raises:
        KeyError: No record has the key; the message lists the keys there are.
    """
    steps, values = [], []
    for record in records:
        if key in record and 'step' in record:
            steps.append(record['step'])
            values.append(record[key])
    if not steps:
        known = sorted({k for r in records for k in r if k != 'step'})
        raise KeyError(f'no log line has {key!r}; keys in the log: {known}')
    return np.asarray(steps, dtype=np.float64), np.asarray(values, dtype=np.float64)


def plot_curve(logs: Sequence[str], keys: Sequence[str], legend: Sequence[str] = (),
               title: str = '', out: str = '') -> Dict[str, Dict[str, Tuple]]:
    """One panel per key, one line per log; saved to ``out`` (or shown).

    Returns:
        dict: key -> legend name -> (steps, values) as plotted.
    """
    import matplotlib
    if out:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(legend) or [osp.splitext(osp.basename(p))[0] for p in logs]
    if len(names) != len(logs):
        raise ValueError(f'{len(names)} legend names for {len(logs)} logs')
    records = [load_json_log(p) for p in logs]
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 3 * len(keys)), squeeze=False)
    plotted: Dict[str, Dict[str, Tuple]] = {}
    for ax, key in zip(axes[:, 0], keys):
        plotted[key] = {}
        for name, log in zip(names, records):
            steps, values = series(log, key)
            ax.plot(steps, values, marker='o' if len(steps) < 20 else None, label=name)
            plotted[key][name] = (steps, values)
        ax.set_xlabel('step')
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if out:
        fig.savefig(out, dpi=100)
        plt.close(fig)
    else:
        plt.show()
    return plotted


def cal_train_time(logs: Sequence[str], include_outliers: bool = False) -> Dict[str, dict]:
    """Seconds per training iteration of each log (``time`` of training lines)."""
    out = {}
    for path in logs:
        _, times = series([r for r in load_json_log(path) if 'loss' in r], 'time')
        if not include_outliers and len(times) > 1:
            times = times[1:]  # the first logged step carries start-up work
        out[path] = dict(mean=float(times.mean()), std=float(times.std()),
                         slowest=float(times.max()), fastest=float(times.min()))
        print(f'{path}: {out[path]["mean"]:.4f} s/iter (std {out[path]["std"]:.4f}, '
              f'slowest {out[path]["slowest"]:.4f}, fastest {out[path]["fastest"]:.4f})')
    return out


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Analyze json logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot curves of logged keys')
    plot.add_argument('json_logs', nargs='+', help='json logs of the runs')
    plot.add_argument('--keys', nargs='+', default=['loss'],
                      help='keys to plot, e.g. loss lr vid/mAP vid/mAP_fast')
    plot.add_argument('--legend', nargs='+', default=[], help='one name per log')
    plot.add_argument('--title', default='', help='figure title')
    plot.add_argument('--out', default='', help='save the figure here instead of showing it')
    time = sub.add_parser('cal_train_time', help='seconds per training iteration')
    time.add_argument('json_logs', nargs='+', help='json logs of the runs')
    time.add_argument('--include-outliers', action='store_true',
                      help='keep the first logged step')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.task == 'plot_curve':
        plot_curve(args.json_logs, args.keys, args.legend, args.title, args.out)
        if args.out:
            print(f'saved {args.out}')
    else:
        cal_train_time(args.json_logs, args.include_outliers)
    return 0


if __name__ == '__main__':
    sys.exit(main())
