"""FlowNetS: architecture, output grid and units, original-checkpoint loading."""
import pytest
import torch
from mmdet.registry import MODELS

import mmvid_memory  # noqa: F401
from mmvid_memory.models.flownets import (FlowNetS, ZeroFlow, convert_flownets_state_dict,
                                          feature_map_stride, load_flownets_checkpoint,
                                          output_level)

ENCODER = ['conv1', 'conv2', 'conv3', 'conv3_1', 'conv4', 'conv4_1', 'conv5', 'conv5_1', 'conv6',
           'conv6_1']



def original_layer_shapes(w: int) -> dict:
    """FlowNetS (FlowNet2-pytorch, batchNorm=False) parameter shapes at width w (64 = paper).

    Written from the original definition: conv1 7x7, conv2/conv3 5x5, the rest 3x3;
    decoder inputs are skip + deconv + 2 flow channels (1026, 770, 386, 194 at w = 64).
    """
    enc_out = [w, 2 * w, 4 * w, 4 * w, 8 * w, 8 * w, 8 * w, 8 * w, 16 * w, 16 * w]
    kernels = [7, 5, 5, 3, 3, 3, 3, 3, 3, 3]
    shapes = {}
    in_ch = 6
    for name, out, k in zip(ENCODER, enc_out, kernels):
        shapes[f'{name}.0.weight'] = (out, in_ch, k, k)
        shapes[f'{name}.0.bias'] = (out, )
        in_ch = out
    deconv_out = {5: 8 * w, 4: 4 * w, 3: 2 * w, 2: w}
    skip = {5: 8 * w, 4: 8 * w, 3: 4 * w, 2: 2 * w}
    top = 16 * w
    shapes['predict_flow6.weight'] = (2, top, 3, 3)
    shapes['predict_flow6.bias'] = (2, )
    for level in (5, 4, 3, 2):
        shapes[f'deconv{level}.0.weight'] = (top, deconv_out[level], 4, 4)
        shapes[f'deconv{level}.0.bias'] = (deconv_out[level], )
        shapes[f'upsampled_flow{level + 1}_to_{level}.weight'] = (2, 2, 4, 4)
        top = skip[level] + deconv_out[level] + 2
        shapes[f'predict_flow{level}.weight'] = (2, top, 3, 3)
        shapes[f'predict_flow{level}.bias'] = (2, )
    return shapes


# Original key -> ours (the documented mapping, written out independently).
def expected_name(original: str) -> str:
    layer, _, param = original.partition('.')
    if layer in ENCODER:
        return f'{layer}.conv.{param.split(".")[-1]}'
    if layer.startswith('deconv'):
        return f'{layer}.deconv.{param.split(".")[-1]}'
    if layer.startswith('upsampled_flow'):
        return 'upsample_flow' + layer[len('upsampled_flow'):] + '.weight'
    return original


def test_full_width_matches_original_flownets():
    model = FlowNetS(base_channels=64, feature_stride=8)  # decoder down to predict_flow2
    assert model.out_level == 2
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    original = original_layer_shapes(64)
    assert ours == {expected_name(k): v for k, v in original.items()}
    assert original['predict_flow2.weight'][1] == 194
    assert original['predict_flow5.weight'][1] == 1026


def test_output_level_and_stride():
    assert output_level(16, 2) == 3
    assert output_level(8, 2) == 2
    assert output_level(4, 2) == 2
    assert output_level(32, 2) == 4
    assert output_level(256, 1) == 6
    assert feature_map_stride((160, 160), (10, 10)) == 16
    assert feature_map_stride((100, 60), (7, 4)) == 16


@pytest.mark.parametrize('size,expected', [((32, 32), (2, 2)), ((160, 160), (10, 10)),
                                           ((36, 52), (3, 4))])
def test_output_grid_is_the_feature_grid(size, expected):
    net = FlowNetS(base_channels=4, zero_init_last=False)
    img = torch.randn(2, 3, *size)
    flow = net(img, img.flip(0))
    assert flow.shape == (2, 2) + expected
    flow = net(img, img.flip(0), out_size=(5, 7))
    assert flow.shape == (2, 2, 5, 7)


def test_zero_init_last_gives_the_identity_field():
    net = FlowNetS(base_channels=4)
    img = torch.randn(1, 3, 32, 32)
    assert torch.equal(net(img, torch.randn(1, 3, 32, 32)), torch.zeros(1, 2, 2, 2))
    net = FlowNetS(base_channels=4, zero_init_last=False)
    assert net(img, torch.randn(1, 3, 32, 32)).abs().sum() > 0


