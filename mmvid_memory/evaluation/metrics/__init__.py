from .vid_metric import VIDMetric

__all__ = ['VIDMetric']
