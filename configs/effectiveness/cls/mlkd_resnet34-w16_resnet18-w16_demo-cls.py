# Effectiveness grid, classification grid: MLKD, the real config (CE weight,
# temperatures, weak / strong views through MultiViewDistill) with its two
# views made for the 32x32 crops (the grid's crop + flip as the weak view, plus
# FixMatch's RandAugment for the strong view); the MLKD weight is below.
_base_ = [
    '../../mlkd/mlkd_logits_resnet34_resnet18_8xb64-100e_in1k.py',
    './_base_/resnet-cifar-w16_demo-cls.py'
]

weak_view = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
strong_view = weak_view + [
    dict(type='FixMatchRandAugment', num_ops=2, cutout_max=0.5)
]
# Loss weights chosen on the held-out split (tools/effectiveness_grid.py
# --holdout --task cls --seeds 1 --methods mlkd [--cfg-options ...]: trained
# on train_fit, tested on train_holdout, seed 0; the student alone 30.56,
# the teacher 52.22 top-1 %; one seed, so differences of ~3 points are
# noise):
# the authors' ImageNet weights (CE 0.5, MLKD 0.5) 30.56 (= the student
# alone); MLKD 0.05: 33.33 (chosen). The MLKD term sums 15 KL terms (3
# levels x 5 temperatures, each scaled by T^2) and starts 6.9x the task
# loss; on the reported split at 0.5 the student stayed at chance.
model = dict(
    architecture=_base_.bench_student_override,
    teacher=dict(_delete_=True, **_base_.bench_teacher),
    teacher_ckpt=None,  # the grid tool passes its trained teacher
    data_preprocessor=_base_.bench_data_preprocessor,
    distiller=dict(
        distill_losses=dict(loss_mlkd=dict(loss_weight=0.05))))
train_dataloader = dict(
    _base_.bench_train_dataloader,
    dataset=dict(
        _base_.bench_train_dataloader.dataset,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(
                type='MultiView',
                num_views=[1, 1],
                transforms=[weak_view, strong_view]),
            dict(type='PackInputs'),
        ]))
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = _base_.bench_train_cfg
default_hooks = _base_.bench_default_hooks
