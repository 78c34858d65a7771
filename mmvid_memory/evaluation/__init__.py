from .functional import *  # noqa: F401,F403
from .metrics import VIDMetric

__all__ = ['VIDMetric']
