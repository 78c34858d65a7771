"""SynthVID configs name checkpoints that exist on a fresh checkout: the shipped
ones in checkpoints/ wherever one exists, else the output of another config's
run (a second training stage, the strong part of fast + strong)."""
import glob
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
from mmengine.config import Config

from mmvid_memory.utils.published import resolve_shipped_checkpoint

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SYNTHVID_CONFIGS = sorted(osp.relpath(p, ROOT) for p in glob.glob(
    osp.join(ROOT, 'configs', '*', '*synthvid*.py')))
CONFIG_STEMS = {osp.splitext(osp.basename(p))[0]
                for p in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))}
SHIPPED = {osp.basename(p).rsplit('-', 1)[0]: osp.relpath(p, ROOT)
           for p in glob.glob(osp.join(ROOT, 'checkpoints', '*.pth'))}


def checkpoint_paths(node, where=''):
    """(key path, value) of every ``checkpoint`` / ``load_from`` string in a config."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f'{where}.{key}' if where else str(key)
            if key in ('checkpoint', 'load_from') and isinstance(value, str):
                yield here, value
            else:
                yield from checkpoint_paths(value, here)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from checkpoint_paths(value, f'{where}[{i}]')


def test_shipped_checkpoints_are_known():
    assert 'rfcn_r18-dc5_1xb4-12e_synthvid' in SHIPPED
    assert 'flownets-c8_1xb8-6k_synthvid-flow' in SHIPPED


@pytest.mark.parametrize('config', SYNTHVID_CONFIGS)
def test_synthvid_config_checkpoints_exist_or_come_from_a_named_run(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    for where, path in checkpoint_paths(cfg.to_dict()):
        if path.startswith(('torchvision://', 'open-mmlab://', 'http://', 'https://')):
            continue
        if osp.isfile(osp.join(ROOT, path)):
            continue
        parts = path.replace('\\', '/').split('/')
        runs = [p for p in parts[:-1] if p in CONFIG_STEMS]
        assert parts[0] == 'work_dirs' and runs, (
            f'{config}: {where} = {path!r} is neither a file of the checkout nor the output of '
            'another config\'s run (work_dirs/<config stem>/...)')
        assert runs[-1] not in SHIPPED, (
            f'{config}: {where} = {path!r} needs a run of {runs[-1]}, whose checkpoint ships '
            f'as {SHIPPED[runs[-1]]}: name that one')


INIT_FROM_ELSEWHERE = """
import sys
import torch
from mmengine.config import Config
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

import mmvid_memory
from mmvid_memory.utils.checkpoint import load_checkpoint_file

register_all_modules()
shipped = load_checkpoint_file('checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth')
shipped = shipped['state_dict']
for path in sys.argv[1:]:
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    model.init_weights()
    weights = model.detector.state_dict()
    assert torch.equal(weights['backbone.conv1.weight'], shipped['backbone.conv1.weight']), path
    print('initialised', path)
"""


def _initialises_from_the_baseline(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    init = ((cfg.model.get('detector') or {}).get('init_cfg') or {})
    return cfg.model.type == 'MemoryVideoDetector' and init.get('checkpoint') == (
        SHIPPED['rfcn_r18-dc5_1xb4-12e_synthvid'])


def test_memory_configs_initialise_on_a_fresh_checkout(tmp_path):
    """Every SynthVID memory config that starts from the baseline initialises from
    a folder without work_dirs/ or checkpoints/ (the package finds its own copy)."""
    configs = [osp.join(ROOT, c) for c in SYNTHVID_CONFIGS if _initialises_from_the_baseline(c)]
    assert len(configs) >= 8, configs
    (tmp_path / 'init.py').write_text(textwrap.dedent(INIT_FROM_ELSEWHERE))
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, 'init.py', *configs], cwd=str(tmp_path), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert proc.stdout.count('initialised') == len(configs)


def test_relative_shipped_paths_resolve_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = SHIPPED['rfcn_r18-dc5_1xb4-12e_synthvid']
    resolved = resolve_shipped_checkpoint(name)
    assert osp.isfile(resolved) and osp.samefile(resolved, osp.join(ROOT, name))
    # a file of the working directory wins; other paths are left alone
    (tmp_path / 'checkpoints').mkdir()
    (tmp_path / name).write_bytes(b'local')
    assert resolve_shipped_checkpoint(name) == name
    assert resolve_shipped_checkpoint('checkpoints/missing.pth') == 'checkpoints/missing.pth'
    assert resolve_shipped_checkpoint('work_dirs/x/epoch_1.pth') == 'work_dirs/x/epoch_1.pth'
