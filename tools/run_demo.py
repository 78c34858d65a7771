"""The main job: train and evaluate the detectors on SynthVID, print one table.

Every step is a command a user can run by hand (printed before it runs):
SynthVID is generated (once), the single-frame R-FCN-18 baseline and the
memory detectors are trained with ``tools/train.py`` (the stock MMEngine
runner), evaluated with ``tools/test.py`` and the VID metric, and timed with
``tools/analysis_tools/benchmark.py``. The table and the pictures go to
``--out-dir`` (default ``work_dirs/demo``); results are never printed for a
step that did not run.

    python tools/run_demo.py             # train what is missing, evaluate, report
    python tools/run_demo.py --retrain   # train everything again
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PY = sys.executable

# name, config, family, what it is
BASELINE = dict(name='R-FCN-18', config='configs/rfcn/rfcn_r18-dc5_1xb4-4e_synthvid.py',
                family='baseline', note='single frame, 4 epochs from scratch')
MODELS = [
    dict(name='R-FCN-18 +ft', config='configs/rfcn/rfcn_r18-dc5_1xb8-ft300_synthvid.py',
         family='baseline', note='baseline + the 300 fine-tuning iterations, single frames'),
    dict(name='OGEM pix+inst', config='configs/ogem/ogem-pix-inst_rfcn_r18-dc5_synthvid.py',
         family='OGEM', note='seed 000, pixel + instance memory'),
    dict(name='MemNet', config='configs/memnet/memnet-mean_rfcn_r18-dc5_synthvid.py',
         family='MemNet', note='seed 003, warped memory, mean aggregation'),
    dict(name='ClockNet', config='configs/clocknet/clocknet_rfcn_r18-dc5_synthvid.py',
         family='ClockNet', note='seed 003, strides 1/4/8'),
]


def config_stem(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


class Step:
    """Run one command with its output in a log file and a progress bar."""

    ITER_RE = re.compile(r'\((?:train|test|val)\)\s+\[(?:\d+\]\[)?(\d+)/(\d+)\]')

    def __init__(self, title: str, cmd: List[str], log_file: str, total: Optional[int] = None):
        self.title, self.cmd, self.log_file, self.total = title, cmd, log_file, total

    def run(self) -> float:
        from tqdm import tqdm
        print(f'\n==> {self.title}\n    $ {" ".join(self.cmd)}\n    log: {self.log_file}',
              flush=True)
        os.makedirs(osp.dirname(self.log_file), exist_ok=True)
        start = time.time()
        bar = tqdm(total=self.total, desc=self.title[:40], unit='it', leave=True,
                   dynamic_ncols=True, disable=not sys.stderr.isatty() and self.total is None)
        env = dict(os.environ, PYTHONUNBUFFERED='1')
        with open(self.log_file, 'w') as log:
            proc = subprocess.Popen(self.cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, env=env)
            epoch_offset, last = 0, 0
            for line in proc.stdout:
                log.write(line)
                match = self.ITER_RE.search(line)
                if match:
                    done, total = int(match.group(1)), int(match.group(2))
                    if done < last:  # a new epoch
                        epoch_offset += last
                    last = done
                    if self.total is None:
                        bar.total = total
                    bar.n = epoch_offset + done if self.total else done
                    bar.refresh()
            rc = proc.wait()
        bar.close()
        elapsed = time.time() - start
        if rc != 0:
            with open(self.log_file) as f:
                tail = ''.join(f.readlines()[-30:])
            raise RuntimeError(f'step "{self.title}" failed (exit {rc}); last lines of '
                               f'{self.log_file}:\n{tail}')
        print(f'    done in {elapsed / 60:.1f} min', flush=True)
        return elapsed


def train(model: Dict, work_root: str, retrain: bool, extra: List[str]) -> Dict:
    stem = config_stem(model['config'])
    work_dir = osp.join(work_root, stem)
    ckpt = osp.join(work_dir, 'last_checkpoint')
    info = dict(work_dir=work_dir, train_seconds=None)
    if osp.exists(ckpt) and not retrain:
        print(f'\n==> {model["name"]}: reusing {open(ckpt).read().strip()} '
              '(--retrain trains again)')
    else:
        cmd = [PY, 'tools/train.py', model['config'], '--work-dir', work_dir] + extra
        info['train_seconds'] = Step(f'train {model["name"]}', cmd,
                                     osp.join(work_dir, 'train.log')).run()
    with open(ckpt) as f:
        info['checkpoint'] = f.read().strip()
    return info


def evaluate(model: Dict, info: Dict, threads: int) -> Dict:
    metrics_file = osp.join(info['work_dir'], 'metrics.json')
    cmd = [PY, 'tools/test.py', model['config'], info['checkpoint'], '--work-dir',
           info['work_dir'], '--metrics-out', metrics_file]
    Step(f'test {model["name"]}', cmd, osp.join(info['work_dir'], 'test.log')).run()
    with open(metrics_file) as f:
        metrics = json.load(f)
    bench_file = osp.join(info['work_dir'], 'benchmark.json')
    cmd = [PY, 'tools/analysis_tools/benchmark.py', model['config'], info['checkpoint'],
           '--max-videos', '4', '--warmup', '5', '--cpu-threads', str(threads),
           '--out', bench_file]
    Step(f'benchmark {model["name"]}', cmd, osp.join(info['work_dir'], 'benchmark.log')).run()
    with open(bench_file) as f:
        bench = json.load(f)
    return dict(metrics=metrics, bench=bench)


def memory_size(bench: Dict) -> Optional[float]:
    """Mean memory size in feature maps per frame (seed 000, Table 3 counting)."""
    summary = bench.get('memory', {}).get('summary', {})
    total, found = 0.0, False
    for key, stats in summary.items():
        if key.endswith('.size') or key.endswith('.memory_maps'):
            total += stats['mean']
            found = True
    return total if found else None


def result_row(model: Dict, info: Dict, evaluation: Dict) -> Dict:
    m, bench = evaluation['metrics'], evaluation['bench']
    return dict(
        name=model['name'], family=model['family'], config=model['config'],
        checkpoint=info['checkpoint'], note=model['note'],
        mAP=100 * m['vid/mAP'], mAP_slow=100 * m['vid/mAP_slow'],
        mAP_medium=100 * m['vid/mAP_medium'], mAP_fast=100 * m['vid/mAP_fast'],
        ms_per_frame=bench['ms_per_frame']['total'], memory_size=memory_size(bench),
        train_minutes=None if info['train_seconds'] is None else info['train_seconds'] / 60)


def format_table(rows: List[Dict]) -> str:
    header = ('| model | mAP | slow | medium | fast | ms/frame | memory (maps) | train min |\n'
              '| --- | --- | --- | --- | --- | --- | --- | --- |')
    lines = [header]
    for r in rows:
        mem = '-' if r['memory_size'] is None else f'{r["memory_size"]:.2f}'
        tm = '-' if r['train_minutes'] is None else f'{r["train_minutes"]:.1f}'
        lines.append(f'| {r["name"]} | {r["mAP"]:.1f} | {r["mAP_slow"]:.1f} | '
                     f'{r["mAP_medium"]:.1f} | {r["mAP_fast"]:.1f} | {r["ms_per_frame"]:.1f} | '
                     f'{mem} | {tm} |')
    return '\n'.join(lines)


def make_pictures(rows: List[Dict], out_dir: str) -> List[str]:
    """Speed-accuracy scatter, memory size over a video, a side-by-side clip."""
    from mmvid_memory.visualization.demo_figures import write_demo_figures
    return write_demo_figures(rows, out_dir)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--retrain', action='store_true', help='train every model again')
    parser.add_argument('--work-root', default='work_dirs/demo', help='where models train')
    parser.add_argument('--out-dir', default='work_dirs/demo', help='table and pictures')
    parser.add_argument('--threads', type=int, default=2, help='CPU threads when timing')
    parser.add_argument('--only', nargs='*', help='names of the models to run (default all)')
    parser.add_argument('--no-pictures', action='store_true')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    os.chdir(ROOT)
    sys.path.insert(0, ROOT)
    from mmvid_memory.datasets.synthvid import ensure_synthvid
    print('==> SynthVID: data/synthvid (generated on first use, reused while its parameters '
          'are unchanged)', flush=True)
    ensure_synthvid(osp.join(ROOT, 'data', 'synthvid'))

    baseline_info = train(BASELINE, args.work_root, args.retrain, [])
    baseline_ckpt = baseline_info['checkpoint']
    plan = [(BASELINE, baseline_info)]
    for model in MODELS:
        if args.only and model['name'] not in args.only:
            continue
        # Every memory detector (and the fine-tuned baseline) starts from this run's baseline.
        if model['family'] == 'baseline':
            extra = ['--cfg-options', f'load_from={baseline_ckpt}']
        else:
            extra = ['--cfg-options', f'model.detector.init_cfg.checkpoint={baseline_ckpt}']
        plan.append((model, train(model, args.work_root, args.retrain, extra)))

    rows = []
    for model, info in plan:
        rows.append(result_row(model, info, evaluate(model, info, args.threads)))

    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'results.json'), 'w') as f:
        json.dump(rows, f, indent=2)
    table = format_table(rows)
    with open(osp.join(args.out_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    pictures = [] if args.no_pictures else make_pictures(rows, args.out_dir)
    print('\n==> SynthVID val (20 videos, 615 frames): VID mAP (%) overall / slow / medium / '
          'fast, ms per frame on this CPU, mean memory size in feature maps')
    print(table)
    for path in pictures:
        print(f'    wrote {path}')
    print(f'\nmake demo took {(time.time() - start) / 60:.1f} min; results in {args.out_dir}/')


if __name__ == '__main__':
    main()
