# Shared base (not a config of its own) of the ImageNet-1k logit
# distillation configs ResNet-34 -> ResNet-18: configs/wttm/wttm_logits_*_in1k,
# configs/combined/cankd-wttm_*_in1k and, through
# ./logits_resnet34_resnet18_8xb64-100e_in1k.py (batch 8 x 64, lr 0.2), the
# Z-score comparison configs of configs/{zscore,mlkd,ctkd} (the ResNet-50 ->
# MobileNetV1 configs change teacher and student).
# The pair ./resnet34_resnet18_8xb32-100e_in1k.py (student, teacher,
# mmpretrain's ResNet schedule) with the recorders of the classifier logits
# (head.fc); each config adds its loss (distill_losses and
# loss_forward_mappings).
_base_ = ['./resnet34_resnet18_8xb32-100e_in1k.py']

model = dict(
    distiller=dict(
        student_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc'))))
