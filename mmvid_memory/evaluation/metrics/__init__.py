from .flow_metric import FlowEPEMetric
from .vid_metric import VIDMetric

__all__ = ['VIDMetric', 'FlowEPEMetric']
