# Effectiveness grid, detection grid (Faster R-CNN): KD, the logit baseline, on
# RoI logits: the RoI-logit base of the real WTTM / DKD configs with mmrazor's
# KLDivergence (tau 1, weight 1; the repository has no RoI KD config of its
# own).
_base_ = [
    '../../_base_/roi-logits_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_coco.py',
    './_base_/faster-rcnn-tiny.py',
    './_base_/demo-coco.py'
]

model = dict(
    architecture=dict(_delete_=True, **_base_.bench_frcnn_student),
    teacher=dict(_delete_=True, **_base_.bench_frcnn_teacher),
    teacher_ckpt=None,  # the grid tool passes its teacher
    distiller=dict(
        distill_losses=dict(
            loss_kd=dict(type='KLDivergence', tau=1, loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_kd=dict(
                preds_S=dict(from_student=True, recorder='roi_cls'),
                preds_T=dict(from_student=False, recorder='roi_cls')))))
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_frcnn_param_scheduler
train_cfg = _base_.bench_frcnn_train_cfg
default_hooks = _base_.bench_frcnn_default_hooks
auto_scale_lr = dict(enable=False)
