# Effectiveness grid, detection grid (Faster R-CNN): WTTM on the RoI logits of
# the teacher scoring the student's RoIs, the real config unchanged.
_base_ = [
    '../../wttm/wttm_roi-logits_faster-rcnn-r101_faster-rcnn-r50_2xb2-2x_coco.py',
    './_base_/faster-rcnn-tiny.py',
    './_base_/demo-coco.py'
]

model = dict(
    architecture=dict(_delete_=True, **_base_.bench_frcnn_student),
    teacher=dict(_delete_=True, **_base_.bench_frcnn_teacher),
    teacher_ckpt=None)  # the grid tool passes its teacher
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
