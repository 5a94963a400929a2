# Copyright (c) mmkd_ext contributors. All rights reserved.
"""The letKD "KD layer" and its insertion into an OpenMMLab model.

:class:`LetKDLayer` is part of the *student*: it is trained with it, stays
in the network at test time and is saved with it. :func:`build_letkd_student`
(registered as ``LetKDStudent``) builds any mmpretrain / mmdet / mmseg model
and inserts one or more KD layers behind named modules, so a config keeps
the model's own class and weights names::

    architecture = dict(
        type='mmrazor.LetKDStudent',
        model=dict(type='mmpretrain.ImageClassifier', ...),
        layers=dict(
            penult=dict(module='backbone.layer4', in_channels=512,
                        num_templates=4096)))

The built model is the model itself (e.g. an ``ImageClassifier``) with a
``letkd`` :class:`~torch.nn.ModuleDict` holding the layers and a forward hook
on each named module that replaces its output ``x`` by the layer's
``x_hat``. Everything else (state-dict keys of the original modules,
``data_preprocessor``, ``test_step``, pretrained ``init_cfg``) is unchanged,
and the layers' parameters are ``letkd.<name>.*`` entries of the model's
state dict. A checkpoint of the student (e.g. the student-only export of a
distillation run) therefore loads with the stock mmpretrain / mmdet / mmseg
test scripts as long as the config's ``model`` is this ``LetKDStudent``
dict and ``custom_imports`` imports ``mmkd_ext``.

The distillation loss needs the template logits ``a`` of each layer; they
are the output of the layer's ``conv1`` and are recorded with mmrazor's
``ModuleOutputs`` recorder on ``letkd.<name>.conv1`` (see
:class:`~mmkd_ext.models.losses.LetKDLoss`).
"""
import difflib
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor


