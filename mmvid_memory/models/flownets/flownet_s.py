"""FlowNetS-style displacement network, as FGFA, DFF and Vu et al. use it.

The network takes the image pair ``(I_t, I_s)`` at reduced resolution
(``downsample``, 2 as in FGFA/DFF), stacked into 6 channels, and follows
FlowNetS (Dosovitskiy et al., 2015): a strided encoder ``conv1 .. conv6_1``
and a refinement decoder that, level by level, upsamples features
(``deconvL``) and the coarser flow (``upsample_flow{L+1}_to_L``), concatenates
them with the encoder's skip features and predicts a flow (``predict_flowL``).
The decoder stops at the level whose stride matches the detector's feature
stride (stride 16 with downsample 2 -> level 3, stride 8 of the half-size
input), as DFF does.

Units: as in FlowNetS, each ``predict_flowL`` gives displacements in pixels
of the network input divided by ``div_flow`` (20). The module returns the
field in pixels of the *feature map*: ``pred * div_flow * downsample /
feature_stride``, i.e. ``pred * 2.5`` for the defaults, the ``2.5`` scale of
FGFA/DFF. The field follows :mod:`..memory.flow_warp`: channel 0 = x,
backward, ``D_{t,s}`` on the grid of the first image.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor

# FlowNetS layer widths at base_channels = 64 (the published network).
ENCODER_SPEC: Tuple[Tuple[str, int, int, int], ...] = (
    # name, out channels at width 64, kernel, stride
    ('conv1', 64, 7, 2),
    ('conv2', 128, 5, 2),
    ('conv3', 256, 5, 2),
    ('conv3_1', 256, 3, 1),
    ('conv4', 512, 3, 2),
    ('conv4_1', 512, 3, 1),
    ('conv5', 512, 3, 2),
    ('conv5_1', 512, 3, 1),
    ('conv6', 1024, 3, 2),
    ('conv6_1', 1024, 3, 1),
)
# Output width of deconv{L} at width 64, and the encoder skip joined at level L.
DECODER_SPEC: Dict[int, Tuple[int, str]] = {
    5: (512, 'conv5_1'),
    4: (256, 'conv4_1'),
    3: (128, 'conv3_1'),
    2: (64, 'conv2'),
}
# Encoder output of each level (stride 2**L of the network input).
LEVEL_FEATURE = {2: 'conv2', 3: 'conv3_1', 4: 'conv4_1', 5: 'conv5_1', 6: 'conv6_1'}


class FlowConvBlock(nn.Module):
    """Conv (+ BN) + LeakyReLU(0.1), FlowNetS's ``conv`` helper."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 with_bn: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                              padding=(kernel_size - 1) // 2, bias=not with_bn)
        self.norm = nn.BatchNorm2d(out_channels) if with_bn else None
        self.act = nn.LeakyReLU(0.1, inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        return self.act(x)


class FlowDeconvBlock(nn.Module):
    """Transposed conv 4x4 stride 2 + LeakyReLU(0.1), FlowNetS's ``deconv``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=True)
        self.act = nn.LeakyReLU(0.1, inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.deconv(x))


def crop_like(x: Tensor, ref: Tensor) -> Tensor:
    """Top-left crop of an upsampled map to a skip feature's size.

    With 'same' padding a stride-2 conv gives ceil(n / 2), so the 2x
    upsampled map is never smaller than the skip feature.
    """
    return x[..., :ref.shape[-2], :ref.shape[-1]]


def output_level(feature_stride: int, downsample: int) -> int:
    """Decoder level whose stride matches the feature stride.

    Args:
        feature_stride (int): stride of the detector's feature map w.r.t.
            the full network input.
        downsample (int): image down-sampling before the flow network.

    Returns:
        int: L in [2, 6]; the prediction ``predict_flowL`` has stride 2**L
        w.r.t. the flow network's input. Strides finer than level 2 use
        level 2 (the field is then upsampled); non-powers of two use the
        nearest finer level.
    """
    net_stride = feature_stride / downsample
    if net_stride <= 0:
        raise ValueError(f'feature_stride / downsample must be > 0, got {net_stride}')
    return int(min(6, max(2, math.floor(math.log2(net_stride) + 1e-9))))


@MODELS.register_module()
class FlowNetS(BaseModule):
    """Displacement field ``D_{t,s}`` from an image pair, FlowNetS-style.

    Args:
        base_channels (int): width of ``conv1``; every layer scales with it
            (64 is the published FlowNetS; 8 trains fast on CPU).
        feature_stride (int): stride of the feature map the field is for;
            picks the last decoder level and the output size (default 16).
        downsample (int): the images are average-pooled by this factor
            before the network (2, as FGFA/DFF).
        div_flow (float): FlowNetS's output scale (20): predictions are
            displacements in network-input pixels divided by it.
        input_scale (float): multiplies the detector's normalised images
            before the network. 1.0 for training from scratch; to use a
            checkpoint trained on ``(img - mean) / 255`` inputs (FlowNet2,
            FGFA) with a detector normalising by ``std``, set it to
            ``std / 255`` (about 0.23 for ImageNet stds).
        with_bn (bool): BatchNorm after the encoder convs (FlowNetS-BN).
        zero_init_last (bool): start the last ``predict_flow`` at zero, so an
            untrained network gives the identity warp (memory aggregation
            without motion) instead of random displacements.
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=PATH, prefix='')`` loads an original FlowNetS
            checkpoint through :func:`convert_flownets_state_dict`
            (docs/memory_warps.md); ``prefix`` selects a sub-network, e.g.
            ``'flownets_1.'`` of a FlowNet2.
    """

    def __init__(self,
                 base_channels: int = 64,
                 feature_stride: int = 16,
                 downsample: int = 2,
                 div_flow: float = 20.0,
                 input_scale: float = 1.0,
                 with_bn: bool = False,
                 zero_init_last: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if base_channels < 1:
            raise ValueError(f'base_channels must be >= 1, got {base_channels}')
        if downsample < 1:
            raise ValueError(f'downsample must be >= 1, got {downsample}')
        self.base_channels = base_channels
        self.feature_stride = feature_stride
        self.downsample = downsample
        self.div_flow = float(div_flow)
        self.input_scale = float(input_scale)
        self.with_bn = with_bn
        self.zero_init_last = zero_init_last
        self.out_level = output_level(feature_stride, downsample)

        def width(channels_at_64: int) -> int:
            return max(1, channels_at_64 * base_channels // 64)

        channels = {'input': 6}
        in_ch = 6
        for name, out_64, kernel, stride in ENCODER_SPEC:
            out_ch = width(out_64)
            self.add_module(name, FlowConvBlock(in_ch, out_ch, kernel, stride, with_bn))
            channels[name] = in_ch = out_ch

        self.predict_flow6 = nn.Conv2d(channels['conv6_1'], 2, 3, 1, 1, bias=True)
        in_ch = channels['conv6_1']
        for level in range(5, self.out_level - 1, -1):
            out_64, skip = DECODER_SPEC[level]
            deconv_ch = width(out_64)
            self.add_module(f'deconv{level}', FlowDeconvBlock(in_ch, deconv_ch))
            self.add_module(f'upsample_flow{level + 1}_to_{level}',
                            nn.ConvTranspose2d(2, 2, 4, 2, 1, bias=False))
            concat_ch = channels[skip] + deconv_ch + 2
            self.add_module(f'predict_flow{level}', nn.Conv2d(concat_ch, 2, 3, 1, 1, bias=True))
            in_ch = concat_ch
        self._reset_parameters()

    @property
    def levels(self) -> List[int]:
        """Decoder levels, coarse to fine (6 .. ``out_level``)."""
        return list(range(6, self.out_level - 1, -1))

    def _reset_parameters(self) -> None:
        # FlowNetS initialises every conv with Kaiming-normal, zero bias.
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(module.weight, a=0.1, nonlinearity='leaky_relu')
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if self.zero_init_last:
            last = getattr(self, f'predict_flow{self.out_level}')
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def init_weights(self) -> None:
        """Load an original FlowNetS checkpoint when ``init_cfg`` asks.

        mmengine's own ``Pretrained`` initialiser cannot rename keys, so the
        ``Pretrained`` type is handled here with the FlowNetS key mapping.
        """
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            from ...utils.cfg_keys import check_cfg_keys
            from .flownet_s_checkpoint import load_flownets_checkpoint
            check_cfg_keys(cfg, ('type', 'checkpoint', 'prefix', 'map_location'),
                           "FlowNetS init_cfg of type 'Pretrained'")
            if 'checkpoint' not in cfg:
                raise KeyError("FlowNetS init_cfg of type 'Pretrained' needs a 'checkpoint' path")
            load_flownets_checkpoint(self, cfg['checkpoint'], prefix=cfg.get('prefix', ''),
                                     map_location=cfg.get('map_location', 'cpu'))
            self._is_init = True
            return
        super().init_weights()

    def predict(self, img_cur: Tensor, img_ref: Tensor) -> Tensor:
        """Raw FlowNetS output at ``out_level``.

        Args:
            img_cur (Tensor): (N, 3, H, W) network input of frame t.
            img_ref (Tensor): (N, 3, H, W) network input of frame s.

        Returns:
            Tensor: (N, 2, ceil(H'/2**L), ceil(W'/2**L)) with H' = ceil(H /
            downsample), in network-input pixels / ``div_flow``.
        """
        return self.predict_levels(img_cur, img_ref)[self.out_level]

    def predict_levels(self, img_cur: Tensor, img_ref: Tensor) -> Dict[int, Tensor]:
        """Raw predictions of every decoder level (FlowNet's multi-scale loss
        supervises them all).

        Args:
            img_cur (Tensor): (N, 3, H, W) network input of frame t.
            img_ref (Tensor): (N, 3, H, W) network input of frame s.

        Returns:
            dict[int, Tensor]: level L -> (N, 2, ~H'/2**L, ~W'/2**L) in
            network-input pixels / ``div_flow``, for L in :attr:`levels`.
        """
        if img_cur.dim() != 4 or img_cur.shape[1] != 3:
            raise ValueError(f'img_cur must be (N, 3, H, W), got {tuple(img_cur.shape)}')
        if img_ref.shape != img_cur.shape:
            raise ValueError(f'img_ref {tuple(img_ref.shape)} must match img_cur '
                             f'{tuple(img_cur.shape)}')
        x = torch.cat([img_cur, img_ref], dim=1) * self.input_scale
        if self.downsample > 1:
            x = F.avg_pool2d(x, self.downsample, self.downsample, ceil_mode=True,
                             count_include_pad=False)
        feats = {}
        for name, *_ in ENCODER_SPEC:
            x = getattr(self, name)(x)
            feats[name] = x
        flow = self.predict_flow6(feats['conv6_1'])
        preds = {6: flow}
        top = feats['conv6_1']
        for level in self.levels[1:]:
            skip = feats[DECODER_SPEC[level][1]]
            up_feat = crop_like(getattr(self, f'deconv{level}')(top), skip)
            up_flow = crop_like(getattr(self, f'upsample_flow{level + 1}_to_{level}')(flow), skip)
            top = torch.cat([skip, up_feat, up_flow], dim=1)
            flow = getattr(self, f'predict_flow{level}')(top)
            preds[level] = flow
        return preds

    def forward(self, img_cur: Tensor, img_ref: Tensor,
                out_size: Optional[Sequence[int]] = None,
                out_stride: Optional[float] = None) -> Tensor:
        """Displacement field ``D_{cur,ref}`` on a feature grid.

        Args:
            img_cur (Tensor): (N, 3, H, W) network input of frame t.
            img_ref (Tensor): (N, 3, H, W) network input of frame s.
            out_size (tuple[int, int], optional): (h, w) of the feature map;
                default ``ceil(H / feature_stride)`` x ``ceil(W / ...)``.
            out_stride (float, optional): stride of that map w.r.t. the
                input; default ``feature_stride`` when ``out_size`` is not
                given, else the power of two nearest to ``H / h``.

        Returns:
            Tensor: (N, 2, h, w) in pixels of the feature map, channel 0 = x;
            ``out[p] = feat_ref[p + D[p]]`` aligns ``ref`` to ``cur``.
        """
        height, width = img_cur.shape[-2:]
        if out_size is None:
            out_size = (math.ceil(height / self.feature_stride),
                        math.ceil(width / self.feature_stride))
            if out_stride is None:
                out_stride = self.feature_stride
        out_size = (int(out_size[0]), int(out_size[1]))
        if out_stride is None:
            out_stride = feature_map_stride((height, width), out_size)
        pred = self.predict(img_cur, img_ref)
        # pred * div_flow: pixels of the pooled input; * downsample: of the
        # full input; / out_stride: of the feature map.
        flow = pred * (self.div_flow * self.downsample / out_stride)
        return resize_grid(flow, out_size)


def resize_grid(flow: Tensor, size: Tuple[int, int]) -> Tensor:
    """Move a field already in target-grid pixels onto a grid of ``size``.

    Unlike :func:`..memory.flow_warp.resize_flow` the vectors are *not* rescaled: the network's
    map and the feature map differ only by rounding of odd sizes.
    """
    if tuple(flow.shape[-2:]) == tuple(size):
        return flow
    return F.interpolate(flow, size=size, mode='bilinear', align_corners=False)


def feature_map_stride(input_size: Sequence[int], feat_size: Sequence[int]) -> float:
    """Stride of a feature map: the power of two nearest to H / h.

    Args:
        input_size (tuple[int, int]): (H, W) of the network input.
        feat_size (tuple[int, int]): (h, w) of the feature map.

    Returns:
        float: e.g. 16.0 for a 160-pixel input and a 10-cell map.
    """
    ratio = max(input_size[0] / feat_size[0], input_size[1] / feat_size[1])
    return float(2 ** round(math.log2(ratio)))


__all__ = ['FlowNetS', 'output_level', 'feature_map_stride', 'resize_grid']
