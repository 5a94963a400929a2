# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Feature heat maps at the distilled layers, and attention maps.

For a distillation config and a checkpoint of its run, :class:`FeatureVis`
records the features the distiller compares (every ``distill_losses`` entry
of ``loss_forward_mappings``: the student and the teacher record, e.g. the
FPN levels P3-P7 of a detector) on a few images, for

* the distilled student (the checkpoint's ``architecture.*``),
* the teacher (the checkpoint's ``teacher.*``, or ``teacher_ckpt``),
* optionally the student trained without distillation (a plain checkpoint),

and draws them as heat maps over the image, one PNG grid per image: a row
per distilled layer, a column per model (as the CanKD supplement's
Figure 6). For a loss with an attention map (TaT, CanKD: a loss whose
``attention_map(s_feature, t_feature)`` returns the map its forward uses,
(B, G, hq, wq, hk, wk)) a last column shows where the distilled student's
positions attend among the teacher's positions (the TaT supplement's
Figure 1): the map of one query position, or, by default, the attention
every teacher position receives, averaged over all queries and heads.

The heat map of a (C, H, W) feature is its channel-wise mean absolute value
(``reduce``: 'abs_mean', 'mean', 'l2' or 'max'), cropped to the unpadded
image area and min-max normalised (``scale``) per panel, or per row: the
student, distilled student and teacher maps of a layer on one scale, so
that their magnitudes compare. A colour bar per figure (per panel) or per
row (per row, in the reduction's units) says which. Attention maps are
always normalised per panel.
"""
import copy
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmrazor.registry import MODELS
from torch import Tensor, nn

from mmkd_ext.models.distillers import allow_random_teacher
from mmkd_ext.utils import (
    check_state_dict,
    is_distill_config,
    load_checkpoint_file,
    load_state_dict,
    pipeline_dataset,
)

REDUCTIONS = ('abs_mean', 'mean', 'l2', 'max')
#: Which heat maps share a colour scale: each panel its own, or a row's
#: feature maps (student, distilled student, teacher) one.
SCALES = ('panel', 'row')
#: The columns that show the features of a distilled layer.
FEATURE_COLUMNS = ('student', 'distilled', 'teacher')


def select_query(attn: Tensor, query_hw: Sequence[int],
                 query: Optional[Tuple[float, float]],
                 key_hw: Sequence[int]) -> Tensor:
    """(B, Nq, Nk) attention -> (B, *key_hw): one query row, or the mean.

    Args:
        attn (Tensor): (B, Nq, Nk) with Nq = prod(query_hw) (row-major),
            Nk = prod(key_hw).
        query_hw (Sequence[int]): The query grid (h, w).
        query (tuple, optional): Normalised (y, x) of the query in [0, 1];
            None averages over all queries.
        key_hw (Sequence[int]): The key grid (h, w).
    """
    b, nq, nk = attn.shape
    qh, qw = query_hw
    if nq != qh * qw or nk != key_hw[0] * key_hw[1]:
        raise ValueError(f'attention map {tuple(attn.shape)} does not fit '
                         f'query grid {tuple(query_hw)} and key grid '
                         f'{tuple(key_hw)}')
    if query is None:
        row = attn.mean(dim=1)
    else:
        y = min(int(query[0] * qh), qh - 1)
        x = min(int(query[1] * qw), qw - 1)
        row = attn[:, y * qw + x]
    return row.reshape(b, *key_hw)


def attention_heatmap(amap: Tensor,
                      query: Optional[Tuple[float, float]]) -> Tensor:
    """(B, G, hq, wq, hk, wk) map of a loss's ``attention_map`` -> (B, hk,
    wk): the heads averaged, then one query row or the mean over queries
    (see :func:`select_query`)."""
    b, _, hq, wq, hk, wk = amap.shape
    attn = amap.mean(dim=1).reshape(b, hq * wq, hk * wk)
    return select_query(attn, (hq, wq), query, (hk, wk))


def feature_heatmap(feature: Tensor, reduce: str = 'abs_mean') -> np.ndarray:
    """(C, H, W) -> (H, W) float array in [0, 1]."""
    return normalize(reduce_feature(feature, reduce))


def reduce_feature(feature: Tensor, reduce: str = 'abs_mean') -> np.ndarray:
    """(C, H, W) -> (H, W) float64 array: the channel reduction, unscaled."""
    if feature.dim() != 3:
        raise ValueError(f'a heat map needs a (C, H, W) feature, got '
                         f'{tuple(feature.shape)}')
    feature = feature.detach().float()
    if reduce == 'abs_mean':
        heat = feature.abs().mean(0)
    elif reduce == 'mean':
        heat = feature.mean(0)
    elif reduce == 'l2':
        heat = feature.pow(2).sum(0).sqrt()
    elif reduce == 'max':
        heat = feature.max(0).values
    else:
        raise ValueError(f'reduce must be one of {REDUCTIONS}, got '
                         f'{reduce!r}')
    return heat.cpu().numpy().astype(np.float64)


def normalize(heat: np.ndarray,
              value_range: Optional[Tuple[float, float]] = None
              ) -> np.ndarray:
    """Min-max normalisation to [0, 1] (a constant map becomes 0).

    ``value_range`` (lo, hi) maps lo to 0 and hi to 1 instead of the map's
    own minimum and maximum (a scale shared with other maps).
    """
    heat = heat.astype(np.float64)
    lo, hi = value_range or (heat.min(), heat.max())
    span = hi - lo
    return (heat - lo) / span if span > 0 else np.zeros_like(heat)


@dataclass
class DistilledLayer:
    """The student and teacher records one distillation loss compares."""
    loss_name: str
    student: Dict
    teacher: Dict

    @property
    def title(self) -> str:
        """e.g. ``loss_fpn0: neck[0]``."""
        rec = self.student
        idx = '' if rec.get('data_idx') is None else f"[{rec['data_idx']}]"
        return f"{self.loss_name}: {rec['recorder']}{idx}"


def distilled_layers(distiller: nn.Module) -> List[DistilledLayer]:
    """One entry per loss with a student and a teacher record."""
    layers = []
    for loss_name, mapping in distiller.loss_forward_mappings.items():
        student = [dict(r) for r in mapping.values() if r['from_student']]
        teacher = [dict(r) for r in mapping.values() if not r['from_student']]
        if student and teacher:
            layers.append(DistilledLayer(loss_name, student[0], teacher[0]))
    if not layers:
        raise ValueError('the distiller has no loss comparing a student and '
                         'a teacher record: nothing to visualise')
    return layers


def _shape(value) -> str:
    if isinstance(value, Tensor):
        return str(tuple(value.shape))
    return type(value).__name__


def _raw(record: Dict) -> Dict:
    """A record spec without its connector (the feature as recorded)."""
    return {
        k: v
        for k, v in record.items() if k not in ('connector', 'connector_idx')
    }


class FeatureVis:
    """Record and draw the distilled features of a distillation run.

    Args:
        config (str | Config): The distillation config.
        checkpoint (str): A checkpoint of that run (student, teacher and
            distiller weights).
        student_checkpoint (str, optional): The student trained without
            distillation (plain or exported checkpoint, or a distillation
            checkpoint whose student is taken).
        teacher_checkpoint (str, optional): Replaces the teacher weights of
            ``checkpoint`` (a plain teacher checkpoint).
        device (str): Defaults to 'cpu'.
        reduce (str): Channel reduction of the heat maps, one of
            :data:`REDUCTIONS`. Defaults to 'abs_mean'.
        query (tuple, optional): Normalised (y, x) query of the attention
            maps; None averages over all queries. Defaults to None.
        scale (str): Colour scale of the feature maps, one of
            :data:`SCALES`: 'panel' normalises each map on its own, 'row'
            the maps of a layer together. Defaults to 'panel'.
    """

    def __init__(self,
                 config,
                 checkpoint: str,
                 student_checkpoint: Optional[str] = None,
                 teacher_checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 reduce: str = 'abs_mean',
                 query: Optional[Tuple[float, float]] = None,
                 scale: str = 'panel') -> None:
        if reduce not in REDUCTIONS:
            raise ValueError(f'reduce must be one of {REDUCTIONS}, got '
                             f'{reduce!r}')
        if scale not in SCALES:
            raise ValueError(f'scale must be one of {SCALES}, got {scale!r}')
        if query is not None and not all(0 <= q <= 1 for q in query):
            raise ValueError(f'query must be a normalised (y, x) in [0, 1], '
                             f'got {query}')
        cfg = config if isinstance(config, Config) else Config.fromfile(
            config)
        if not is_distill_config(cfg):
            raise ValueError('vis_features needs a distillation config '
                             '(model.architecture and model.teacher)')
        for path in (checkpoint, student_checkpoint, teacher_checkpoint):
            if path is not None and not osp.isfile(path):
                raise FileNotFoundError(f'checkpoint "{path}" does not exist')
        self.cfg = cfg
        self.reduce = reduce
        self.query = query
        self.scale = scale
        init_default_scope(cfg.get('default_scope') or 'mmrazor')
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.teacher_ckpt = None  # the checkpoint holds the teacher
        allow_random_teacher(model_cfg)
        algorithm = MODELS.build(model_cfg)
        ckpt = load_checkpoint_file(checkpoint)
        state = ckpt.get('state_dict', ckpt)
        check_state_dict(algorithm, state, checkpoint)
        algorithm.load_state_dict(state, strict=True)
        if teacher_checkpoint is not None:
            t_state, _ = load_state_dict(teacher_checkpoint)
            check_state_dict(algorithm.teacher, t_state, teacher_checkpoint)
            algorithm.teacher.load_state_dict(t_state, strict=True)
        algorithm.to(device)
        algorithm.eval()  # mmrazor's train() does not return self
        self.algorithm = algorithm
        self.device = device
        self.distilled_state = {
            k: v.clone()
            for k, v in algorithm.architecture.state_dict().items()
        }
        self.baseline_state = None
        if student_checkpoint is not None:
            s_state, _ = load_state_dict(student_checkpoint)
            check_state_dict(algorithm.architecture, s_state,
                             student_checkpoint)
            self.baseline_state = s_state
        self.layers = distilled_layers(algorithm.distiller)
        self.pipeline = Compose(self._pipeline_cfg())

    def _pipeline_cfg(self) -> List[Dict]:
        """The test pipeline without annotation loading."""
        key = ('test_dataloader'
               if self.cfg.get('test_dataloader') else 'val_dataloader')
        ds, _ = pipeline_dataset(self.cfg[key].dataset, f'{key}.dataset')
        return [
            copy.deepcopy(t) for t in ds.pipeline
            if 'LoadAnnotations' not in str(t['type'])
        ]

    def _batch(self, img_path: str) -> Dict:
        data = self.pipeline(dict(img_path=img_path, img_id=0))
        return self.algorithm.data_preprocessor(pseudo_collate([data]),
                                                False)

    @torch.no_grad()
    def _record(self, batch: Dict, student: bool, teacher: bool) -> Dict:
        """Run the models; return {loss_name: (s_raw, t_raw, s_in, t_in)}."""
        distiller = self.algorithm.distiller
        with distiller.student_recorders, distiller.teacher_recorders:
            if student:
                self.algorithm.architecture(
                    batch['inputs'], batch['data_samples'], mode='tensor')
            if teacher:
                self.algorithm.teacher(
                    batch['inputs'], batch['data_samples'], mode='tensor')
            out = {}
            for layer in self.layers:
                out[layer.loss_name] = (
                    distiller.get_record(**_raw(layer.student))
                    if student else None,
                    distiller.get_record(**_raw(layer.teacher))
                    if teacher else None,
                    distiller.get_record(**layer.student)
                    if student else None,
                    distiller.get_record(**layer.teacher)
                    if teacher else None)
        return out

    def _attention(self, layer: DistilledLayer, s_in: Tensor,
                   t_in: Tensor) -> Optional[np.ndarray]:
        loss = self.algorithm.distiller.distill_losses[layer.loss_name]
        if not hasattr(loss, 'attention_map') or not isinstance(
                s_in, Tensor) or s_in.dim() != 4:
            return None
        with torch.no_grad():
            amap = attention_heatmap(loss.attention_map(s_in, t_in),
                                     self.query)
        return normalize(amap[0].float().cpu().numpy())

    def _normalize_row(self, row: Dict) -> None:
        """Scale a row's feature maps to [0, 1], alone or together."""
        maps = [row[k] for k in FEATURE_COLUMNS if row[k] is not None]
        row['range'] = None
        if self.scale == 'row' and maps:
            row['range'] = (float(min(m.min() for m in maps)),
                            float(max(m.max() for m in maps)))
        for key in FEATURE_COLUMNS:
            if row[key] is not None:
                row[key] = normalize(row[key], row['range'])

    def compute(self, img_path: str) -> Dict:
        """Heat maps of one image.

        Returns:
            dict: ``image`` (H, W, 3 uint8 RGB, as fed to the model, unpadded)
            and ``rows``: per distilled layer a dict with ``title`` and the
            maps ``student`` (if a baseline is given), ``distilled``,
            ``teacher`` and ``attention`` (if the loss has one), each an
            (h, w) array in [0, 1] or None, and ``range``: with
            ``scale='row'`` the (min, max) of the row's feature maps before
            normalisation (0 and 1 of the maps), else None.
        """
        batch = self._batch(img_path)
        meta = batch['data_samples'][0].metainfo
        img_hw = meta.get('img_shape', batch['inputs'].shape[-2:])[:2]
        pad_hw = batch['inputs'].shape[-2:]
        arch = self.algorithm.architecture
        records = self._record(batch, student=True, teacher=True)
        baseline = None
        if self.baseline_state is not None:
            arch.load_state_dict(self.baseline_state, strict=True)
            try:
                baseline = self._record(batch, student=True, teacher=False)
            finally:
                arch.load_state_dict(self.distilled_state, strict=True)

        def heat(feat) -> Optional[np.ndarray]:
            if not isinstance(feat, Tensor) or feat.dim() != 4:
                return None
            fh, fw = feat.shape[-2:]
            h = max(1, round(fh * img_hw[0] / pad_hw[0]))
            w = max(1, round(fw * img_hw[1] / pad_hw[1]))
            return reduce_feature(feat[0, :, :h, :w], self.reduce)

        rows = []
        for layer in self.layers:
            s_raw, t_raw, s_in, t_in = records[layer.loss_name]
            rows.append(
                dict(
                    title=layer.title,
                    student=heat(baseline[layer.loss_name][0])
                    if baseline else None,
                    distilled=heat(s_raw),
                    teacher=heat(t_raw),
                    attention=self._attention(layer, s_in, t_in)))
        for row in rows:
            self._normalize_row(row)
        if all(r['distilled'] is None and r['teacher'] is None
               for r in rows):
            shapes = {
                layer.loss_name: _shape(records[layer.loss_name][0])
                for layer in self.layers
            }
            raise ValueError(
                'no distilled layer is a (B, C, H, W) feature map (e.g. '
                f'the losses compare logits): {shapes}')
        image = batch['inputs'][0].permute(1, 2, 0).cpu().numpy()
        image = image[:img_hw[0], :img_hw[1]]
        # Undo the normalisation for display.
        dp = self.algorithm.data_preprocessor
        if hasattr(dp, 'mean') and getattr(dp, 'mean', None) is not None:
            mean = dp.mean.view(-1).cpu().numpy()
            std = dp.std.view(-1).cpu().numpy()
            image = image * std + mean
        if not getattr(dp, '_channel_conversion', False):
            image = image[..., ::-1]  # BGR as loaded -> RGB
        image = np.clip(image, 0, 255).astype(np.uint8)
        return dict(image=np.ascontiguousarray(image), rows=rows)

    def figure(self, maps: Dict, alpha: float = 0.5):
        """The grid of ``maps`` (from :meth:`compute`) with its colour bars.

        One colour bar for the figure when each panel has its own scale
        (``scale='panel'``), one per row in the reduction's units when the
        feature maps of a row share a scale (``scale='row'``).

        Returns:
            matplotlib.figure.Figure: Close it after use.
        """
        import cv2
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        rows = maps['rows']
        cols = [('image', 'image')]
        if any(r['student'] is not None for r in rows):
            cols.append(('student', 'student'))
        cols += [('distilled', 'distilled student'), ('teacher', 'teacher')]
        if any(r['attention'] is not None for r in rows):
            where = 'mean over queries' if self.query is None else \
                f'query (y, x)={tuple(self.query)}'
            if self.scale == 'row':
                where += '; own scale'
            cols.append(('attention', f'attention ({where})'))
        image = maps['image']
        h, w = image.shape[:2]
        cmap = plt.get_cmap('jet')
        fig, axes = plt.subplots(
            len(rows), len(cols),
            figsize=(2.4 * len(cols) + 1.2, 2.4 * len(rows) + 0.4),
            squeeze=False, layout='constrained')
        for r, row in enumerate(rows):
            for c, (key, title) in enumerate(cols):
                ax = axes[r][c]
                ax.axis('off')
                if key == 'image':
                    ax.imshow(image)
                    ax.set_title(row['title'], fontsize=7)
                    continue
                if row[key] is None:
                    continue
                heat = cv2.resize(row[key].astype(np.float32), (w, h),
                                  interpolation=cv2.INTER_LINEAR)
                color = (cmap(heat)[..., :3] * 255).astype(np.float32)
                ax.imshow(((1 - alpha) * image + alpha * color).astype(
                    np.uint8))
                if r == 0:
                    ax.set_title(title, fontsize=8)
            if self.scale == 'row' and row['range'] is not None:
                bar = fig.colorbar(
                    ScalarMappable(Normalize(*row['range']), cmap),
                    ax=axes[r].tolist(), fraction=0.03, pad=0.01)
                bar.set_label(f'{self.reduce}, one scale per row',
                              fontsize=7)
                bar.ax.tick_params(labelsize=6)
        if self.scale == 'panel':
            bar = fig.colorbar(
                ScalarMappable(Normalize(0, 1), cmap),
                ax=axes.ravel().tolist(), fraction=0.03, pad=0.01)
            bar.set_label('min-max normalised per panel', fontsize=8)
            note = (f'{self.reduce} of the features; each panel on its own '
                    'scale')
        else:
            note = (f'{self.reduce} of the features; one scale per row '
                    '(attention: per panel)')
        fig.suptitle(f'{note}; overlay alpha {alpha}', fontsize=8)
        return fig

    def draw(self, maps: Dict, out_file: str, alpha: float = 0.5) -> str:
        """Write :meth:`figure` of ``maps`` as a PNG."""
        import matplotlib.pyplot as plt
        fig = self.figure(maps, alpha)
        os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
        fig.savefig(out_file, dpi=100)
        plt.close(fig)
        return out_file

    def run(self, img_paths: Sequence[str], out_dir: str) -> List[str]:
        """One PNG per image in ``out_dir`` (``{image stem}_features.png``).
        """
        missing = [p for p in img_paths if not osp.isfile(p)]
        if missing:
            raise FileNotFoundError(f'image(s) not found: {missing}')
        outs: List[str] = []
        for i, path in enumerate(img_paths):
            stem = osp.splitext(osp.basename(path))[0]
            if any(osp.basename(o) == f'{stem}_features.png' for o in outs):
                stem = f'{stem}_{i}'
            outs.append(
                self.draw(self.compute(path),
                          osp.join(out_dir, f'{stem}_features.png')))
        return outs
