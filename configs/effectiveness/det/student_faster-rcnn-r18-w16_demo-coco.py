# Effectiveness grid, detection grid (Faster R-CNN): the student alone (width
# 16), same model, data, schedule and initialisation as every distillation of
# its family.
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py',
    './_base_/faster-rcnn-tiny.py',
    './_base_/demo-coco.py'
]

model = dict(_delete_=True, **_base_.bench_frcnn_student)
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
