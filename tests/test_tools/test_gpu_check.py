"""The CPU-side parts of tools/gpu_check.sh: argument parsing, the plan, the step and
summary logic (with a stand-in interpreter), and the CPU half of the comparison script.

Nothing here runs a CUDA kernel; docs/ops.md says what has and has not run on a GPU.
"""
import importlib.util
import json
import os
import os.path as osp
import stat
import subprocess

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'gpu_check.sh')

# Answers like a Python with a CUDA torch would, by the arguments the steps pass.
FAKE_PYTHON = r'''#!/usr/bin/env bash
case "$1" in
  -) cat > /dev/null; echo "torch 2.x CUDA build 12.4"; echo "device Fake GPU";;
  setup.py) echo built;;
  -m) echo "23 passed in 4.2s";;
  tools/analysis_tools/compare_ps_roi_pool_devices.py)
    echo "dtype     cases  max |fwd diff|  max |bwd diff|  tolerance  ok"
    echo "float32       5       1.000e-07       1.000e-07      1e-05  yes"
    echo "RESULT: ${FAKE_COMPARE:-OK}: cuda vs compiled CPU kernel"
    [ "${FAKE_COMPARE:-OK}" = OK ];;
  tools/analysis_tools/benchmark_psroi_pool.py) echo "PSRoIPool 7x7"; echo "cls 300 rois  0.10";;
  tools/analysis_tools/benchmark.py) echo "$2: ms per frame 12.0"; echo "report -> x";;
  *) echo "unexpected: $*"; exit 9;;
esac
'''


def run(args, env=None, timeout=120):
    return subprocess.run(['bash', SCRIPT, *args], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


@pytest.fixture
def fake_python(tmp_path):
    path = tmp_path / 'python'
    path.write_text(FAKE_PYTHON)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_arguments_and_plan(tmp_path):
    assert run(['--help']).stdout.startswith('One prepared check of mmvid_memory')
    for bad, message in ((['--bogus'], "unknown argument '--bogus'"),
                         (['--budget', 'soon'], '--budget needs a positive number'),
                         (['--out'], '--out needs a value')):
        proc = run(bad)
        assert proc.returncode == 2 and message in proc.stdout
    plan = run(['--dry-run', '--python', 'py3', '--out', str(tmp_path / 'o'), '--skip-build'])
    assert plan.returncode == 0
    for step in ('env', 'tests', 'compare', 'psroi', 'bench-baseline', 'bench-memory'):
        assert f'  {step} (limit ' in plan.stdout
    assert '  build: skipped by a flag' in plan.stdout
    assert 'compare_ps_roi_pool_devices.py --device cuda' in plan.stdout
    assert 'checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth' in plan.stdout
    assert not (tmp_path / 'o').exists()  # a dry run writes nothing


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the refusal without a GPU')
def test_without_a_gpu_nothing_is_claimed(tmp_path):
    import sys
    proc = run(['--python', sys.executable, '--out', str(tmp_path)])
    assert proc.returncode == 3 and 'no usable CUDA device' in proc.stdout
    assert 'RESULT' not in proc.stdout


def test_steps_and_summary_with_a_stand_in_interpreter(tmp_path, fake_python):
    out = tmp_path / 'out'
    proc = run(['--python', fake_python, '--out', str(out)])
    assert proc.returncode == 0, proc.stdout
    summary = (out / 'summary.txt').read_text()
    assert 'gpu_check summary' in summary and 'device Fake GPU' in summary
    for step in ('env', 'build', 'tests', 'compare', 'psroi', 'bench-baseline', 'bench-memory'):
        assert f'\n{step:<15} passed' in summary, step
    assert '23 passed in 4.2s' in summary and 'RESULT: OK: cuda vs' in summary
    assert 'rfcn_r18-dc5_1xb4-12e_synthvid.py: ms per frame' in summary
    assert 'ogem-pix-inst_rfcn_r18-dc5_synthvid.py: ms per frame' in summary
    assert summary.rstrip().endswith('RESULT: all steps passed')
    assert len(list(out.glob('*.log'))) == 7

    failing = run(['--python', fake_python, '--out', str(tmp_path / 'f'), '--skip-benchmarks'],
                  env=dict(FAKE_COMPARE='FAILED'))
    assert failing.returncode == 1
    assert 'compare         FAILED' in failing.stdout and 'psroi           skipped' in \
        failing.stdout
    assert failing.stdout.rstrip().endswith('RESULT: FAILED (see above)')

    short = run(['--python', fake_python, '--out', str(tmp_path / 's'), '--budget', '100'])
    assert short.returncode == 1
    assert 'build           SKIPPED' in short.stdout and 'needs 240 s' in short.stdout
    assert 'compare         passed' in short.stdout


def load_compare():
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'compare_ps_roi_pool_devices.py')
    spec = importlib.util.spec_from_file_location('compare_devices', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_script_cpu_half(tmp_path, capsys):
    compare = load_compare()
    out = tmp_path / 'cmp.json'
    assert compare.main(['--device', 'cpu', '--dtypes', 'float32', 'float16', '--out',
                         str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'RESULT: OK: cpu vs pure-PyTorch fallback' in printed
    report = json.loads(out.read_text())
    assert report['ok'] and report['gradcheck'] and [r['dtype'] for r in report['rows']] == [
        'float32', 'float16']
    assert all(r['cases'] == 5 and r['forward'] <= r['tolerance'] for r in report['rows'])


def test_compare_script_catches_a_wrong_kernel(monkeypatch, capsys):
    compare = load_compare()
    right = compare.compiled_pool
    monkeypatch.setattr(compare, 'compiled_pool',
                        lambda *args: right(*args) * (1 + 1e-3))  # off by 0.1 %
    assert compare.main(['--device', 'cpu', '--dtypes', 'float32']) == 1
    printed = capsys.readouterr().out
    assert 'NO: rfcn 300 rois forward' in printed and 'RESULT: FAILED' in printed


def test_compare_script_refuses_a_missing_device(capsys):
    if torch.cuda.is_available():
        pytest.skip('a GPU is present')
    assert load_compare().main(['--device', 'cuda']) == 2
    assert 'CUDA is not available here' in capsys.readouterr().out
