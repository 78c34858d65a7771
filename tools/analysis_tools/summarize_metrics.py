"""Mean and spread of VID metrics over replicate runs, as a markdown table.

Training noise of a 300-iteration fine-tune is as large as the differences
between memories on SynthVID (docs/results_synthvid.md), so a row should be the
mean of several fine-tunings. Each ``--row NAME FILE...`` reads the
``--metrics-out`` JSON files of ``tools/test.py``.

Example::

    python tools/analysis_tools/summarize_metrics.py \\
        --row 'R-FCN-18 +ft' work_dirs/ft_s*/metrics.json \\
        --row 'OGEM pix+inst' work_dirs/pixinst_s*/metrics.json --out table.json
"""
import argparse
import json
import math
from typing import Dict, List, Sequence

KEYS = (('mAP', 'vid/mAP'), ('slow', 'vid/mAP_slow'), ('medium', 'vid/mAP_medium'),
        ('fast', 'vid/mAP_fast'))
# Frame groups (VIDMetric frame_groups) present in every file become columns too.
GROUP_PREFIX = 'vid/mAP_'
GROUP_ORDER = ('degraded', 'clean')


def group_keys(runs: Sequence[Dict]) -> List[tuple]:
    """(name, key) of the frame-group mAPs every run reports, degraded and clean first."""
    known = {k for _, k in KEYS}
    common = set.intersection(*[{k for k in m if k.startswith(GROUP_PREFIX) and k not in known}
                                for m in runs])
    names = sorted((k[len(GROUP_PREFIX):] for k in common),
                   key=lambda n: (GROUP_ORDER.index(n) if n in GROUP_ORDER else len(GROUP_ORDER),
                                  n))
    return [(name, GROUP_PREFIX + name) for name in names]


def summarize(files: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """Per metric: ``mean``, ``std`` (sample, 0 for one run), ``values`` (percent).

    Raises:
        ValueError: no files, or a file without one of the VID metrics (named).
    """
    if not files:
        raise ValueError('summarize: no metrics files given')
    runs = []
    for path in files:
        with open(path) as f:
            metrics = json.load(f)
        missing = [key for _, key in KEYS if key not in metrics]
        if missing:
            raise ValueError(f'{path} lacks {missing} (a tools/test.py --metrics-out file of '
                             'a VIDMetric test?)')
        runs.append(metrics)
    out = {}
    for name, key in tuple(KEYS) + tuple(group_keys(runs)):
        values = [100.0 * float(m[key]) for m in runs]
        mean = sum(values) / len(values)
        var = (sum((v - mean)**2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
        out[name] = dict(mean=mean, std=math.sqrt(var), values=values)
    return out


def format_rows(rows: List[tuple]) -> str:
    """Markdown: one line per ``(name, summary)``, ``mean ± std`` and n; the
    columns every row has (the VID splits, then frame groups)."""
    columns = [k for k in rows[0][1]] if rows else [k for k, _ in KEYS]
    columns = [k for k in columns if all(k in summary for _, summary in rows)]
    lines = ['| model | n | ' + ' | '.join(columns) + ' | runs (mAP) |',
             '| --- | --- | ' + ' | '.join('---' for _ in columns) + ' | --- |']
    for name, summary in rows:
        cells = [f"{summary[k]['mean']:.1f} ± {summary[k]['std']:.1f}" for k in columns]
        runs = ' / '.join(f'{v:.1f}' for v in summary['mAP']['values'])
        lines.append(f"| {name} | {len(summary['mAP']['values'])} | " + ' | '.join(cells) +
                     f' | {runs} |')
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--row', nargs='+', action='append', required=True,
                        metavar=('NAME', 'FILE'), help='a row name and its metrics files')
    parser.add_argument('--out', help='also write the summaries as JSON')
    args = parser.parse_args()
    rows = []
    for row in args.row:
        if len(row) < 2:
            parser.error(f'--row {row[0]!r} names no metrics file')
        rows.append((row[0], summarize(row[1:])))
    print(format_rows(rows))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump({name: summary for name, summary in rows}, f, indent=2)


if __name__ == '__main__':
    main()
