"""End-point error of a displacement network on SynthVID-Flow's val pairs.

The network may sit inside any checkpoint: a FlowNetS pre-training
(``flow_net.``, the default prefix), a MemNet / ClockNet detector
(``--prefix pixel_memory.flow_net.``) or a fast + strong model. It is loaded into
the flow config's ``FlowNetPretrainer`` and tested with ``FlowEPEMetric``
(feature pixels; ``flow/zero_epe`` is what the identity warp leaves).

Examples::

    python tools/analysis_tools/eval_flow.py configs/flownet/flownets-c8_1xb8-6k_synthvid-flow.py \\
        work_dirs/clocknet_rfcn_r18-dc5_synthvid/iter_300.pth --prefix pixel_memory.flow_net.
"""
import argparse
import json
import os.path as osp
import tempfile

import torch
from mmengine.config import Config, DictAction

import mmvid_memory  # noqa: F401
from mmvid_memory.engine import StrictLoadRunner
from mmvid_memory.utils.checkpoint import load_checkpoint_file
from mmvid_memory.utils.metrics_json import json_safe, write_metrics_json


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='EPE of a flow network on SynthVID-Flow val')
    parser.add_argument('config', help='a FlowNetPretrainer config (configs/flownet/)')
    parser.add_argument('checkpoint', help='checkpoint holding the flow network')
    parser.add_argument('--prefix', default='flow_net.',
                        help="key prefix of the network in the checkpoint (default 'flow_net.'; "
                        "'pixel_memory.flow_net.' for MemNet / ClockNet)")
    parser.add_argument('--work-dir', default=None, help='logs (default: a temporary folder)')
    parser.add_argument('--metrics-out', default=None, help='write the metrics to this JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='config overrides')
    return parser.parse_args()


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


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    checkpoint = load_checkpoint_file(args.checkpoint, map_location='cpu')
    state = extract_flow_state(checkpoint, args.prefix)
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'flow_net.pth')
        torch.save(dict(state_dict=state), path)
        cfg.load_from = path
        cfg.work_dir = args.work_dir or osp.join(tmp, 'work')
        from mmvid_memory.utils import prepare_cfg_for_launch
        prepare_cfg_for_launch(cfg)
        metrics = StrictLoadRunner.from_cfg(cfg).test()
    print(json.dumps(json_safe(metrics), indent=2))
    if args.metrics_out:
        write_metrics_json(metrics, args.metrics_out)  # NaN as null


if __name__ == '__main__':
    main()
