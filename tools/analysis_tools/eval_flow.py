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

from mmengine.config import DictAction

import mmvid_memory  # noqa: F401
from mmvid_memory.apis.flow_eval import flow_epe_of_checkpoint
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


def main() -> None:
    args = parse_args()
    metrics = flow_epe_of_checkpoint(args.config, args.checkpoint, args.prefix, args.work_dir,
                                     args.cfg_options)
    print(json.dumps(json_safe(metrics), indent=2))
    if args.metrics_out:
        write_metrics_json(metrics, args.metrics_out)  # NaN as null


if __name__ == '__main__':
    main()
