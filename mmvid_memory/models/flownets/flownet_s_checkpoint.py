"""Load original FlowNetS checkpoints into :class:`FlowNetS`.

Recognised source names (after an optional ``module.`` and user prefix):

========================================  ==================================
original key                              :class:`FlowNetS` key
========================================  ==================================
``conv3_1.0.weight`` / ``conv3_1.weight``  ``conv3_1.conv.weight``
``conv3_1.0.bias`` / ``conv3_1.bias``      ``conv3_1.conv.bias``
``conv3_1.1.{weight,bias,running_*}``      ``conv3_1.norm.*`` (FlowNetS-BN)
``deconv5.0.weight`` / ``deconv5.weight``  ``deconv5.deconv.weight`` (and bias)
``predict_flow6.weight``                   ``predict_flow6.weight`` (and bias)
``Convolution1`` .. ``Convolution5``       ``predict_flow6`` .. ``predict_flow2``
``upsampled_flow6_to_5.weight``            ``upsample_flow6_to_5.weight``
``upsample_flow6to5.weight``               ``upsample_flow6_to_5.weight``
``conv3_1.conv.weight``, ``deconv5.deconv.*``  unchanged (this package's names)
========================================  ==================================

The first two columns cover FlowNet2-pytorch / FlowNetPytorch (``nn.Sequential``
indices) and Caffe-converted weights (layer names; Caffe's FlowNetS calls its
flow predictors ``Convolution1..5``, coarse to fine). Layers finer than the
network's output level (e.g. ``deconv2`` and ``predict_flow2`` when the
decoder stops at level 3) are skipped and reported.
"""
import re
from typing import Dict, List, Mapping, Tuple, Union

import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor, nn

ENCODER_NAMES = ('conv1', 'conv2', 'conv3', 'conv3_1', 'conv4', 'conv4_1', 'conv5', 'conv5_1',
                 'conv6', 'conv6_1')
NORM_PARAMS = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
_UPSAMPLE = re.compile(r'^upsampled?_flow(\d)_?to_?(\d)$')
_CAFFE_PREDICT = re.compile(r'^Convolution(\d)$')
_PREDICT = re.compile(r'^predict_flow(\d)$')
_DECONV = re.compile(r'^deconv(\d)$')


def _map_key(layer: str, param: str) -> Union[str, None]:
    """Our key for one original (layer, parameter path), or None."""
    if layer in ENCODER_NAMES:
        if param in ('conv.weight', 'conv.bias') or (param.startswith('norm.') and
                                                      param[5:] in NORM_PARAMS):
            return f'{layer}.{param}'  # saved by this package (e.g. FlowNetPretrainer)
        if param in ('0.weight', 'weight', '0.bias', 'bias'):
            return f'{layer}.conv.{param.split(".")[-1]}'
        if param.startswith('1.') and param[2:] in NORM_PARAMS:
            return f'{layer}.norm.{param[2:]}'
        return None
    if param.startswith('0.'):
        param = param[2:]
    elif param.startswith('deconv.') and _DECONV.match(layer):
        param = param[len('deconv.'):]
    if param not in ('weight', 'bias'):
        return None
    match = _DECONV.match(layer)
    if match:
        return f'deconv{match.group(1)}.deconv.{param}'
    match = _PREDICT.match(layer)
    if match:
        return f'predict_flow{match.group(1)}.{param}'
    match = _CAFFE_PREDICT.match(layer)
    if match and 1 <= int(match.group(1)) <= 5:
        return f'predict_flow{7 - int(match.group(1))}.{param}'
    match = _UPSAMPLE.match(layer)
    if match and param == 'weight':
        return f'upsample_flow{match.group(1)}_to_{match.group(2)}.weight'
    return None


def convert_flownets_state_dict(state_dict: Mapping[str, Tensor],
                                prefix: str = '') -> Tuple[Dict[str, Tensor], List[str]]:
    """Rename an original FlowNetS state dict to :class:`FlowNetS` keys.

    Args:
        state_dict (Mapping[str, Tensor]): original weights, optionally
            wrapped (``{'state_dict': ...}``) or prefixed with ``module.``.
        prefix (str): only keys starting with it are taken, with it removed
            (e.g. ``'flownets_1.'`` for the FlowNetS inside a FlowNet2).

    Returns:
        tuple: the renamed dict and the original keys that matched no
        FlowNetS layer.
    """
    if 'state_dict' in state_dict and isinstance(state_dict['state_dict'], Mapping):
        state_dict = state_dict['state_dict']
    converted: Dict[str, Tensor] = {}
    unmatched: List[str] = []
    for key, value in state_dict.items():
        name = key[len('module.'):] if key.startswith('module.') else key
        if prefix:
            if not name.startswith(prefix):
                continue
            name = name[len(prefix):]
        layer, _, param = name.partition('.')
        new_key = _map_key(layer, param) if param else None
        if new_key is None or not isinstance(value, Tensor):
            unmatched.append(key)
            continue
        if new_key in converted:
            raise ValueError(f'FlowNetS checkpoint: two keys map to {new_key!r} (the second is '
                             f'{key!r})')
        converted[new_key] = value
    return converted, unmatched


def load_flownets_checkpoint(model: nn.Module,
                             checkpoint: Union[str, Mapping[str, Tensor]],
                             prefix: str = '',
                             map_location: str = 'cpu') -> Dict[str, List[str]]:
    """Load an original FlowNetS checkpoint into a :class:`FlowNetS`.

    Args:
        model (FlowNetS): the network to fill (in place).
        checkpoint (str | Mapping): a path/URL mmengine can read, or a state
            dict.
        prefix (str): see :func:`convert_flownets_state_dict`.
        map_location (str): device for loading a path.

    Returns:
        dict: ``missing`` (our keys the checkpoint lacks, left at their
        initialisation), ``skipped`` (converted keys for layers this network
        does not build) and ``unmatched`` (original keys no rule covers).

    Raises:
        ValueError: when a tensor's shape differs from the layer's (e.g. a
            12-channel FlowNet2 ``conv1`` or another ``base_channels``).
    """
    if isinstance(checkpoint, str):
        checkpoint = CheckpointLoader.load_checkpoint(checkpoint, map_location=map_location)
    converted, unmatched = convert_flownets_state_dict(checkpoint, prefix=prefix)
    if not converted:
        raise ValueError('FlowNetS checkpoint: no key matched a FlowNetS layer '
                         f'(first keys: {list(checkpoint)[:5]}); check the prefix')
    own = model.state_dict()
    skipped = sorted(k for k in converted if k not in own)
    to_load = {k: v for k, v in converted.items() if k in own}
    for key, value in to_load.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise ValueError(
                f'FlowNetS checkpoint: {key!r} has shape {tuple(value.shape)}, the network '
                f'expects {tuple(own[key].shape)} (base_channels={model.base_channels}, '
                f'with_bn={model.with_bn}; FlowNetS takes 6 input channels)')
    with torch.no_grad():
        for key, value in to_load.items():
            own[key].copy_(value)
    missing = sorted(k for k in own if k not in to_load)
    report = dict(missing=missing, skipped=skipped, unmatched=unmatched)
    print_log(f'FlowNetS checkpoint: loaded {len(to_load)} tensors; missing {missing}; '
              f'skipped (finer than level {model.out_level}) {skipped}; unmatched {unmatched}',
              logger='current')
    return report