def test_units_are_feature_pixels():
    """FlowNetS predicts input pixels / 20 on the half-size input: x 20 * 2 / 16 = 2.5."""
    torch.manual_seed(0)
    net = FlowNetS(base_channels=4, zero_init_last=False)
    a, b = torch.randn(1, 3, 64, 64), torch.randn(1, 3, 64, 64)
    pred = net.predict(a, b)
    assert pred.shape == (1, 2, 4, 4)  # level 3 of the 32x32 pooled input
    torch.testing.assert_close(net(a, b), pred * 2.5)
    # The same prediction on a stride-8 grid is twice as many pixels.
    torch.testing.assert_close(net(a, b, out_size=(4, 4), out_stride=8), pred * 5.0)


def test_input_checks():
    net = FlowNetS(base_channels=4)
    with pytest.raises(ValueError, match='img_ref'):
        net(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 30))
    with pytest.raises(ValueError, match='img_cur'):
        net(torch.zeros(1, 4, 32, 32), torch.zeros(1, 4, 32, 32))


def fake_original_checkpoint(width: int, seed: int = 0) -> dict:
    gen = torch.Generator().manual_seed(seed)
    shapes = original_layer_shapes(width)
    return {k: torch.randn(shape, generator=gen) for k, shape in shapes.items()}


def test_convert_original_names():
    original = fake_original_checkpoint(8)
    converted, unmatched = convert_flownets_state_dict(
        {'state_dict': {f'module.{k}': v for k, v in original.items()}})
    assert unmatched == []
    assert set(converted) == {expected_name(k) for k in original}
    for key, value in original.items():
        assert converted[expected_name(key)] is value


def test_convert_caffe_and_bn_names():
    weights = {
        'conv1.weight': torch.zeros(1), 'conv1.bias': torch.zeros(1),
        'conv2.1.running_mean': torch.zeros(1), 'conv2.1.weight': torch.zeros(1),
        'Convolution1.weight': torch.zeros(1), 'Convolution5.bias': torch.zeros(1),
        'upsample_flow6to5.weight': torch.zeros(1), 'deconv3.weight': torch.zeros(1),
        'flownetc.conv1.0.weight': torch.zeros(1), 'epoch': 3,
    }
    converted, unmatched = convert_flownets_state_dict(weights)
    assert set(converted) == {
        'conv1.conv.weight', 'conv1.conv.bias', 'conv2.norm.running_mean', 'conv2.norm.weight',
        'predict_flow6.weight', 'predict_flow2.bias', 'upsample_flow6_to_5.weight',
        'deconv3.deconv.weight'}
    assert sorted(unmatched) == ['epoch', 'flownetc.conv1.0.weight']
    converted, _ = convert_flownets_state_dict({'flownets_1.conv1.0.weight': torch.zeros(1),
                                                'flownetc.conv1.0.weight': torch.ones(1)},
                                               prefix='flownets_1.')
    assert list(converted) == ['conv1.conv.weight'] and converted['conv1.conv.weight'].sum() == 0


def test_load_original_checkpoint_through_init_cfg(tmp_path):
    original = fake_original_checkpoint(8)
    path = tmp_path / 'flownets.pth'
    torch.save({'epoch': 10, 'state_dict': original}, path)
    net = MODELS.build(dict(type='FlowNetS', base_channels=8, feature_stride=16,
                            init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    net.init_weights()
    ours = net.state_dict()
    for key, value in original.items():
        name = expected_name(key)
        if name in ours:
            assert torch.equal(ours[name], value), name
    # Level 3 output: the level-2 layers of the checkpoint are not built.
    assert 'predict_flow2.weight' not in ours and 'deconv2.deconv.weight' not in ours
    report = load_flownets_checkpoint(net, original)
    assert report['missing'] == []
    assert report['skipped'] == ['deconv2.deconv.bias', 'deconv2.deconv.weight',
                                 'predict_flow2.bias', 'predict_flow2.weight',
                                 'upsample_flow3_to_2.weight']


def test_load_rejects_wrong_shapes():
    net = FlowNetS(base_channels=8)
    original = fake_original_checkpoint(8)
    original['conv1.0.weight'] = torch.zeros(8, 12, 7, 7)  # FlowNet2's stacked input
    with pytest.raises(ValueError, match=r"conv1.conv.weight.*\(8, 12, 7, 7\)"):
        load_flownets_checkpoint(net, original)
    with pytest.raises(ValueError, match='no key matched'):
        load_flownets_checkpoint(net, {'foo.weight': torch.zeros(1)})


def test_zero_flow():
    net = MODELS.build(dict(type='ZeroFlow'))
    assert isinstance(net, ZeroFlow)
    out = net(torch.zeros(2, 3, 64, 48), torch.zeros(2, 3, 64, 48))
    assert out.shape == (2, 2, 4, 3) and not out.any()


def test_gradients_reach_every_parameter():
    net = FlowNetS(base_channels=4, zero_init_last=False)
    a, b = torch.randn(1, 3, 64, 64), torch.randn(1, 3, 64, 64)
    net(a, b).square().sum().backward()
    for name, param in net.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
