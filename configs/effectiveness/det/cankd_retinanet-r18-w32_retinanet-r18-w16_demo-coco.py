# Effectiveness grid, detection grid (RetinaNet): CanKD on P3-P6, the real config
# (weight 5 per level) with 64 FPN channels.
_base_ = [
    '../../cankd/cankd_fpn_retinanet-r101_retinanet-r50_2xb2-2x_coco.py',
    '../../demo/_base_/retinanet_r18-tiny.py',
    './_base_/demo-coco.py'
]

model = dict(
    architecture=dict(_delete_=True, **_base_.student_model),
    teacher=dict(_delete_=True, **_base_.teacher_model),
    teacher_ckpt=None,  # the grid tool passes its teacher
    distiller=dict(
        distill_losses={
            f'loss_cankd_fpn{i}': dict(in_channels=64)
            for i in range(4)
        }))
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
