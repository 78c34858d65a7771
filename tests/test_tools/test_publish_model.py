"""tools/misc/publish_model.py, mmvid_memory.utils.published, and the checkpoint the project
ships with them."""
import importlib.util
import json
import os
import os.path as osp
from typing import Optional

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config

import mmvid_memory  # noqa: F401
from mmvid_memory.datasets.synthvid import params_hash, resolve_params, train_split_hash
from mmvid_memory.utils.published import sha256_of, verify_published

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHIPPED = 'checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth'
SHIPPED_CONFIG = 'configs/rfcn/rfcn_r18-dc5_1xb4-12e_synthvid.py'


def load_tool(name: str, path: str):
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


publish_model = load_tool('publish_model', 'tools/misc/publish_model.py')
run_demo = load_tool('run_demo', 'tools/run_demo.py')


def fake_synthvid(root: str, digest: str, params: Optional[dict] = None) -> str:
    """A folder that read_synthvid_summary takes for a complete SynthVID set
    (``params`` default to ones that differ with ``digest``)."""
    os.makedirs(osp.join(root, 'annotations'))
    for split in ('train', 'val'):
        with open(osp.join(root, 'annotations', f'synthvid_{split}.json'), 'w') as f:
            json.dump(dict(videos=[], images=[], annotations=[]), f)
    with open(osp.join(root, 'synthvid_params.json'), 'w') as f:
        json.dump(dict(params=dict(seed=digest) if params is None else params,
                       params_hash=digest), f)
    return root


@pytest.fixture
def runner_checkpoint(tmp_path):
    path = str(tmp_path / 'epoch_3.pth')
    weight = torch.nn.Parameter(torch.arange(6.).reshape(2, 3))
    optimizer = torch.optim.SGD([weight], lr=0.1, momentum=0.9)
    weight.sum().backward()
    optimizer.step()
    torch.save(dict(meta=dict(epoch=3, cfg='x = 1'), state_dict=dict(w=weight.detach().clone()),
                    optimizer=optimizer.state_dict(), param_schedulers=[]), path)
    return path


def test_publish_keeps_weights_and_meta_and_names_the_hash(runner_checkpoint, tmp_path):
    root = fake_synthvid(str(tmp_path / 'synthvid'), 'abc123')
    final = publish_model.publish_checkpoint(runner_checkpoint, str(tmp_path / 'out' / 'm.pth'),
                                             synthvid_root=root)
    assert osp.basename(final) == f'm-{sha256_of(final)[:8]}.pth'
    published = torch.load(final, map_location='cpu')
    assert set(published) == {'meta', 'state_dict'}
    assert published['meta'] == dict(epoch=3, cfg='x = 1', synthvid_params_hash='abc123',
                                     synthvid_train_hash=train_split_hash(dict(seed='abc123')))
    torch.testing.assert_close(published['state_dict']['w'],
                               torch.load(runner_checkpoint)['state_dict']['w'])
    verify_published(final)
    assert os.listdir(tmp_path / 'out') == [osp.basename(final)]  # no temporary file left


def test_verify_published_names_a_corrupted_copy(runner_checkpoint, tmp_path):
    final = publish_model.publish_checkpoint(runner_checkpoint, str(tmp_path / 'm.pth'))
    with open(final, 'ab') as f:
        f.write(b'\0')
    with pytest.raises(ValueError, match='corrupted'):
        verify_published(final)
    renamed = str(tmp_path / 'plain.pth')
    os.replace(final, renamed)
    with pytest.raises(ValueError, match='hash suffix'):
        verify_published(renamed)


def test_publish_refuses_bad_input_and_writes_nothing(runner_checkpoint, tmp_path):
    out = tmp_path / 'out'
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        publish_model.publish_checkpoint(str(tmp_path / 'missing.pth'), str(out / 'm.pth'))
    with pytest.raises(ValueError, match='.pth'):
        publish_model.publish_checkpoint(runner_checkpoint, str(out / 'm.ckpt'))
    torch.save(dict(weights=torch.zeros(1)), tmp_path / 'odd.pth')
    with pytest.raises(ValueError, match='no state_dict'):
        publish_model.publish_checkpoint(str(tmp_path / 'odd.pth'), str(out / 'm.pth'))
    with pytest.raises(FileNotFoundError, match='no complete SynthVID'):
        publish_model.publish_checkpoint(runner_checkpoint, str(out / 'm.pth'),
                                         synthvid_root=str(tmp_path / 'nothing'))
    assert not out.exists() or os.listdir(out) == []


def test_run_demo_uses_a_shipped_checkpoint_only_for_its_own_data(runner_checkpoint, tmp_path):
    final = publish_model.publish_checkpoint(
        runner_checkpoint, str(tmp_path / 'm.pth'),
        synthvid_root=fake_synthvid(str(tmp_path / 'a'), 'hash-a'))
    assert run_demo.shipped_matches_data(final, str(tmp_path / 'a'))
    assert not run_demo.shipped_matches_data(final, fake_synthvid(str(tmp_path / 'b'), 'hash-b'))
    assert not run_demo.shipped_matches_data(final, str(tmp_path / 'absent'))


def test_run_demo_takes_a_checkpoint_for_data_with_more_val_videos(runner_checkpoint, tmp_path):
    params = resolve_params(val_videos=20)
    trained_on = fake_synthvid(str(tmp_path / 'a'), params_hash(params), params)
    final = publish_model.publish_checkpoint(runner_checkpoint, str(tmp_path / 'm.pth'),
                                             synthvid_root=trained_on)
    more_val = resolve_params(val_videos=80)
    assert run_demo.shipped_matches_data(
        final, fake_synthvid(str(tmp_path / 'b'), params_hash(more_val), more_val))
    other_train = resolve_params(val_videos=20, train_videos=100)
    assert not run_demo.shipped_matches_data(
        final, fake_synthvid(str(tmp_path / 'c'), params_hash(other_train), other_train))


def test_shipped_baseline_matches_its_config_and_the_default_synthvid():
    assert run_demo.BASELINE['shipped'] == SHIPPED
    assert run_demo.BASELINE['config'] == SHIPPED_CONFIG
    path = osp.join(ROOT, SHIPPED)
    verify_published(path)
    checkpoint = torch.load(path, map_location='cpu')
    cfg = Config.fromfile(osp.join(ROOT, SHIPPED_CONFIG))
    # Stale when the generator or the default parameters change: retrain and publish it again
    # (checkpoints/README.md); until then run_demo trains the baseline itself.
    expected = train_split_hash(resolve_params(**cfg.train_dataloader.dataset.synthvid_params))
    assert checkpoint['meta']['synthvid_train_hash'] == expected
    model = MODELS.build(cfg.model)
    own = model.state_dict()
    shipped = checkpoint['state_dict']
    assert sorted(shipped) == sorted(own)
    assert all(shipped[k].shape == own[k].shape for k in own)
    model.load_state_dict(shipped)  # strict
