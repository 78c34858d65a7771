"""R-FCN's box head: average voting over the position-sensitive bins."""
from typing import Optional, Tuple

from mmdet.models.roi_heads.bbox_heads import BBoxHead
from mmdet.registry import MODELS
from torch import Tensor


def position_sensitive_vote(pooled: Tensor) -> Tensor:
    """R-FCN's vote: the mean of each channel over its k x k bins.

    Args:
        pooled (Tensor): (K, C, k, k) position-sensitively pooled scores.

    Returns:
        Tensor: (K, C). Works for K = 0.
    """
    return pooled.mean(dim=(2, 3))


@MODELS.register_module()
class RFCNBBoxHead(BBoxHead):
    """Vote the pooled position-sensitive maps into class scores and deltas.

    The head has no weights: the 1x1 convs that make the score maps live in
    :class:`PSRoIExtractor`. Its one input is the pooled tensor
    (K, cls_out_channels + reg_out_channels, k, k), class part first, so an
    instance-level memory can replace it with a forward pre-hook. Targets,
    losses, decoding and NMS are mmdet's :class:`BBoxHead`.

    Args:
        num_classes (int): foreground classes C.
        roi_feat_size (int): k of the k x k bins. Defaults to 7.
        reg_class_agnostic (bool): one set of 4 deltas per RoI (R-FCN's
            setting) or 4 per class. Defaults to True.
        **kwargs: the rest of :class:`BBoxHead`'s arguments (``bbox_coder``,
            ``loss_cls``, ``loss_bbox``, ``reg_decoded_bbox``,
            ``predict_box_type``); ``with_avg_pool``, ``in_channels`` and the
            predictor configs have no meaning here and are refused.
    """

    def __init__(self,
                 num_classes: int,
                 roi_feat_size: int = 7,
                 reg_class_agnostic: bool = True,
                 **kwargs) -> None:
        for key in ('with_avg_pool', 'with_cls', 'with_reg', 'in_channels',
                    'cls_predictor_cfg', 'reg_predictor_cfg'):
            if key in kwargs:
                raise TypeError(f'RFCNBBoxHead has no fc layers: remove `{key}` from its config')
        init_cfg = kwargs.pop('init_cfg', None)
        # BBoxHead always builds fc_cls/fc_reg; build them as tiny layers and drop them.
        super().__init__(with_avg_pool=True, in_channels=1, roi_feat_size=roi_feat_size,
                         num_classes=num_classes, reg_class_agnostic=reg_class_agnostic,
                         init_cfg=init_cfg, **kwargs)
        del self.fc_cls, self.fc_reg, self.avg_pool
        self.with_avg_pool = False
        self.init_cfg = init_cfg

    @property
    def cls_out_channels(self) -> int:
        """int: class score channels, C + 1 (background last) for softmax."""
        if self.custom_cls_channels:
            return self.loss_cls.get_cls_channels(self.num_classes)
        return self.num_classes + 1

    @property
    def reg_out_channels(self) -> int:
        """int: delta channels, 4 class-agnostic or 4 C."""
        box_dim = self.bbox_coder.encode_size
        return box_dim if self.reg_class_agnostic else box_dim * self.num_classes

    @property
    def in_channels_total(self) -> int:
        """int: channels of the pooled input, class part then box part."""
        return self.cls_out_channels + self.reg_out_channels

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Vote.

        Args:
            x (Tensor): (K, cls_out_channels + reg_out_channels, k, k) pooled
                position-sensitive scores, class part first.

        Returns:
            tuple[Tensor, Tensor]: cls_score (K, cls_out_channels) and
            bbox_pred (K, reg_out_channels).
        """
        if not isinstance(x, Tensor) or x.dim() != 4 or x.size(1) != self.in_channels_total:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f'RFCNBBoxHead: expected pooled features (K, {self.in_channels_total}, k, k) '
                f'({self.cls_out_channels} class + {self.reg_out_channels} box channels), got '
                f'{shape}')
        voted = position_sensitive_vote(x)
        return voted[:, :self.cls_out_channels], voted[:, self.cls_out_channels:]

    def loss(self,
             cls_score: Tensor,
             bbox_pred: Optional[Tensor],
             rois: Tensor,
             labels: Tensor,
             label_weights: Tensor,
             bbox_targets: Optional[Tensor],
             bbox_weights: Optional[Tensor],
             reduction_override: Optional[str] = None) -> dict:
        """mmdet's box losses, with ``loss_cls``/``acc`` also when K = 0.

        mmdet leaves ``loss_cls`` out when there is no RoI at all (no
        proposal and no ground truth); a zero that keeps the graph makes the
        logged keys and the gradient's reach the same for every batch.
        Arguments and return as :meth:`BBoxHead.loss`.
        """
        losses = super().loss(cls_score, bbox_pred, rois, labels, label_weights, bbox_targets,
                              bbox_weights, reduction_override=reduction_override)
        if cls_score is not None and cls_score.numel() == 0 and 'loss_cls' not in losses:
            losses['loss_cls'] = cls_score.sum() * 0
            losses['acc'] = cls_score.new_zeros(())
        return losses
