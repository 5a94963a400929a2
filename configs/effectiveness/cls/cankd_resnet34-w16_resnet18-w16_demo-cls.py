# Effectiveness grid, classification grid: CanKD on layer4, the real config
# unchanged except the channels (128 here).
_base_ = [
    '../../cankd/cankd_backbone_resnet34_resnet18_8xb32-100e_in1k.py',
    './_base_/resnet-cifar-w16_demo-cls.py'
]

model = dict(
    architecture=dict(_delete_=True, **_base_.bench_student),
    teacher=dict(_delete_=True, **_base_.bench_teacher),
    teacher_ckpt=None,  # the grid tool passes its trained teacher
    data_preprocessor=_base_.bench_data_preprocessor,
    distiller=dict(
        distill_losses=dict(loss_cankd=dict(in_channels=128))))
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = _base_.bench_train_cfg
default_hooks = _base_.bench_default_hooks
