# Copyright (c) mmkd_ext contributors. All rights reserved.
"""Offline teacher statistics of letKD (the work of tools/letkd_prepare.py).

letKD quantises the teacher's feature space once, before training
(supplement Alg. 1 and 2):

* penultimate target: K-means centers of the teacher's pixel vectors;
* intermediate target (letKD-2): an LDA projection fitted on pixel vectors
  labelled with their image (or pixel) label, per-class K-means into S
  sub-classes, the sub-class mean "prototypes" and the score table
  :math:`s_T[a, b]` = share of sub-class a's pixels whose nearest prototype
  (over all classes, labels ignored) is b.

At ImageNet scale the teacher's layer-4 pixels do not fit in memory
(1.28M images x 49 pixels), so :class:`LetKDPreparer` streams the training
set (test-time transform) through the teacher twice:

1. pass 1 keeps a uniform random subsample of about ``max_vectors`` pixel
   vectors per target (every pixel draws a seeded key; the ``max_vectors``
   smallest keys are kept, so the sample does not depend on the number of
   processes), on which K-means and the LDA are fitted (rank 0);
2. pass 2 (intermediate targets only) assigns every pixel to its sub-class
   and to its nearest prototype and counts the pairs, which gives
   :math:`s_T`.

Each pass works on chunks of consecutive images, spread over the processes
of mmengine's launcher, and caches every finished chunk in the work
directory: a crashed run resumes where it stopped. The result is one file,
see :func:`~mmkd_ext.letkd.save_letkd_targets`.
"""
import copy
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dist import barrier, get_dist_info
from mmengine.utils import ProgressBar
from torch import Tensor

from mmkd_ext.models.losses.letkd import LetKDIntermediateTarget, pool_teacher
from mmkd_ext.utils import (
    iter_dataset_cfgs,
    json_dump_atomically,
    torch_save_atomically,
)

from .labels import pixel_labels
from .targets_file import (
    normalize_target_spec,
    save_letkd_targets,
    teacher_checksum,
)

_CACHE_VERSION = 1


def fit_kmeans_centers(x: np.ndarray,
                       num_centers: int,
                       seed: int = 0,
                       batch_size: int = 4096,
                       max_iter: int = 20) -> Tensor:
    """K-means centers with scikit-learn's ``MiniBatchKMeans``.

    Args:
        x (np.ndarray): (n, D) vectors.
        num_centers (int): K.
        seed (int): ``random_state``.
        batch_size (int): Mini-batch size.
        max_iter (int): Maximum number of passes over ``x``.

    Returns:
        Tensor: (K, D) float32 centers.
    """
    from sklearn.cluster import MiniBatchKMeans
    if x.shape[0] < num_centers:
        raise ValueError(f'K-means: {x.shape[0]} vectors for {num_centers} '
                         'centers; use more images or a larger --max-vectors')
    km = MiniBatchKMeans(
        n_clusters=num_centers,
        batch_size=batch_size,
        max_iter=max_iter,
        n_init=1,
        random_state=seed)
    km.fit(x)
    return torch.from_numpy(km.cluster_centers_).float()


