# Effectiveness grid, segmentation grid: mmrazor's CWD baseline on the decode
# head's logits (mmrazor's PSPNet R101 -> R18 Cityscapes values: tau 1, loss
# weight 3). The installed mmrazor ships no mmseg CWD config, so this one
# inherits the pixel-logit base (same student, teacher and logit recorders as
# WTTM / KD+Z) and adds mmrazor's ChannelWiseDivergence.
_base_ = [
    '../../_base_/pixel-logits_pspnet-r101-d8_pspnet-r18-d8_4xb2-80k_cityscapes.py',
    './_base_/pspnet-w16_demo-seg.py'
]

model = dict(
    architecture=_base_.bench_student_override,
    teacher=dict(_delete_=True, **_base_.bench_teacher),
    teacher_ckpt=None,  # the grid tool passes its teacher
    distiller=dict(
        distill_losses=dict(
            loss_cwd=dict(
                type='ChannelWiseDivergence', tau=1, loss_weight=3)),
        loss_forward_mappings=dict(
            loss_cwd=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits')))))
# mmengine's Runner gives this to the algorithm, which has none.
data_preprocessor = dict(size=_base_.bench_crop)
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_param_scheduler
train_cfg = dict(_delete_=True, **_base_.bench_train_cfg)
default_hooks = _base_.bench_default_hooks
