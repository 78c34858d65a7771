"""Compiled ops of mmvid_memory (``mmvid_memory._C``) and their Python wrappers."""
from .ps_roi_pool import PSRoIPool, compiled_ps_roi_pool_available, ps_roi_pool, ps_roi_pool_pytorch

__all__ = ['ps_roi_pool', 'ps_roi_pool_pytorch', 'PSRoIPool', 'compiled_ps_roi_pool_available']
