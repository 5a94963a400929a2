# Effectiveness grid, classification grid: DKD (mdistiller ImageNet R34->R18:
# alpha 1, beta 0.5, T 1, CE 1.0; spec logit.md section 4). Inherits the DKD+Z
# config and drops the Z-score.
_base_ = [
    '../../zscore/dkd-zscore_logits_resnet34_resnet18_8xb64-100e_in1k.py',
    './_base_/resnet-cifar-w16_demo-cls.py'
]

model = dict(
    architecture=dict(
        _base_.bench_student_override,
        head=dict(_base_.bench_student_override.head, loss=dict(
            loss_weight=1.0))),
    teacher=dict(_delete_=True, **_base_.bench_teacher),
    teacher_ckpt=None,  # the grid tool passes its trained teacher
    data_preprocessor=_base_.bench_data_preprocessor,
    distiller=dict(
        distill_losses=dict(
            loss_dkd=dict(
                _delete_=True,
                type='DKDLoss',
                tau=1,
                alpha=1.0,
                beta=0.5,
                reduction='batchmean',
                loss_weight=1.0))))
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = _base_.bench_train_cfg
default_hooks = _base_.bench_default_hooks
