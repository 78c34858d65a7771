"""MemNet: one feature memory warped from frame to frame (Vu et al., Sec. 3.1)."""
from typing import Optional

from mmdet.registry import MODELS

from .warp_memory import WarpMemoryBase


@MODELS.register_module()
class MemNetWarper(WarpMemoryBase):
    """``M_t = psi(phi(M_{t-1}, D_{t,t-1}), F_t)``, ``M_1 = F_1``.

    Per frame one displacement field ``D_{t,t-1} = flow_net(I_t, I_{t-1})``
    and one warp (N_F = N_W = 1); the detector's heads see ``M_t``. psi is
    the mean (Eq. 3) or the learned per-pixel weighting (Eq. 4). In training,
    frames after the first lose their image evidence with probability
    ``evidence_drop_prob`` (``M_t = phi(M_{t-1}, D)``); the flow network is a
    submodule trained end to end, gradients flow through time over the
    frames of a training clip. Test-time propagation and anticipation:
    ``propagation``, see :class:`WarpMemoryBase`.

    Args:
        flow_net (dict, optional): displacement network config
            (``FlowNetS`` at width 64, stride 16 by default).
        aggregation (str): ``'mean'`` or ``'weighted'``.
        in_channels (int, optional): feature channels (``'weighted'``).
        aggregation_hidden_channels (int): width of the weighting CNNs.
        current_frame_fusion (bool): learned weighting of the frame's own
            features against the memories' output (beyond the paper; see
            :class:`WarpMemoryBase`).
        evidence_drop_prob (float): 0.8 as in the seed.
        evidence_keep_clip_prob (float): share of training clips that keep
            every frame's evidence (0 in the seed; see :class:`WarpMemoryBase`).
        propagation (dict, optional): ``delta``, ``window``, ``anticipate``.
        flow_loss_weight (float): optional photometric loss on the fields
            (not in the seed; for flow networks trained from scratch).
        flow_smooth_weight (float): optional smoothness loss on the fields.
        level (str): 'pixel'.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 flow_net: Optional[dict] = None,
                 aggregation: str = 'mean',
                 in_channels: Optional[int] = None,
                 aggregation_hidden_channels: int = 64,
                 current_frame_fusion: bool = False,
                 evidence_drop_prob: float = 0.8,
                 evidence_keep_clip_prob: float = 0.0,
                 propagation: Optional[dict] = None,
                 flow_loss_weight: float = 0.0,
                 flow_smooth_weight: float = 0.0,
                 level: str = 'pixel',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            strides=(1, ), flow_net=flow_net, aggregation=aggregation, in_channels=in_channels,
            aggregation_hidden_channels=aggregation_hidden_channels,
            current_frame_fusion=current_frame_fusion,
            evidence_drop_prob=evidence_drop_prob,
            evidence_keep_clip_prob=evidence_keep_clip_prob, propagation=propagation,
            flow_loss_weight=flow_loss_weight, flow_smooth_weight=flow_smooth_weight, level=level,
            init_cfg=init_cfg)
