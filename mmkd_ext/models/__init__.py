from . import algorithms, backbones, connectors, distillers, losses, utils  # noqa: F401
