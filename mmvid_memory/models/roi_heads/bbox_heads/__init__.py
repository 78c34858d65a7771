from .rfcn_bbox_head import RFCNBBoxHead, position_sensitive_vote

__all__ = ['RFCNBBoxHead', 'position_sensitive_vote']