class NormalizedConv2d(nn.Module):
    r"""1x1 convolution of unit-norm inputs with unit-norm kernels.

    .. math::

        \mathrm{ncv}(u; W, s)_o = s \cdot \Big\langle
        \frac{W_o}{\lVert W_o \rVert_2}, \frac{u_i}{\lVert u_i \rVert_2}
        \Big\rangle

    for every pixel :math:`i`: a scaled cosine similarity between the
    pixel's channel vector and each kernel row (``F.normalize`` with eps
    1e-12 on both). One learnable scalar scale :math:`s`, no bias.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels (number of kernels).
        scale (float): Initial value of :math:`s`. Defaults to 1.0.

    Shapes:
        (N, in_channels, H, W) -> (N, out_channels, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 scale: float = 1.0) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.weight = nn.Parameter(
            torch.randn(out_channels, in_channels, 1, 1) *
            (2.0 / in_channels)**0.5)
        self.scale = nn.Parameter(torch.tensor(float(scale)))

    def forward(self, x: Tensor) -> Tensor:
        """(N, in_channels, H, W) -> (N, out_channels, H, W)."""
        n, _, h, w = x.shape
        x = F.normalize(x, p=2, dim=1, eps=1e-12)
        weight = F.normalize(self.weight.flatten(1), p=2, dim=1, eps=1e-12)
        # a 1x1 convolution as one matmul (faster than conv2d on CPU)
        out = torch.matmul(weight * self.scale, x.flatten(2))
        return out.view(n, self.out_channels, h, w)

    def extra_repr(self) -> str:
        return f'{self.in_channels}, {self.out_channels}'


@MODELS.register_module()
class LetKDLayer(nn.Module):
    r"""KD layer of `Knowledge Distillation Layer that Lets the Student Decide
    <https://arxiv.org/abs/2309.02843>`_ (letKD).

    For a student map :math:`x` with C channels and K templates:

    .. math::

        a = \mathrm{ncv}(x; W_1, s_1), \qquad p_S = \mathrm{softmax}_K(a),

        h = \mathrm{ReLU}(\mathrm{BN}_K(a)), \qquad
        v = \mathrm{ncv}(h; W_2, s_2), \qquad \hat{x} = x + \alpha v

    with :class:`NormalizedConv2d` ``ncv`` (``W1``: (K, C), :math:`s_1`
    starts at 3.0; ``W2``: (C, K), :math:`s_2` starts at 1.0; :math:`h` is
    l2-normalized inside ``ncv``, not sum-normalized) and a plain
    ``BatchNorm2d(K)``. :math:`\alpha` is fixed (not learned). :math:`p_S`
    is only used by the distillation loss, which reads the template logits
    :math:`a` from ``conv1``; ``forward`` returns :math:`\hat{x}`.

    Args:
        in_channels (int): C, channels of the wrapped student map.
        num_templates (int): K, number of templates (teacher's codebook size
            for the penultimate layer, ``num_classes * 8`` for letKD-2's
            intermediate layer).
        alpha (float): Weight of the residual branch. Defaults to 1.0.
        scale1 (float): Initial :math:`s_1`. Defaults to 3.0.
        scale2 (float): Initial :math:`s_2`. Defaults to 1.0.

    Shapes:
        (N, C, H, W) -> (N, C, H, W).
    """

    def __init__(self,
                 in_channels: int,
                 num_templates: int,
                 alpha: float = 1.0,
                 scale1: float = 3.0,
                 scale2: float = 1.0) -> None:
        super().__init__()
        for key, value in (('in_channels', in_channels),
                           ('num_templates', num_templates)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f'LetKDLayer: {key} must be a positive int, got {value!r}')
        self.in_channels = in_channels
        self.num_templates = num_templates
        self.alpha = float(alpha)
        self.conv1 = NormalizedConv2d(in_channels, num_templates, scale1)
        self.bn = nn.BatchNorm2d(num_templates)
        self.conv2 = NormalizedConv2d(num_templates, in_channels, scale2)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> x_hat (N, C, H, W)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'LetKDLayer: expected a (N, {self.in_channels}, H, W) map, '
                f'got {tuple(x.shape)}')
        v = self.conv2(F.relu(self.bn(self.conv1(x))))
        return x + self.alpha * v

    def extra_repr(self) -> str:
        return f'alpha={self.alpha}'


class _LetKDHook:
    """Forward hook replacing a module's output ``x`` by ``layer(x)``.

    ``index`` selects elements of a tuple / list output (e.g. FPN levels);
    the same layer is applied to each selected element in ``index`` order.
    """

    def __init__(self, layer: LetKDLayer, name: str, module_path: str,
                 index: Optional[Sequence[int]]) -> None:
        self.layer = layer
        self.name = name
        self.module_path = module_path
        self.index = index

    def __call__(self, module: nn.Module, inputs, output):
        if self.index is None:
            if not isinstance(output, Tensor):
                raise TypeError(
                    f'LetKDStudent layer "{self.name}": module '
                    f'"{self.module_path}" returns {type(output).__name__}, '
                    'not a tensor; set `index` to pick the map(s).')
            return self.layer(output)
        if not isinstance(output, (tuple, list)):
            raise TypeError(
                f'LetKDStudent layer "{self.name}": `index` is set but module '
                f'"{self.module_path}" returns {type(output).__name__}, not a '
                'tuple or list.')
        outs = list(output)
        for i in self.index:
            if not -len(outs) <= i < len(outs):
                raise IndexError(
                    f'LetKDStudent layer "{self.name}": index {i} out of '
                    f'range for the {len(outs)} outputs of module '
                    f'"{self.module_path}".')
            outs[i] = self.layer(outs[i])
        return type(output)(outs)


def insert_letkd_layers(model: nn.Module, layers: Dict[str, dict]) -> None:
    """Insert :class:`LetKDLayer` s into ``model`` in place.

    Args:
        model (nn.Module): Any model. It gets a ``letkd`` ``ModuleDict``
            attribute holding the layers.
        layers (dict): ``{name: cfg}``. ``cfg['module']`` is the path of the
            module whose output the layer replaces (as in
            ``model.named_modules()``, e.g. ``'backbone.layer4'``);
            ``cfg['index']`` (optional int or list of ints) picks elements of
            a tuple/list output (one layer shared by all picked elements);
            the other keys are :class:`LetKDLayer` arguments.

    Raises:
        KeyError: A module path that does not exist (the closest paths are
            named).
    """
    if hasattr(model, 'letkd'):
        raise ValueError(f'{type(model).__name__} already has a `letkd` '
                         'attribute; insert the KD layers only once.')
    if not isinstance(layers, dict) or not layers:
        raise ValueError('LetKDStudent: `layers` must be a non-empty dict '
                         f'{{name: cfg}}, got {layers!r}')
    names = [name for name, _ in model.named_modules()]
    model.letkd = nn.ModuleDict()
    for name, cfg in layers.items():
        cfg = dict(cfg)
        if 'module' not in cfg:
            raise KeyError(f'LetKDStudent layer "{name}": missing `module` '
                           '(the path of the module to wrap).')
        path = cfg.pop('module')
        index: Union[None, int, Sequence[int]] = cfg.pop('index', None)
        if path not in names:
            close = difflib.get_close_matches(path, names, n=3, cutoff=0.5)
            raise KeyError(
                f'LetKDStudent layer "{name}": module "{path}" does not '
                f'exist in {type(model).__name__}. Closest: {close}.')
        if isinstance(index, int):
            index = [index]
        elif index is not None:
            index = [int(i) for i in index]
        layer = LetKDLayer(**cfg)
        model.letkd[name] = layer
        model.get_submodule(path).register_forward_hook(
            _LetKDHook(layer, name, path, index))


def build_letkd_student(model: Union[dict, nn.Module],
                        layers: Dict[str, dict],
                        data_preprocessor: Optional[dict] = None
                        ) -> nn.Module:
    """Build ``model`` and insert the letKD layers (``type='LetKDStudent'``).

    Args:
        model (dict | nn.Module): The student's config (any type known to
            mmrazor's registry, e.g. ``mmpretrain.ImageClassifier``, or
            ``dict(cfg_path='mmdet::...', pretrained=False)``) or a model.
        layers (dict): See :func:`insert_letkd_layers`.
        data_preprocessor (dict, optional): Default ``data_preprocessor`` of
            ``model`` (what mmengine's Runner passes to the top-level model
            config); the model config's own one wins.

    Returns:
        nn.Module: ``model`` itself, with the layers inserted.
    """
    if isinstance(model, dict):
        model = dict(model)
        if data_preprocessor is not None:
            model.setdefault('data_preprocessor', data_preprocessor)
        model = MODELS.build(model)
    insert_letkd_layers(model, layers)
    return model


MODELS.register_module(name='LetKDStudent', module=build_letkd_student)
