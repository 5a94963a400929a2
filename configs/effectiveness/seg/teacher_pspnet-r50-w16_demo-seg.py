# Effectiveness grid, segmentation grid: the teacher (PSPNet-R50, 16 base
# channels), trained once by the grid tool with a fixed seed and
# bench_teacher_epochs.
_base_ = [
    'mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py',
    './_base_/pspnet-w16_demo-seg.py'
]

model = dict(_delete_=True, **_base_.bench_teacher)
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_teacher_param_scheduler
train_cfg = dict(_delete_=True, **_base_.bench_teacher_train_cfg)
default_hooks = _base_.bench_teacher_default_hooks
