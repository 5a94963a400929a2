# Effectiveness grid, classification grid: TTM: the WTTM config with TTMLoss (the
# repository has no ImageNet TTM config; gamma 0.8 and weight 1.6 as its
# segmentation TTM configs).
_base_ = [
    '../../wttm/wttm_logits_resnet34_resnet18_8xb32-100e_in1k.py',
    './_base_/resnet-cifar-w16_demo-cls.py'
]

model = dict(
    architecture=_base_.bench_student_override,
    teacher=dict(_delete_=True, **_base_.bench_teacher),
    teacher_ckpt=None,  # the grid tool passes its trained teacher
    data_preprocessor=_base_.bench_data_preprocessor,
    distiller=dict(
        distill_losses=dict(
            loss_wttm=dict(
                _delete_=True, type='TTMLoss', gamma=0.8, loss_weight=1.6))))
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = _base_.bench_train_cfg
default_hooks = _base_.bench_default_hooks
