"""The main job: evaluate the memories against their same-budget controls on SynthVID.

Every step is a command a user can run by hand (printed before it runs):
SynthVID is generated (once), the single-frame R-FCN-18 baseline and the
memory detectors are taken from ``checkpoints/`` (made with ``tools/train.py``
and ``tools/misc/publish_model.py``, see checkpoints/README.md), the
same-budget controls (the memories' second-stage configs with the memory
removed) are trained (a few minutes), and every model is tested with
``tools/test.py`` (VID metric, with SynthVID's degraded and clean frames),
timed with ``tools/analysis_tools/benchmark.py`` and, for the memories,
checked with ``tools/analysis_tools/memory_health.py``. The table and the
pictures go to ``--out-dir`` (default ``work_dirs/demo``); results are never
printed for a step that did not run.

The memories follow the two-stage protocol of Deng et al. (ICCV 2019, Sec.
4.1) on held-out training videos: the memory alone on the frozen baseline,
then end to end with BatchNorm frozen (configs/*/*-mem500*_synthvid.py).

    python tools/run_demo.py             # shipped models, controls trained, evaluated
    python tools/run_demo.py --train     # train the memories too (both stages; ~1 h)
    python tools/run_demo.py --retrain   # also the baseline first (~25 min more)
    python tools/run_demo.py --extended  # also speed mode and propagation variants

``--seed N`` trains with ``randomness.seed=N``: the replicate runs of the
README's table are ``--train --seed 0/1/2`` into separate ``--work-root``s,
summarised by ``tools/analysis_tools/summarize_metrics.py``.
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
NO_VALIDATION = ['val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
FLOW_CONFIG = 'configs/flownet/flownets-c8_1xb8-6k_synthvid-flow.py'

BASELINE = dict(name='R-FCN-18', config='configs/rfcn/rfcn_r18-dc5_1xb4-12e_synthvid.py',
                family='baseline', note='single frame, 12 epochs from scratch',
                shipped='checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth')
# The same-budget controls: each memory family's second stage without the memory.
CONTROLS = {
    'ogem': dict(name='no memory (OGEM clips)', family='baseline',
                 config='configs/ogem/ogem-nomem_rfcn_r18-dc5_1xb2-e2e300_synthvid.py',
                 note='300 iterations end to end on 2 clips of 4 frames, BatchNorm frozen'),
    'memnet': dict(name='no memory (MemNet clips)', family='baseline',
                   config='configs/memnet/memnet-nomem_rfcn_r18-dc5_1xb2-e2e300_synthvid.py',
                   note='300 iterations end to end on 2 clips of 3 frames, BatchNorm frozen'),
    'clocknet': dict(name='no memory (ClockNet clips)', family='baseline',
                     config='configs/clocknet/clocknet-nomem_rfcn_r18-dc5_1xb1-e2e300_synthvid.py',
                     note='300 iterations end to end on 1 clip of 16 frames, BatchNorm frozen'),
}
MEMORIES = [
    dict(name='OGEM pix+inst', family='OGEM', control='ogem',
         stage1='configs/ogem/ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500_synthvid.py',
         config='configs/ogem/ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500-e2e300_synthvid.py',
         note='Deng et al., pixel + instance memory'),
    dict(name='OGEM pix', family='OGEM', control='ogem',
         stage1='configs/ogem/ogem-pix_rfcn_r18-dc5_1xb2-mem500_synthvid.py',
         config='configs/ogem/ogem-pix_rfcn_r18-dc5_1xb2-mem500-e2e300_synthvid.py',
         note='Deng et al., pixel memory'),
    dict(name='OGEM inst', family='OGEM', control='ogem',
         stage1='configs/ogem/ogem-inst_rfcn_r18-dc5_1xb2-mem500_synthvid.py',
         config='configs/ogem/ogem-inst_rfcn_r18-dc5_1xb2-mem500-e2e300_synthvid.py',
         note='Deng et al., instance memory'),
    dict(name='MemNet', family='MemNet', control='memnet', flow=True,
         stage1='configs/memnet/memnet-mean_rfcn_r18-dc5_1xb2-mem500_synthvid.py',
         config='configs/memnet/memnet-mean_rfcn_r18-dc5_1xb2-mem500-e2e300_synthvid.py',
         note='Vu et al., warped memory, mean aggregation'),
    dict(name='ClockNet', family='ClockNet', control='clocknet', flow=True,
         stage1='configs/clocknet/clocknet_rfcn_r18-dc5_1xb1-mem500_synthvid.py',
         config='configs/clocknet/clocknet_rfcn_r18-dc5_1xb1-mem500-e2e300_synthvid.py',
         note='Vu et al., strides 1/4/8'),
]
# Shipped weights of the memories (tools/misc/publish_model.py names), by name.
SHIPPED_MEMORIES: Dict[str, str] = {}

# --extended: test-time variants of trained models.
# name, trained model it tests, test-time cfg options, table
TEST_VARIANTS = [
    (f'OGEM pix+inst, key 5, non-key 1/{k}', 'OGEM pix+inst',
     ['model.test_cfg.key_frame_interval=5', f'model.test_cfg.non_key_scale={1 / k}'], 'speed')
    for k in (2, 3, 4)
] + [
    (f'{model} {kind} δ={delta}', model,
     opts + [f'test_evaluator.frames_since_evidence={delta}'], 'propagation')
    for model in ('MemNet', 'ClockNet') for delta in (4, 8)
    for kind, opts in (
        ('feature propagation', [f'model.pixel_memory.propagation.delta={delta}']),
        ('anticipation', [f'model.pixel_memory.propagation.delta={delta}',
                          'model.pixel_memory.propagation.anticipate=True']),
        ('box propagation', [f'model.test_cfg.box_propagation.delta={delta}']))
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


def reuse(work_dir: str, name: str) -> Optional[Dict]:
    """The checkpoint and training time of an earlier run in ``work_dir``, if any."""
    ckpt = osp.join(work_dir, 'last_checkpoint')
    if not osp.exists(ckpt):
        return None
    with open(ckpt) as f:
        checkpoint = f.read().strip()
    print(f'\n==> {name}: reusing {checkpoint} (--train / --retrain trains again)')
    info = dict(work_dir=work_dir, checkpoint=checkpoint, train_seconds=None)
    timing = osp.join(work_dir, 'train_seconds.json')
    if osp.exists(timing):  # measured when it was trained
        with open(timing) as f:
            info['train_seconds'] = json.load(f)['train_seconds']
    return info


def run_training(name: str, config: str, work_dir: str, options: List[str]) -> Dict:
    """tools/train.py without validation (the test step evaluates once;
    IterBasedTrainLoop would validate after its last iteration)."""
    cmd = [PY, 'tools/train.py', config, '--work-dir', work_dir, '--cfg-options'] + \
        NO_VALIDATION + options
    seconds = Step(f'train {name}', cmd, osp.join(work_dir, 'train.log')).run()
    with open(osp.join(work_dir, 'train_seconds.json'), 'w') as f:
        json.dump(dict(train_seconds=seconds, command=' '.join(cmd)), f)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return dict(work_dir=work_dir, checkpoint=f.read().strip(), train_seconds=seconds)


def use_shipped(model: Dict, shipped: Optional[str]) -> Optional[Dict]:
    if not shipped or not shipped_matches_data(shipped, osp.join(ROOT, 'data', 'synthvid')):
        return None
    print(f'\n==> {model["name"]}: the shipped {shipped} (checkpoints/README.md says how it was '
          'made; --train trains it here)', flush=True)
    return dict(work_dir=None, checkpoint=osp.join(ROOT, shipped), train_seconds=None)


def train_baseline(work_root: str, retrain: bool) -> Dict:
    work_dir = osp.join(work_root, config_stem(BASELINE['config']))
    if not retrain:
        info = reuse(work_dir, BASELINE['name']) or use_shipped(BASELINE, BASELINE['shipped'])
        if info is not None:
            return dict(info, work_dir=work_dir)
    return run_training(BASELINE['name'], BASELINE['config'], work_dir, [])


def train_control(model: Dict, work_root: str, train: bool, baseline_ckpt: str,
                  seed_options: List[str]) -> Dict:
    work_dir = osp.join(work_root, config_stem(model['config']))
    info = None if train else reuse(work_dir, model['name'])
    return info or run_training(
        model['name'], model['config'], work_dir,
        [f'model.detector.init_cfg.checkpoint={baseline_ckpt}'] + seed_options)


def train_memory(model: Dict, work_root: str, train: bool, baseline_ckpt: str,
                 seed_options: List[str]) -> Dict:
    """Both stages: the memory on the frozen baseline, then end to end from it."""
    work_dir = osp.join(work_root, config_stem(model['config']))
    if not train:
        info = reuse(work_dir, model['name']) or use_shipped(
            model, SHIPPED_MEMORIES.get(model['name']))
        if info is not None:
            return dict(info, work_dir=work_dir)
    first = run_training(f'{model["name"]} (memory only)', model['stage1'],
                         osp.join(work_root, config_stem(model['stage1'])),
                         [f'model.detector.init_cfg.checkpoint={baseline_ckpt}'] + seed_options)
    second = run_training(f'{model["name"]} (end to end)', model['config'], work_dir,
                          [f'load_from={first["checkpoint"]}'] + seed_options)
    second['train_seconds'] += first['train_seconds']
    return second


def evaluate(model: Dict, info: Dict, threads: int, options: Optional[List[str]] = None,
             out_dir: Optional[str] = None) -> Dict:
    """Test (VID metric), benchmark and, for a memory, check the health of a
    trained model, optionally with test-time ``--cfg-options``."""
    config = model['config']
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
    health = None
    if model.get('stage1') and not options:
        health_file = osp.join(out_dir, 'health.json')
        cmd = [PY, 'tools/analysis_tools/memory_health.py', config, info['checkpoint'],
               '--videos', '20', '--train-clips', '10', '--threads', str(threads),
               '--out', health_file]
        if model.get('flow'):
            cmd += ['--flow-config', FLOW_CONFIG]
        Step(f'health {model["name"]}', cmd, osp.join(out_dir, 'health.log')).run()
        with open(health_file) as f:
            health = json.load(f)
    return dict(metrics=metrics, bench=bench, health=health)


def memory_size(bench: Dict) -> Optional[float]:
    """Mean memory size in feature maps per frame (Deng et al., Table 3 counting)."""
    summary = bench.get('memory', {}).get('summary', {})
    total, found = 0.0, False
    for key, stats in summary.items():
        if key.endswith('.size') or key.endswith('.memory_maps'):
            total += stats['mean']
            found = True
    return total if found else None


def health_text(health: Optional[Dict]) -> str:
    """The figures that show a memory at work, for the table."""
    if not health:
        return '-'
    parts = [f'λ {v:.0f}' for v in health.get('temperature', {}).values()]
    points = health['test']['points']
    for name, point in sorted(points.items()):
        if 'entropy_mean' in point:
            parts.append(f'{name} H {point["entropy_mean"]:.2f}')
        if 'objects_on_frames_with_gt_mean' in point:
            parts.append(f'{point["objects_on_frames_with_gt_mean"]:.1f} objects, '
                         f'{point.get("objects_deleted_total", 0):.0f} deleted')
        if 'current_weight_mean' in point:
            parts.append(f'w_t {point["current_weight_mean"]:.2f}')
    flow = health.get('flow_epe')
    if flow:
        parts.append(f'EPE {flow["epe"]:.3f} (zero {flow["zero_epe"]:.3f})')
    engaged = health.get('engagement', {})
    if engaged:
        parts.append('engaged' if all(e['engaged'] for e in engaged.values()) else 'NOT engaged')
    return '; '.join(parts)


def result_row(model: Dict, info: Dict, evaluation: Dict) -> Dict:
    m, bench = evaluation['metrics'], evaluation['bench']
    pct = lambda key: None if m.get(key) is None else 100 * m[key]  # noqa: E731
    return dict(
        name=model['name'], family=model['family'], config=model['config'],
        checkpoint=info['checkpoint'], note=model['note'], control=model.get('control'),
        mAP=pct('vid/mAP'), mAP_slow=pct('vid/mAP_slow'), mAP_medium=pct('vid/mAP_medium'),
        mAP_fast=pct('vid/mAP_fast'), mAP_degraded=pct('vid/mAP_degraded'),
        mAP_clean=pct('vid/mAP_clean'), ms_per_frame=bench['ms_per_frame']['total'],
        memory_size=memory_size(bench), health=health_text(evaluation.get('health')),
        train_minutes=None if info['train_seconds'] is None else info['train_seconds'] / 60)


def format_table(rows: List[Dict], controls: Optional[Dict[str, Dict]] = None) -> str:
    """Markdown; a memory row's mAP carries its difference to its control."""
    controls = controls or {}
    header = ('| model | mAP | slow | medium | fast | degraded | clean | ms/frame | memory (maps) '
              '| health |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    lines = [header]

    def cell(row: Dict, key: str) -> str:
        value = row.get(key)
        if value is None:
            return '-'
        control = controls.get(row.get('control'))
        if control is None or control.get(key) is None:
            return f'{value:.1f}'
        return f'{value:.1f} ({value - control[key]:+.1f})'

    for r in rows:
        mem = '-' if r['memory_size'] is None else f'{r["memory_size"]:.2f}'
        control = controls.get(r.get('control'))
        ms = f'{r["ms_per_frame"]:.1f}'
        if control is not None:
            ms += f' (x{r["ms_per_frame"] / control["ms_per_frame"]:.2f})'
        keys = ('mAP', 'mAP_slow', 'mAP_medium', 'mAP_fast', 'mAP_degraded', 'mAP_clean')
        lines.append(f'| {r["name"]} | ' + ' | '.join(cell(r, k) for k in keys) +
                     f' | {ms} | {mem} | {r.get("health", "-")} |')
    return '\n'.join(lines)


def make_pictures(rows: List[Dict], out_dir: str) -> List[str]:
    """Speed-accuracy scatter, memory size over a video, a side-by-side clip."""
    from mmvid_memory.visualization.demo_figures import write_demo_figures
    return write_demo_figures(rows, out_dir)


def slug(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9]+', '-', name).strip('-').lower()


def run_extended(trained: Dict[str, tuple], args) -> str:
    """Test-time variants of the trained memories; returns them as markdown."""
    rows, failures = [], []
    for name, base, options, table in TEST_VARIANTS:
        if base not in trained:
            continue
        model, info = trained[base]
        out_dir = osp.join(args.work_root, 'variants', slug(name))
        try:  # one failed ablation must not cost the others
            evaluation = evaluate(model, info, args.threads, options, out_dir)
        except RuntimeError as err:
            print(f'    FAILED: {err}', flush=True)
            failures.append(f'{name}: failed, see {out_dir}/')
            continue
        row = result_row(dict(model, name=name), info, evaluation)
        row['table'] = table
        rows.append(row)
    parts = []
    speed = [r for r in rows if r['table'] == 'speed']
    parts.append('### OGEM speed mode (Deng et al., Table 2 in shape; test-time variants)\n\n'
                 + format_table(speed))
    prop = [r for r in rows if r['table'] == 'propagation']
    parts.append('### Propagation by δ frames, scored on the frames δ after the last image '
                 'evidence (Vu et al., Table 2 in shape)\n\n' + format_table(prop))
    text = '\n\n'.join(parts) + '\n'
    if failures:
        text += '\nFailed runs:\n\n' + '\n'.join(f'- {line}' for line in failures) + '\n'
    return text


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--train', action='store_true',
                        help='train the memories and the controls again (the baseline is kept)')
    parser.add_argument('--retrain', action='store_true',
                        help='train every model again, the baseline first')
    parser.add_argument('--seed', type=int, default=None, help='randomness.seed of trainings')
    parser.add_argument('--work-root', default='work_dirs/demo', help='where models train')
    parser.add_argument('--out-dir', default=None, help='table and pictures (default: work root)')
    parser.add_argument('--threads', type=int, default=2, help='CPU threads when timing')
    parser.add_argument('--only', nargs='*', help='names of the memories to run (default all)')
    parser.add_argument('--no-pictures', action='store_true')
    parser.add_argument('--extended', action='store_true',
                        help='also the test-time variants (see the module docstring)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    args.train = args.train or args.retrain
    out_dir = args.out_dir or args.work_root
    start = time.time()
    os.chdir(ROOT)
    sys.path.insert(0, ROOT)
    from mmengine.config import Config

    import mmvid_memory  # noqa: F401
    from mmvid_memory.utils.launch import generate_missing_synthvid
    print('==> SynthVID: data/synthvid (and data/synthvid_heldout, the memories\' training '
          'videos), with the parameters of configs/_base_/datasets/synthvid.py (generated on '
          'first use, reused while they are unchanged)', flush=True)
    generate_missing_synthvid(Config.fromfile(BASELINE['config']))
    seed_options = [] if args.seed is None else [f'randomness.seed={args.seed}']

    baseline = train_baseline(args.work_root, args.retrain)
    memories = [m for m in MEMORIES if not args.only or m['name'] in args.only]
    plan = [(BASELINE, baseline)]
    for key in sorted({m['control'] for m in memories}):
        control = CONTROLS[key]
        plan.append((control, train_control(control, args.work_root, args.train,
                                            baseline['checkpoint'], seed_options)))
    for model in memories:
        plan.append((model, train_memory(model, args.work_root, args.train,
                                         baseline['checkpoint'], seed_options)))

    rows = []
    for model, info in plan:
        if info['work_dir'] is None:
            info = dict(info, work_dir=osp.join(args.work_root, config_stem(model['config'])))
        rows.append(result_row(model, info, evaluate(model, info, args.threads)))
    controls = {key: next(r for r in rows if r['name'] == c['name'])
                for key, c in CONTROLS.items() if any(r['name'] == c['name'] for r in rows)}
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'results.json'), 'w') as f:
        json.dump(rows, f, indent=2)
    table = format_table(rows, controls)
    with open(osp.join(out_dir, 'results.md'), 'w') as f:
        f.write(table + '\n')
    pictures = [] if args.no_pictures else make_pictures(rows, out_dir)
    with open(osp.join(ROOT, 'data', 'synthvid', 'annotations', 'synthvid_val.json')) as f:
        val = json.load(f)
    print(f'\n==> SynthVID val ({len(val["videos"])} videos, {len(val["images"])} frames): VID '
          'mAP (%) overall / slow / medium / fast / degraded / clean frames (a memory\'s '
          'difference to its same-budget control in brackets), ms per frame on this CPU '
          f'({args.threads} threads; ratio to the control), mean memory size in feature maps, '
          'health of the memory (tools/analysis_tools/memory_health.py)')
    print(table)
    for path in pictures:
        print(f'    wrote {path}')
    if args.extended:
        trained = {model['name']: (model, info) for model, info in plan}
        extended = run_extended(trained, args)
        with open(osp.join(out_dir, 'results_extended.md'), 'w') as f:
            f.write(extended)
        print('\n' + extended)
    print(f'\nmake demo took {(time.time() - start) / 60:.1f} min; results in {out_dir}/')


if __name__ == '__main__':
    main()
