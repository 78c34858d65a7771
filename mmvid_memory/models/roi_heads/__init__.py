from .bbox_heads import RFCNBBoxHead, position_sensitive_vote
from .rfcn_roi_head import RFCNRoIHead, drop_zero_area_gt
from .roi_extractors import PSRoIExtractor

__all__ = ['PSRoIExtractor', 'RFCNBBoxHead', 'RFCNRoIHead', 'drop_zero_area_gt', 'position_sensitive_vote']
