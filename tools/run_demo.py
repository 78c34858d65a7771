"""The main job: train and evaluate the detectors on SynthVID, print one table.

Every step is a command a user can run by hand (printed before it runs):
SynthVID is generated (once), the single-frame R-FCN-18 baseline is taken
from ``checkpoints/`` (12 epochs, made with ``tools/train.py`` and
``tools/misc/publish_model.py``; trained here instead with ``--retrain`` or when
the SynthVID parameters differ from the ones it was trained on), the memory
detectors are trained from it with ``tools/train.py`` (the stock MMEngine
runner), evaluated with ``tools/test.py`` and the VID metric, and timed with
``tools/analysis_tools/benchmark.py``. The table and the pictures go to
``--out-dir`` (default ``work_dirs/demo``); results are never printed for a
step that did not run.

    python tools/run_demo.py             # train what is missing, evaluate, report
    python tools/run_demo.py --retrain   # train everything again, the baseline too (~25 min more)
    python tools/run_demo.py --extended  # also the ablations of the issues' tables (~40 min more)

``--extended`` adds, on the same baseline and budget: OGEM pixel only and
instance only and the key-frame speed mode (seed 000, Tables 1-2), MemNet with
the weighted aggregation, feature propagation, anticipation and box
propagation at delta = 4 and 8 (seed 003, Table 2) and the fast + strong runner
against the fast detector alone (seed 003, Table 3); it writes
``results_extended.md``.
"""
import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PY = sys.executable

# name, config, family, what it is
BASELINE = dict(name='R-FCN-18', config='configs/rfcn/rfcn_r18-dc5_1xb4-12e_synthvid.py',
                family='baseline', note='single frame, 12 epochs from scratch',
                shipped='checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth')
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

# --extended: more trained models, then test-time variants of trained ones.
EXTENDED_MODELS = [
    dict(name='OGEM pix', config='configs/ogem/ogem-pix_rfcn_r18-dc5_synthvid.py',
         family='OGEM', note='seed 000, pixel memory only'),
    dict(name='OGEM inst', config='configs/ogem/ogem-inst_rfcn_r18-dc5_synthvid.py',
         family='OGEM', note='seed 000, instance memory only'),
    dict(name='MemNet weighted', config='configs/memnet/memnet-weighted_rfcn_r18-dc5_synthvid.py',
         family='MemNet', note='seed 003, learned per-pixel weighting'),
]
# name, trained model it tests, config (None: the model's own), cfg options, table
TEST_VARIANTS = [
    (f'OGEM pix+inst, key 5, non-key 1/{k}', 'OGEM pix+inst',
     f'configs/ogem/ogem-pix-inst_rfcn_r18-dc5_synthvid_key5-nonkey1of{k}.py', [], 'speed')
    for k in (2, 3, 4)
] + [
    (f'{model} {kind} δ={delta}', model, None, opts + [f'test_evaluator.frames_since_evidence={delta}'],
     'propagation')
    for model in ('MemNet', 'ClockNet') for delta in (4, 8)
    for kind, opts in (
        ('feature propagation', [f'model.pixel_memory.propagation.delta={delta}']),
        ('anticipation', [f'model.pixel_memory.propagation.delta={delta}',
                          'model.pixel_memory.propagation.anticipate=True']),
        ('box propagation', [f'model.test_cfg.box_propagation.delta={delta}']))
]
FAST_STRONG_CONFIG = 'configs/fast_strong/fast-strong_rfcn-r18_clocknet-rfcn-r18_synthvid.py'


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


def shipped_matches_data(path: str, synthvid_root: str) -> bool:
    """Whether a shipped checkpoint is intact and was trained on this SynthVID.

    Args:
        path: The checkpoint, relative to the repository root (or absolute).
        synthvid_root: The generated SynthVID folder the demo uses.

    Raises:
        ValueError: The file does not match its hash suffix (corrupted), or
            is no safe checkpoint (``CheckpointError``).
    """
    from mmvid_memory.datasets.synthvid import read_synthvid_summary
    from mmvid_memory.utils.checkpoint import load_checkpoint_file
    full_path = osp.join(ROOT, path)
    # Checks the hash suffix too (a published name).
    meta = load_checkpoint_file(full_path, map_location='cpu').get('meta', {})
    summary = read_synthvid_summary(synthvid_root)
    # The training split decides: more val videos leave the training videos as they are.
    key = 'train_hash' if 'synthvid_train_hash' in meta else 'params_hash'
    trained_on = meta.get(f'synthvid_{key}')
    if summary is None or trained_on != summary.get(key):
        print(f'\n==> {path} was trained on SynthVID {trained_on}, {synthvid_root} is '
              f'{None if summary is None else summary.get(key)}: training instead',
              flush=True)
        return False
    return True


