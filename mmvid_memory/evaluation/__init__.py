from .functional import *  # noqa: F401,F403
from .metrics import FlowEPEMetric, VIDMetric

__all__ = ['VIDMetric', 'FlowEPEMetric']
