"""A regular (non-editable) install: what lands in site-packages, and that the
source tree is left as it was."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MIM = osp.join(ROOT, 'mmvid_memory', '.mim')


def _mim_snapshot():
    """Each entry of the source tree's .mim: link target, or 'dir' / 'file'."""
    if not osp.isdir(MIM):
        return None
    return {name: (os.readlink(osp.join(MIM, name)) if osp.islink(osp.join(MIM, name)) else
                   'dir' if osp.isdir(osp.join(MIM, name)) else 'file')
            for name in sorted(os.listdir(MIM))}


def _git_status():
    if shutil.which('git') is None or not osp.isdir(osp.join(ROOT, '.git')) and not osp.isfile(
            osp.join(ROOT, '.git')):
        return None
    return subprocess.run(['git', 'status', '--porcelain', '--ignored=no'], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True, check=True).stdout


@pytest.mark.slow
def test_regular_install_ships_configs_and_checkpoints_and_leaves_the_source_tree(tmp_path):
    target = tmp_path / 'site'
    before = (_mim_snapshot(), _git_status())
    # Against the running environment's torch / mmcv / mmdet: no download, no isolation.
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps', '--no-build-isolation',
         '--no-index', '--target', str(target), ROOT],
        cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=900, env=dict(os.environ, MAX_JOBS='1'))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert (_mim_snapshot(), _git_status()) == before, 'the install changed the source tree'

    top = sorted(os.listdir(target))
    assert 'tests' not in top, f'a top-level tests package was installed: {top}'
    assert 'mmvid_memory' in top
    mim = target / 'mmvid_memory' / '.mim'
    for name in ('configs', 'tools', 'demo', 'checkpoints'):
        assert (mim / name).is_dir() and not (mim / name).is_symlink(), name
    assert (mim / 'model-index.yml').is_file()
    assert (mim / 'configs' / 'ogem' / 'ogem-pix-inst_rfcn_r18-dc5_synthvid.py').is_file()
    assert (mim / 'checkpoints' / 'rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth').is_file()

    # The installed copy works on its own: configs by package path, the op, the checkpoint.
    script = (
        'import os, mmvid_memory\n'
        f'assert mmvid_memory.__file__.startswith({str(target)!r}), mmvid_memory.__file__\n'
        'from mmengine.hub import get_config\n'
        "cfg = get_config('mmvid_memory::ogem/ogem-pix-inst_rfcn_r18-dc5_synthvid.py')\n"
        f'assert cfg.filename.startswith({str(target)!r}), cfg.filename\n'
        'from mmvid_memory.utils.checkpoint import load_checkpoint_file\n'
        'load_checkpoint_file(cfg.model.detector.init_cfg.checkpoint)\n'
        'import mmvid_memory._C\n'
        "print('installed copy OK')\n")
    env = dict(os.environ, PYTHONPATH=str(target), OMP_NUM_THREADS='1')
    run = subprocess.run([sys.executable, '-c', script], cwd=str(tmp_path), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=300)
    assert run.returncode == 0 and 'installed copy OK' in run.stdout, run.stdout[-4000:]

    # A config whose only import of the package is custom_imports parses: the
    # install's startup hook lets mmengine resolve `mmvid_memory::` bases.
    assert (target / 'mmvid_memory-scope.pth').is_file()
    (tmp_path / 'user.py').write_text(
        "_base_ = ['mmvid_memory::ogem/ogem-pix-inst_rfcn_r18-dc5_synthvid.py']\n"
        "custom_imports = dict(imports=['mmvid_memory'], allow_failed_imports=False)\n"
        'model = dict(pixel_memory=dict(num_heads=4))\n')
    parse = (
        'import site, sys\n'
        f'site.addsitedir({str(target)!r})  # runs the .pth as site-packages would\n'
        f'sys.path.remove({str(target)!r}); sys.path.insert(0, {str(target)!r})\n'
        "assert 'mmvid_memory' not in sys.modules\n"
        'from mmengine.config import Config\n'
        "cfg = Config.fromfile('user.py')\n"
        'import mmvid_memory\n'
        f'assert mmvid_memory.__file__.startswith({str(target)!r}), mmvid_memory.__file__\n'
        "assert cfg.model.type == 'MemoryVideoDetector' and cfg.model.pixel_memory.num_heads == 4\n"
        "print('parsed with custom_imports only')\n")
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)
    run = subprocess.run([sys.executable, '-c', parse], cwd=str(tmp_path), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=300)
    assert run.returncode == 0 and 'parsed with custom_imports only' in run.stdout, \
        run.stdout[-4000:]
