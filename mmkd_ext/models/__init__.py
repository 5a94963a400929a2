from . import (  # noqa: F401
    algorithms,
    architectures,
    backbones,
    distillers,
    losses,
    utils,
)
