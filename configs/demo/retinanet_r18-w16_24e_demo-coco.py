# Demo student: the same detector at width 16 (a quarter of the backbone
# FLOPs); the FPN and head keep 64 channels, so FPN features can be
# distilled without a connector.
_base_ = ['./_base_/demo_coco.py', './_base_/retinanet_r18-tiny.py']
model = {{_base_.student_model}}
