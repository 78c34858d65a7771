"""ClockNet: memories at several temporal scales (Vu et al., Sec. 3.2)."""
from typing import Optional, Sequence

from mmdet.registry import MODELS

from .warp_memory import WarpMemoryBase


@MODELS.register_module()
class ClockNetAggregator(WarpMemoryBase):
    """K warped memories with temporal strides; the output is their mean.

    Memory k (stride ``s_k``) takes image evidence at the frames with
    ``frame_id % s_k == 0`` (and all memories start from ``F`` at the first
    frame of the video): ``M^k_t = psi(phi(M^k_a, D_{t,a}), F_t)`` where
    ``a`` is the frame of its previous update, its *anchor*. At the frames in
    between it is not updated; it is warped from its anchor straight to the
    current frame, ``phi(M^k_a, D_{t,a})``, for the output only. So every
    memory needs one displacement field (between the current frame and the
    frame at which that memory was last updated) and one warp per frame:
    N_F = N_W = K, 3 for the seed's strides (1, 4, 8), its k = 1, 3, 4 with
    stride ``2**(k-1)`` (Fig. 3: time axis k skips ``2**(k-1) - 1`` frames).
    Memories whose anchors coincide share the field when ``share_flows``
    (identical result, fewer network passes; ``stats()['flows']`` counts the
    passes made). ``M_t = (1/K) sum_k M^k_t`` (Sec. 3.2). With K = 1 and
    stride 1 this is :class:`MemNetWarper`.

    Training drops the image evidence of a frame with probability
    ``evidence_drop_prob`` (then the memories due for an update are only
    warped and re-anchored). Test-time propagation/anticipation as in
    :class:`WarpMemoryBase`; the schedule is :func:`clocknet_schedule`.

    Args:
        strides (Sequence[int]): temporal stride of each memory, default
            (1, 4, 8).
        flow_net (dict, optional): displacement network config.
        aggregation (str): psi of every memory, ``'mean'`` or ``'weighted'``
            (one weighting network shared by the memories).
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
        share_flows (bool): one network pass per distinct anchor frame.
        level (str): 'pixel'.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 strides: Sequence[int] = (1, 4, 8),
                 flow_net: Optional[dict] = None,
                 aggregation: str = 'mean',
                 in_channels: Optional[int] = None,
                 aggregation_hidden_channels: int = 64,
                 current_frame_fusion: bool = False,
                 evidence_drop_prob: float = 0.8,
                 evidence_keep_clip_prob: float = 0.0,
                 propagation: Optional[dict] = None,
                 share_flows: bool = True,
                 flow_loss_weight: float = 0.0,
                 flow_smooth_weight: float = 0.0,
                 level: str = 'pixel',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            strides=strides, flow_net=flow_net, aggregation=aggregation, in_channels=in_channels,
            aggregation_hidden_channels=aggregation_hidden_channels,
            current_frame_fusion=current_frame_fusion,
            evidence_drop_prob=evidence_drop_prob,
            evidence_keep_clip_prob=evidence_keep_clip_prob, propagation=propagation,
            share_flows=share_flows, flow_loss_weight=flow_loss_weight,
            flow_smooth_weight=flow_smooth_weight, level=level, init_cfg=init_cfg)
