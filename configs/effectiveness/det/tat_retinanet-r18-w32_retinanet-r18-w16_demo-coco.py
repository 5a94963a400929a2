# Effectiveness grid, detection grid (RetinaNet): TaT on FPN levels, the real
# config (patch-group + anchor-point on P3 / P4, one-to-all on P5 / P6, weights
# 1) with 64 channels and the counts for the 128 x 128 images, keeping the real
# patch and group sizes: P3 16 x 16 in 4 x 4 patches of 4 x 4 positions, 4
# patches per group, 4 x 4 anchors; P4 8 x 8 in 2 x 2 patches, one group, 2 x 2
# anchors. P7 is 1 x 1 here (one position: no attention), so its term is
# dropped.
_base_ = [
    '../../tat/tat_fpn_retinanet-r101_retinanet-r50_8xb2-2x_coco.py',
    '../../demo/_base_/retinanet_r18-tiny.py',
    './_base_/demo-coco.py'
]

_real = _base_.model.distiller
model = dict(
    architecture=dict(_delete_=True, **_base_.student_model),
    teacher=dict(_delete_=True, **_base_.teacher_model),
    teacher_ckpt=None,  # the grid tool passes its teacher
    distiller=dict(
        distill_losses=dict(
            _delete_=True,
            loss_tat_p3=dict(
                _real.distill_losses.loss_tat_p3,
                student_channels=64,
                teacher_channels=64,
                patch_counts=4,
                groups=4,
                anchor_counts=4),
            loss_tat_p4=dict(
                _real.distill_losses.loss_tat_p4,
                student_channels=64,
                teacher_channels=64,
                patch_counts=2,
                groups=1,
                anchor_counts=2),
            loss_tat_p5=dict(
                _real.distill_losses.loss_tat_p5,
                student_channels=64,
                teacher_channels=64),
            loss_tat_p6=dict(
                _real.distill_losses.loss_tat_p6,
                student_channels=64,
                teacher_channels=64)),
        loss_forward_mappings=dict(
            _delete_=True,
            **{
                k: v
                for k, v in _real.loss_forward_mappings.items()
                if k != 'loss_tat_p7'
            })))
del _real
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = _base_.bench_train_cfg
default_hooks = _base_.bench_default_hooks
auto_scale_lr = dict(enable=False)
