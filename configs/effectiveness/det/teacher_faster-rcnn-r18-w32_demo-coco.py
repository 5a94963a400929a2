# Effectiveness grid, detection grid (Faster R-CNN): the teacher (width 32),
# trained once by the grid tool with a fixed seed.
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py',
    './_base_/faster-rcnn-tiny.py',
    './_base_/demo-coco.py'
]

model = dict(_delete_=True, **_base_.bench_frcnn_teacher)
train_dataloader = _base_.bench_train_dataloader
val_dataloader = _base_.bench_test_dataloader
test_dataloader = _base_.bench_test_dataloader
val_evaluator = _base_.bench_evaluator
test_evaluator = _base_.bench_evaluator
optim_wrapper = dict(_delete_=True, **_base_.bench_optim_wrapper)
param_scheduler = _base_.bench_frcnn_teacher_param_scheduler
train_cfg = _base_.bench_frcnn_teacher_train_cfg
default_hooks = _base_.bench_frcnn_teacher_default_hooks
auto_scale_lr = dict(enable=False)
