# Demo teacher: tiny RetinaNet, ResNet-18 layout at width 32.
_base_ = ['./_base_/demo_coco.py', './_base_/retinanet_r18-tiny.py']
model = {{_base_.teacher_model}}