def train(model: Dict, work_root: str, retrain: bool, extra: List[str]) -> Dict:
    stem = config_stem(model['config'])
    work_dir = osp.join(work_root, stem)
    ckpt = osp.join(work_dir, 'last_checkpoint')
    info = dict(work_dir=work_dir, train_seconds=None)
    timing = osp.join(work_dir, 'train_seconds.json')
    shipped = model.get('shipped')
    if osp.exists(ckpt) and not retrain:
        print(f'\n==> {model["name"]}: reusing {open(ckpt).read().strip()} '
              '(--retrain trains again)')
        if osp.exists(timing):  # measured when it was trained
            with open(timing) as f:
                info['train_seconds'] = json.load(f)['train_seconds']
    elif shipped and not retrain and shipped_matches_data(
            shipped, osp.join(ROOT, 'data', 'synthvid')):
        print(f'\n==> {model["name"]}: the shipped {shipped}, made by\n    $ python tools/train.py '
              f'{model["config"]} && python tools/misc/publish_model.py ... '
              '--synthvid-root data/synthvid\n    (see checkpoints/README.md; make demo-train '
              'trains it again)', flush=True)
        info['checkpoint'] = osp.join(ROOT, shipped)
        return info
    else:
        # No validation inside training: the test step below evaluates once.
        # (A large val_interval is not enough: IterBasedTrainLoop validates
        # after its last iteration anyway.)
        cmd = [PY, 'tools/train.py', model['config'], '--work-dir', work_dir, '--cfg-options',
               'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None'] + extra
        info['train_seconds'] = Step(f'train {model["name"]}', cmd,
                                     osp.join(work_dir, 'train.log')).run()
        with open(timing, 'w') as f:
            json.dump(dict(train_seconds=info['train_seconds'], command=' '.join(cmd)), f)
    with open(ckpt) as f:
        info['checkpoint'] = f.read().strip()
    return info


def evaluate(model: Dict, info: Dict, threads: int, config: Optional[str] = None,
             options: Optional[List[str]] = None, out_dir: Optional[str] = None) -> Dict:
    """Test (VID metric) and benchmark a trained model, optionally with another
    test-time config or ``--cfg-options``; outputs go to ``out_dir``."""
    config = config or model['config']
    out_dir = out_dir or info['work_dir']
    options = ['--cfg-options'] + list(options) if options else []
    metrics_file = osp.join(out_dir, 'metrics.json')
    cmd = [PY, 'tools/test.py', config, info['checkpoint'], '--work-dir', out_dir,
           '--metrics-out', metrics_file] + options
    Step(f'test {model["name"]}', cmd, osp.join(out_dir, 'test.log')).run()
    with open(metrics_file) as f:
        metrics = json.load(f)
    bench_file = osp.join(out_dir, 'benchmark.json')
    cmd = [PY, 'tools/analysis_tools/benchmark.py', config, info['checkpoint'],
           '--max-videos', '4', '--warmup', '5', '--cpu-threads', str(threads),
           '--out', bench_file] + options
    Step(f'benchmark {model["name"]}', cmd, osp.join(out_dir, 'benchmark.log')).run()
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


def slug(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9]+', '-', name).strip('-').lower()


def run_extended(plan: List, rows: List[Dict], args, baseline_ckpt: str) -> str:
    """The ablations of the issues' tables; returns them as markdown."""
    by_name = {model['name']: (model, info) for model, info in plan}
    for model in EXTENDED_MODELS:
        info = train(model, args.work_root, args.retrain,
                     [f'model.detector.init_cfg.checkpoint={baseline_ckpt}'])
        by_name[model['name']] = (model, info)
        rows.append(result_row(model, info, evaluate(model, info, args.threads)))
    variant_rows, failures = [], []
    for name, base, config, options, table in TEST_VARIANTS:
        if base not in by_name:
            continue
        model, info = by_name[base]
        out_dir = osp.join(info['work_dir'], 'variants', slug(name))
        try:  # one failed ablation must not cost the others
            evaluation = evaluate(model, info, args.threads, config, options, out_dir)
        except RuntimeError as err:
            print(f'    FAILED: {err}', flush=True)
            failures.append(f'{name}: failed, see {out_dir}/')
            continue
        row = result_row(dict(model, name=name), info, evaluation)
        row['table'] = table
        variant_rows.append(row)
    fast_strong = None
    if 'ClockNet' in by_name:
        out = osp.join(args.work_root, 'fast_strong', 'results.json')
        cmd = [PY, 'tools/analysis_tools/eval_fast_strong.py', FAST_STRONG_CONFIG,
               '--cpu-threads', str(args.threads), '--out', out, '--cfg-options',
               f'model.fast.checkpoint={baseline_ckpt}',
               f'model.strong.checkpoint={by_name["ClockNet"][1]["checkpoint"]}']
        try:
            Step('fast + strong vs fast alone', cmd,
                 osp.join(args.work_root, 'fast_strong', 'eval.log')).run()
            with open(out) as f:
                fast_strong = json.load(f)
        except RuntimeError as err:
            print(f'    FAILED: {err}', flush=True)
            failures.append(f'fast + strong: failed, see {osp.dirname(out)}/')
    text = format_extended(rows, variant_rows, fast_strong)
    if failures:
        text += '\nFailed runs:\n\n' + '\n'.join(f'- {line}' for line in failures) + '\n'
    return text