def fit_lda(x: np.ndarray, y: np.ndarray,
            lda_dim: int) -> Tuple[Tensor, Tensor]:
    """LDA projection with scikit-learn's ``LinearDiscriminantAnalysis``
    (solver 'svd').

    Returns:
        tuple: W (d, D) and b (d, ) such that ``x @ W.T + b`` equals
        ``lda.transform(x)`` (d = ``lda_dim`` unless the data have a lower
        rank).
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    num_present = len(np.unique(y))
    if lda_dim > num_present - 1:
        raise ValueError(f'LDA: lda_dim={lda_dim} needs at least '
                         f'{lda_dim + 1} classes in the sample, got '
                         f'{num_present}')
    lda = LinearDiscriminantAnalysis(n_components=lda_dim).fit(x, y)
    scalings = np.asarray(lda.scalings_, dtype=np.float64)
    weight = scalings[:, :lda_dim].T
    bias = -weight @ np.asarray(lda.xbar_, dtype=np.float64)
    return torch.from_numpy(weight).float(), torch.from_numpy(bias).float()


def fit_subclasses(z: Tensor,
                   y: Tensor,
                   num_classes: int,
                   num_subclasses: int = 8,
                   seed: int = 0) -> Tuple[Tensor, Tensor]:
    """Per-class K-means of LDA features and the sub-class prototypes.

    Args:
        z (Tensor): (n, d) LDA features.
        y (Tensor): (n, ) labels in [0, num_classes).
        num_classes (int): C.
        num_subclasses (int): S.
        seed (int): ``random_state`` of scikit-learn's ``KMeans``.

    Returns:
        tuple: centers (C * S, d) (class-major: index c * S + k) and
        prototypes (C * S, d), the mean of the vectors whose label-restricted
        nearest center is that sub-class (the center itself if none).
    """
    from sklearn.cluster import KMeans
    counts = torch.bincount(y, minlength=num_classes)
    few = (counts < num_subclasses).nonzero().flatten().tolist()
    if few:
        raise ValueError(
            f'per-class K-means: classes {few[:10]} have fewer than '
            f'{num_subclasses} sampled vectors ({counts[few[:10]].tolist()});'
            ' use more images or a larger --max-vectors')
    d = z.shape[1]
    centers = torch.zeros(num_classes * num_subclasses, d)
    z64 = z.double().numpy()
    for c in range(num_classes):
        km = KMeans(n_clusters=num_subclasses, n_init=10, random_state=seed)
        km.fit(z64[(y == c).numpy()])
        centers[c * num_subclasses:(c + 1) * num_subclasses] = \
            torch.from_numpy(km.cluster_centers_).float()
    target = LetKDIntermediateTarget(
        torch.eye(d), torch.zeros(d), centers,
        torch.eye(num_classes * num_subclasses), num_subclasses)
    sub = target.assign(z.float(), y)
    sums = torch.zeros_like(centers, dtype=torch.float64)
    sums.index_add_(0, sub, z.double())
    n = torch.bincount(sub, minlength=centers.shape[0]).unsqueeze(1)
    prototypes = torch.where(n > 0, sums / n.clamp(min=1), centers.double())
    return centers, prototypes.float()


def nearest_prototype(z: Tensor, prototypes: Tensor,
                      chunk: int = 8192) -> Tensor:
    """Index of the nearest prototype of each row (float64 distances),
    (n, d) x (P, d) -> (n, )."""
    p = prototypes.double()
    p2 = (p**2).sum(1)
    out = [(p2 - 2 * zc.double() @ p.t()).argmin(1)
           for zc in z.split(chunk)]
    return torch.cat(out) if out else z.new_zeros(0, dtype=torch.long)


def score_table(counts: Tensor) -> Tuple[Tensor, int]:
    """Row-normalize sub-class x prototype counts into :math:`s_T`.

    Rows without pixels become the one-hot row of their own sub-class (as in
    the authors' code).

    Returns:
        tuple: :math:`s_T` (float32) and the number of empty rows.
    """
    counts = counts.double()
    rows = counts.sum(1, keepdim=True)
    empty = rows.squeeze(1) == 0
    table = counts / rows.clamp(min=1)
    table[empty] = torch.eye(counts.shape[0], dtype=table.dtype)[empty]
    return table.float(), int(empty.sum())


def _select_outputs(output, index: Optional[List[int]], name: str,
                    path: str) -> List[Tensor]:
    if index is None:
        if not isinstance(output, Tensor):
            raise TypeError(f'letKD target "{name}": teacher module "{path}" '
                            f'returns {type(output).__name__}; set '
                            '`teacher_index`')
        return [output]
    return [output[i] for i in index]


class LetKDPreparer:
    """Compute the letKD targets file of a distillation config.

    The config provides ``letkd_file`` (output path), ``letkd_targets``
    (``{name: target description}``, see
    :func:`~mmkd_ext.letkd.normalize_target_spec`),
    ``model.teacher`` / ``model.teacher_ckpt``, the data preprocessor
    (``model.data_preprocessor``, else the student's, as in mmrazor) and the
    training set, which is read with the test-time pipeline
    (``test_dataloader``'s, else ``val_dataloader``'s).

    Args:
        cfg (Config): The distillation config.
        work_dir (str): Folder of the per-chunk caches (must be shared by
            all processes).
        max_vectors (int): Vectors kept per target for the fits.
            Defaults to 2,000,000.
        seed (int): Seed of the subsample and of K-means. Defaults to 0.
        chunk_size (int): Images per cached chunk. Defaults to 5000.
        batch_size (int, optional): Images per teacher forward (default:
            the test dataloader's).
        num_workers (int, optional): Dataloader workers (default: the test
            dataloader's).
        kmeans_batch_size (int): ``MiniBatchKMeans`` batch size.
        kmeans_max_iter (int): ``MiniBatchKMeans`` passes.
        oversample (float): Pass 1 keeps about ``oversample * max_vectors``
            vectors (the image sizes are estimated from the first image)
            and then the ``max_vectors`` smallest keys. Defaults to 1.25.
    """

    def __init__(self,
                 cfg: Config,
                 work_dir: str,
                 max_vectors: int = 2_000_000,
                 seed: int = 0,
                 chunk_size: int = 5000,
                 batch_size: Optional[int] = None,
                 num_workers: Optional[int] = None,
                 kmeans_batch_size: int = 4096,
                 kmeans_max_iter: int = 20,
                 oversample: float = 1.25) -> None:
        for key in ('letkd_file', 'letkd_targets'):
            if key not in cfg:
                raise KeyError(f'the config has no `{key}`: it is not a '
                               'letKD config')
        if max_vectors < 1 or chunk_size < 1:
            raise ValueError('max_vectors and chunk_size must be positive')
        self.cfg = cfg
        self.out_file = cfg.letkd_file
        self.specs = {
            name: normalize_target_spec(name, dict(spec))
            for name, spec in cfg.letkd_targets.items()
        }
        self.work_dir = work_dir
        self.max_vectors = int(max_vectors)
        self.seed = int(seed)
        self.chunk_size = int(chunk_size)
        loader_cfg = cfg.get('test_dataloader') or cfg.val_dataloader
        self.batch_size = batch_size or loader_cfg.get('batch_size', 1)
        self.num_workers = (num_workers if num_workers is not None else
                            loader_cfg.get('num_workers', 0))
        self.kmeans_batch_size = kmeans_batch_size
        self.kmeans_max_iter = kmeans_max_iter
        self.oversample = oversample
        self.rank, self.world_size = get_dist_info()
        self.device = (torch.device('cuda', torch.cuda.current_device())
                       if torch.cuda.is_available() else torch.device('cpu'))
        self.teacher_ckpt = cfg.model.get('teacher_ckpt')

    # ------------------------------------------------------------ building
    def _build(self) -> None:
        from mmengine.registry import DATASETS, init_default_scope
        from mmengine.runner import load_checkpoint
        from mmrazor.registry import MODELS
        cfg = self.cfg
        init_default_scope(cfg.get('default_scope', 'mmrazor'))
        teacher = MODELS.build(copy.deepcopy(cfg.model.teacher))
        if self.teacher_ckpt:
            load_checkpoint(teacher, self.teacher_ckpt, map_location='cpu')
        self.teacher = teacher.to(self.device).eval()
        dp_cfg = cfg.model.get('data_preprocessor') or cfg.get(
            'data_preprocessor')
        if dp_cfg is None:
            student = MODELS.build(copy.deepcopy(cfg.model.architecture))
            preprocessor = student.data_preprocessor
        else:
            dp_cfg = dict(copy.deepcopy(dp_cfg))
            dp_cfg.setdefault('type', 'BaseDataPreprocessor')
            preprocessor = MODELS.build(dp_cfg)
        self.preprocessor = preprocessor.to(self.device).eval()
        self.dataset = DATASETS.build(self._dataset_cfg())
        self.modules = {}
        names = dict(self.teacher.named_modules())
        for name, spec in self.specs.items():
            if spec['teacher_module'] not in names:
                raise KeyError(f'letKD target "{name}": teacher module '
                               f'"{spec["teacher_module"]}" does not exist')
            self.modules[name] = names[spec['teacher_module']]

    def _dataset_cfg(self) -> dict:
        cfg = self.cfg
        loader_cfg = cfg.get('test_dataloader') or cfg.val_dataloader
        pipeline = copy.deepcopy(loader_cfg.dataset.pipeline)
        ds = copy.deepcopy(cfg.train_dataloader.dataset)
        for _, inner in iter_dataset_cfgs(ds, 'train_dataloader.dataset'):
            inner['pipeline'] = copy.deepcopy(pipeline)
        return ds

    def _loader(self, indices: List[int]):
        from mmengine.dataset import pseudo_collate
        from torch.utils.data import DataLoader, Subset
        return DataLoader(
            Subset(self.dataset, indices),
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            shuffle=False,
            collate_fn=pseudo_collate)

    @torch.no_grad()
    def _teacher_maps(self, data: dict) -> Tuple[Dict[str, list], list]:
        """Teacher maps per target (list of pooled levels, each (N, D, h,
        w)) and the data samples of a collated batch."""
        records: Dict[str, object] = {}
        handles = [
            module.register_forward_hook(
                lambda m, i, o, name=name: records.__setitem__(name, o))
            for name, module in self.modules.items()
        ]
        try:
            data = self.preprocessor(data, False)
            self.teacher(data['inputs'], data['data_samples'], mode='tensor')
        finally:
            for handle in handles:
                handle.remove()
        maps = {}
        for name, spec in self.specs.items():
            levels = _select_outputs(records[name], spec['teacher_index'],
                                     name, spec['teacher_module'])
            for level in levels:
                if level.shape[1] != spec['channels']:
                    raise ValueError(
                        f'letKD target "{name}": teacher module '
                        f'"{spec["teacher_module"]}" gives {level.shape[1]} '
                        f'channels, the config says {spec["channels"]}')
            maps[name] = [
                pool_teacher(level.float(), spec['pool']) for level in levels
            ]
        return maps, data['data_samples']

    def _pixels(self, name: str, level: Tensor,
                sample) -> Tuple[Tensor, Optional[Tensor]]:
        """(D, h, w) map -> (h * w, D) vectors and labels (-1: ignored)."""
        spec = self.specs[name]
        vectors = level.flatten(1).t()
        if spec['kind'] == 'penultimate':
            return vectors, None
        labels = pixel_labels([sample], tuple(level.shape[1:]),
                              spec['num_classes'], spec['ignore_index'])
        return vectors, labels.reshape(-1).to(vectors.device)

    # ------------------------------------------------------------- helpers
    def _chunks(self) -> List[List[int]]:
        n = len(self.dataset)
        return [
            list(range(lo, min(lo + self.chunk_size, n)))
            for lo in range(0, n, self.chunk_size)
        ]

    def _my_chunks(self) -> List[Tuple[int, List[int]]]:
        return [(c, idx) for c, idx in enumerate(self._chunks())
                if c % self.world_size == self.rank]

    def _generator(self, image_index: int) -> torch.Generator:
        seed = (self.seed * 1_000_003 + image_index) % (2**63 - 1)
        return torch.Generator().manual_seed(seed)

    def _log(self, msg: str) -> None:
        if self.rank == 0:
            print(f'[letkd_prepare] {msg}', flush=True)

    def _run_pass(self, tag: str, fn) -> None:
        """Run ``fn(indices) -> cache`` on this rank's unfinished chunks."""
        folder = osp.join(self.work_dir, tag)
        os.makedirs(folder, exist_ok=True)
        todo = []
        for c, idx in self._my_chunks():
            path = osp.join(folder, f'chunk_{c:05d}.pth')
            if not osp.isfile(path):
                todo.append((path, idx))
        done = sum(len(idx) for _, idx in self._my_chunks()) - sum(
            len(idx) for _, idx in todo)
        self._log(f'{tag}: {len(todo)} chunks to run on rank 0 '
                  f'({done} images already cached)')
        bar = ProgressBar(sum(len(i) for _, i in todo)) \
            if self.rank == 0 and todo else None
        for path, idx in todo:
            torch_save_atomically(fn(idx, bar), path)
        barrier()

    def _load_chunks(self, tag: str) -> List[dict]:
        folder = osp.join(self.work_dir, tag)
        return [
            torch.load(osp.join(folder, f'chunk_{c:05d}.pth'),
                       map_location='cpu', weights_only=True)
            for c in range(len(self._chunks()))
        ]

    # ------------------------------------------------------------- passes
    def _probe_rates(self) -> Dict[str, float]:
        """Keep-probability per target from the first image's map sizes."""
        data = next(iter(self._loader([0])))
        maps, _ = self._teacher_maps(data)
        rates = {}
        for name, levels in maps.items():
            per_image = sum(level.shape[2] * level.shape[3]
                            for level in levels)
            total = per_image * len(self.dataset)
            rates[name] = min(1.0,
                              self.oversample * self.max_vectors / total)
        return rates

    def _check_meta(self) -> None:
        meta = dict(
            cache_version=_CACHE_VERSION,
            teacher_checksum=self.checksum,
            specs=self.specs,
            max_vectors=self.max_vectors,
            seed=self.seed,
            chunk_size=self.chunk_size,
            num_images=len(self.dataset),
            oversample=self.oversample)
        path = osp.join(self.work_dir, 'meta.json')
        if self.rank == 0 and not osp.isfile(path):
            meta['rates'] = self._probe_rates()
            json_dump_atomically(meta, path)
        barrier()
        with open(path) as f:
            saved = json.load(f)
        diffs = [k for k in meta if saved.get(k) != meta[k]]
        if diffs:
            raise ValueError(
                f'the caches in "{self.work_dir}" were made with other '
                f'settings ({diffs} differ); use another --work-dir or '
                'delete it')
        self.rates = saved['rates']

    def _pass1_chunk(self, indices: List[int], bar) -> dict:
        keep = {n: dict(feats=[], keys=[], labels=[]) for n in self.specs}
        totals = {n: 0 for n in self.specs}
        start = 0
        for data in self._loader(indices):
            maps, samples = self._teacher_maps(data)
            for j, sample in enumerate(samples):
                gen = self._generator(indices[start + j])
                for name, levels in maps.items():
                    threshold = self.rates[name]
                    for level in levels:
                        vec, lab = self._pixels(name, level[j], sample)
                        keys = torch.rand(vec.shape[0], generator=gen)
                        mask = keys < threshold
                        if lab is not None:
                            valid = lab.cpu() >= 0
                            totals[name] += int(valid.sum())
                            mask &= valid
                            keep[name]['labels'].append(lab.cpu()[mask])
                        else:
                            totals[name] += vec.shape[0]
                        keep[name]['feats'].append(vec.cpu()[mask])
                        keep[name]['keys'].append(keys[mask])
            start += len(samples)
            if bar is not None:
                bar.update(len(samples))
        out = dict(totals=totals, targets={})
        for name, parts in keep.items():
            out['targets'][name] = {
                k: torch.cat(v) if v else torch.zeros(0)
                for k, v in parts.items()
            }
        return out

    def _fit(self) -> dict:
        chunks = self._load_chunks('pass1')
        fits = {}
        for name, spec in self.specs.items():
            parts = [c['targets'][name] for c in chunks]
            feats = torch.cat([p['feats'] for p in parts])
            keys = torch.cat([p['keys'] for p in parts])
            total = sum(c['totals'][name] for c in chunks)
            sel = None
            if keys.numel() > self.max_vectors:
                sel = keys.topk(self.max_vectors, largest=False).indices
                sel = sel.sort().values
                feats = feats[sel]
            self._log(f'fitting target "{name}" ({spec["kind"]}) on '
                      f'{feats.shape[0]} of {total} vectors')
            fit = dict(fit_vectors=feats.shape[0], total_vectors=total)
            x = feats.numpy()
            if spec['kind'] == 'penultimate':
                fit['centers'] = fit_kmeans_centers(
                    x, spec['num_templates'], self.seed,
                    self.kmeans_batch_size, self.kmeans_max_iter)
            else:
                labels = torch.cat([p['labels'] for p in parts])
                if sel is not None:
                    labels = labels[sel]
                weight, bias = fit_lda(x, labels.numpy(), spec['lda_dim'])
                z = feats @ weight.t() + bias
                centers, prototypes = fit_subclasses(
                    z, labels, spec['num_classes'], spec['num_subclasses'],
                    self.seed)
                fit.update(
                    lda_weight=weight,
                    lda_bias=bias,
                    centers=centers,
                    prototypes=prototypes)
            fits[name] = fit
        return fits

    def _pass2_chunk(self, indices: List[int], bar) -> dict:
        pairs = {n: [] for n in self.inter}
        for data in self._loader(indices):
            maps, samples = self._teacher_maps(data)
            for name, target in self.inter.items():
                k = target.score_table.shape[0]
                prototypes = self.fits[name]['prototypes'].to(self.device)
                for j, sample in enumerate(samples):
                    for level in maps[name]:
                        vec, lab = self._pixels(name, level[j], sample)
                        valid = lab >= 0
                        z = target.project(vec[valid])
                        sub = target.assign(z, lab[valid])
                        near = nearest_prototype(z, prototypes)
                        pairs[name].append((sub * k + near).cpu())
            if bar is not None:
                bar.update(len(samples))
        out = {}
        for name, parts in pairs.items():
            index, counts = torch.cat(parts).unique(return_counts=True) \
                if parts else (torch.zeros(0, dtype=torch.long),) * 2
            out[name] = dict(index=index, counts=counts)
        return out

    # ---------------------------------------------------------------- run
    def run(self) -> str:
        """Run both passes and write the targets file; returns its path."""
        self.checksum = teacher_checksum(self.teacher_ckpt)
        self._build()
        failed = osp.join(self.work_dir, 'fit.pth.failed')
        if self.rank == 0 and osp.isfile(failed):
            os.remove(failed)  # from an earlier run; _check_meta syncs
        self._check_meta()
        self._run_pass('pass1', self._pass1_chunk)
        fit_path = osp.join(self.work_dir, 'fit.pth')
        if self.rank == 0:
            if not osp.isfile(fit_path):
                self._fit_on_rank0(fit_path)
        else:
            self._wait_for_fit(fit_path)
        self.fits = torch.load(fit_path, map_location='cpu',
                               weights_only=True)
        self.inter = nn.ModuleDict({
            name: LetKDIntermediateTarget(
                fit['lda_weight'], fit['lda_bias'], fit['centers'],
                torch.zeros(fit['centers'].shape[0], 1),
                self.specs[name]['num_subclasses'])
            for name, fit in self.fits.items()
            if self.specs[name]['kind'] == 'intermediate'
        }).to(self.device)
        if len(self.inter):
            self._run_pass('pass2', self._pass2_chunk)
        if self.rank == 0:
            self._write()
        barrier()
        return self.out_file

    def _fit_on_rank0(self, fit_path: str) -> None:
        failed = f'{fit_path}.failed'
        try:
            torch_save_atomically(self._fit(), fit_path)
        except Exception as err:
            with open(failed, 'w') as f:
                f.write(f'{type(err).__name__}: {err}')
            raise

    def _wait_for_fit(self, fit_path: str) -> None:
        """The fits may take longer than a collective's timeout: the other
        ranks poll the file system instead of waiting in a barrier."""
        while not osp.isfile(fit_path):
            if osp.isfile(f'{fit_path}.failed'):
                with open(f'{fit_path}.failed') as f:
                    raise RuntimeError(f'rank 0 failed to fit: {f.read()}')
            time.sleep(5)

    def _write(self) -> None:
        targets = {}
        pass2 = self._load_chunks('pass2') if len(self.inter) else []
        for name, spec in self.specs.items():
            fit = self.fits[name]
            stats = dict(
                fit_vectors=fit['fit_vectors'],
                total_vectors=fit['total_vectors'])
            if spec['kind'] == 'penultimate':
                tensors = dict(centers=fit['centers'])
            else:
                k = spec['num_templates']
                counts = torch.zeros(k * k, dtype=torch.float64)
                for chunk in pass2:
                    counts.index_add_(0, chunk[name]['index'],
                                      chunk[name]['counts'].double())
                table, empty = score_table(counts.view(k, k))
                stats.update(
                    counted_vectors=int(counts.sum()), empty_rows=empty)
                tensors = {
                    key: fit[key]
                    for key in ('lda_weight', 'lda_bias', 'centers',
                                'prototypes')
                }
                tensors['score_table'] = table
            targets[name] = dict(spec=spec, tensors=tensors, stats=stats)
            self._log(f'target "{name}": {stats}')
        meta = dict(
            config=self.cfg.filename,
            max_vectors=self.max_vectors,
            seed=self.seed,
            num_images=len(self.dataset),
            pipeline='test-time')
        save_letkd_targets(self.out_file, targets, self.teacher_ckpt, meta)
        self._log(f'wrote {self.out_file}')
