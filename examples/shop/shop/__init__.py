"""Reference shop service: JSON API, storefront, SSE order events, Prometheus metrics."""

__version__ = "0.1.0"