def format_extended(rows: List[Dict], variant_rows: List[Dict],
                    fast_strong: Optional[Dict]) -> str:
    find = {r['name']: r for r in rows}
    parts = []
    ogem = [find[n] for n in ('R-FCN-18 +ft', 'OGEM pix', 'OGEM inst', 'OGEM pix+inst')
            if n in find]
    parts.append('### OGEM (seed 000, Table 1 in shape)\n\n' + format_table(ogem))
    speed = [find[n] for n in ('R-FCN-18 +ft', 'OGEM pix+inst') if n in find] + \
        [r for r in variant_rows if r['table'] == 'speed']
    parts.append('### OGEM speed mode (seed 000, Table 2 in shape)\n\n' + format_table(speed))
    warps = [find[n] for n in ('R-FCN-18 +ft', 'MemNet', 'MemNet weighted', 'ClockNet')
             if n in find]
    parts.append('### Memory warps (seed 003, Table 1 in shape)\n\n' + format_table(warps))
    prop = [r for r in variant_rows if r['table'] == 'propagation']
    parts.append('### Propagation by δ frames, scored on the frames δ after the last image '
                 'evidence (seed 003, Table 2 in shape)\n\n' + format_table(prop))
    if fast_strong is not None:
        lines = ['| method | mAP | slow | medium | fast | ms/frame | fast path ms/frame |',
                 '| --- | --- | --- | --- | --- | --- | --- |']
        for name, r in fast_strong['results'].items():
            lines.append(f'| {name} | {100 * r["mAP"]:.1f} | {100 * r["mAP_slow"]:.1f} | '
                         f'{100 * r["mAP_medium"]:.1f} | {100 * r["mAP_fast"]:.1f} | '
                         f'{r["ms_per_frame"]:.1f} | {r["fast_path_ms"]:.1f} |')
        parts.append(f'### Fast + strong (seed 003, Table 3 in shape; strong every '
                     f'{fast_strong["interval"]} frames, used {fast_strong["delay"]} frames '
                     'late)\n\n' + '\n'.join(lines))
    return '\n\n'.join(parts) + '\n'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--retrain', action='store_true', help='train every model again')
    parser.add_argument('--work-root', default='work_dirs/demo', help='where models train')
    parser.add_argument('--out-dir', default='work_dirs/demo', help='table and pictures')
    parser.add_argument('--threads', type=int, default=2, help='CPU threads when timing')
    parser.add_argument('--only', nargs='*', help='names of the models to run (default all)')
    parser.add_argument('--no-pictures', action='store_true')
    parser.add_argument('--extended', action='store_true',
                        help='also the ablation tables (see the module docstring)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    os.chdir(ROOT)
    sys.path.insert(0, ROOT)
    from mmengine.config import Config

    import mmvid_memory  # noqa: F401
    from mmvid_memory.utils.launch import generate_missing_synthvid
    print('==> SynthVID: data/synthvid, with the parameters of configs/_base_/datasets/'
          'synthvid.py (generated on first use, reused while they are unchanged)', flush=True)
    generate_missing_synthvid(Config.fromfile(BASELINE['config']))

    baseline_info = train(BASELINE, args.work_root, args.retrain, [])
    baseline_ckpt = baseline_info['checkpoint']
    plan = [(BASELINE, baseline_info)]
    for model in MODELS:
        if args.only and model['name'] not in args.only:
            continue
        # Every memory detector (and the fine-tuned baseline) starts from this run's baseline.
        if model['family'] == 'baseline':
            extra = [f'load_from={baseline_ckpt}']
        else:
            extra = [f'model.detector.init_cfg.checkpoint={baseline_ckpt}']
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
    with open(osp.join(ROOT, 'data', 'synthvid', 'annotations', 'synthvid_val.json')) as f:
        val = json.load(f)
    print(f'\n==> SynthVID val ({len(val["videos"])} videos, {len(val["images"])} frames): VID '
          'mAP (%) overall / slow / medium / fast, ms per frame on this CPU '
          f'({args.threads} threads), mean memory size in feature maps')
    print(table)
    for path in pictures:
        print(f'    wrote {path}')
    if args.extended:
        extended = run_extended(plan, rows, args, baseline_ckpt)
        with open(osp.join(args.out_dir, 'results_extended.md'), 'w') as f:
            f.write(extended)
        with open(osp.join(args.out_dir, 'results_extended.json'), 'w') as f:
            json.dump(rows, f, indent=2)
        print('\n' + extended)
    print(f'\nmake demo took {(time.time() - start) / 60:.1f} min; results in {args.out_dir}/')


if __name__ == '__main__':
    main()
