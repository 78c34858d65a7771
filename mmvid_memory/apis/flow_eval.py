"""End-point error of a displacement network held in any checkpoint.

The network may sit inside a FlowNetS pre-training (key prefix
``flow_net.``), a MemNet / ClockNet detector (``pixel_memory.flow_net.``) or
a fast + strong model. It is loaded into a flow config's ``FlowNetPretrainer``
and tested on SynthVID-Flow's val pairs with ``FlowEPEMetric`` (feature
pixels; ``flow/zero_epe`` is what the identity warp leaves).
"""
import os.path as osp
import tempfile
from typing import Dict, Optional

import torch
from mmengine.config import Config


def extract_flow_state(checkpoint: dict, prefix: str) -> dict:
    """The ``flow_net.``-keyed state dict of the network under ``prefix``.

    Raises:
        KeyError: no key of the checkpoint starts with ``prefix`` (the message
            lists the prefixes that exist).
    """
    state = checkpoint.get('state_dict', checkpoint)
    picked = {'flow_net.' + k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not picked:
        heads = sorted({k.rsplit('.', 2)[0] for k in state if 'flow' in k})[:8]
        raise KeyError(f'no key starts with {prefix!r}; keys with "flow": {heads}')
    return picked


def flow_epe_of_checkpoint(flow_config: str, checkpoint: str, prefix: str = 'flow_net.',
                           work_dir: Optional[str] = None,
                           cfg_options: Optional[dict] = None) -> Dict[str, float]:
    """Test the flow network of ``checkpoint`` with a flow config's runner.

    Args:
        flow_config (str): a ``FlowNetPretrainer`` config (``configs/flownet/``).
        checkpoint (str): the checkpoint holding the network.
        prefix (str): its key prefix there.
        work_dir (str, optional): logs (default: a temporary folder).
        cfg_options (dict, optional): overrides of the flow config.

    Returns:
        dict: the metrics (``flow/epe``, ``flow/zero_epe``, ...).
    """
    from ..engine import StrictLoadRunner
    from ..utils import prepare_cfg_for_launch
    from ..utils.checkpoint import load_checkpoint_file
    cfg = Config.fromfile(flow_config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    loaded = load_checkpoint_file(checkpoint, map_location='cpu')
    state = extract_flow_state(loaded, prefix)
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'flow_net.pth')
        torch.save(dict(state_dict=state), path)
        cfg.load_from = path
        cfg.work_dir = work_dir or osp.join(tmp, 'work')
        prepare_cfg_for_launch(cfg, ('test_dataloader', ))  # the flow pairs of the test split only
        metrics = StrictLoadRunner.from_cfg(cfg).test()
    return {k: float(v) for k, v in metrics.items()}
