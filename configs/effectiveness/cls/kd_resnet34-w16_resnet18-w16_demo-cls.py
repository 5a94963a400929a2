# Effectiveness grid, classification grid: KD (Hinton et al.), the logit
# baseline: mmrazor's KLDivergence with mdistiller's ImageNet values tau 1, KD
# weight 0.5, CE weight 0.5 (spec logit.md section 3). Inherits the KD+Z config
# and drops the Z-score.
_base_ = [
    '../../zscore/kd-zscore_logits_resnet34_resnet18_8xb64-100e_in1k.py',
    './_base_/resnet-cifar-w16_demo-cls.py'
]

model = dict(
    architecture=dict(
        _base_.bench_student_override,
        head=dict(_base_.bench_student_override.head, loss=dict(
            loss_weight=0.5))),
    teacher=dict(_delete_=True, **_base_.bench_teacher),
    teacher_ckpt=None,  # the grid tool passes its trained teacher
    data_preprocessor=_base_.bench_data_preprocessor,
    distiller=dict(
        distill_losses=dict(
            loss_kd=dict(
                _delete_=True, type='KLDivergence', tau=1, loss_weight=0.5))))
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = _base_.bench_train_cfg
default_hooks = _base_.bench_default_hooks
