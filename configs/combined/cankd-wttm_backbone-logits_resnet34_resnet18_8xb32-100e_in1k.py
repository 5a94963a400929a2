# CanKD + WTTM in one distiller, ResNet-34 -> ResNet-18 on ImageNet-1k: OUR
# COMBINATION (neither paper trains them together; there are no paper
# numbers), UNTUNED: each term keeps its own paper's ImageNet weight.
# - CanKD (WACV 2026): one CanKD loss (dot-product affinity, mu = 5) on the
#   last backbone stage (layer4, 512 channels, 7 x 7 for 224 x 224 inputs),
#   as configs/cankd/cankd_backbone_resnet34_resnet18_8xb32-100e_in1k.py;
# - WTTM (ICLR 2024): on the classifier logits, gamma = 1/T = 0.8,
#   beta = 1.6, as configs/wttm/wttm_logits_resnet34_resnet18_8xb32-100e_in1k.py;
# - the student's cross-entropy, weight 1.
# total = CE + 5 * CanKD(layer4) + 1.6 * WTTM(logits); mmrazor logs each term
# on its own (`distill.loss_cankd`, `distill.loss_wttm`).
# Both papers' ImageNet recipe: mmpretrain's ResNet schedule, SGD lr 0.1 for
# 8 GPUs x 32 images, momentum 0.9, wd 1e-4, x0.1 at epochs 30/60/90, 100
# epochs.
_base_ = ['../_base_/logits_resnet34_resnet18_8xb32-100e_in1k.py']

# The base (the shared ImageNet logit setup) sets the data, the schedule,
# the student, the teacher and the fc logit recorders; here the teacher
# checkpoint is mmpretrain's, and the layer4 recorders and both losses are
# added.

# mmpretrain model zoo, ResNet-34 8xb32 ImageNet-1k:
# resnet34_8xb32_in1k_20210831-f257d4e6.pth (the WTTM paper's teacher is
# torchvision's ResNet-34, converted as described in configs/wttm/README.md;
# either can be used).
teacher_ckpt = 'path/to/resnet34_8xb32_in1k_20210831-f257d4e6.pth'

model = dict(
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layer4')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layer4')),
        distill_losses=dict(
            loss_cankd=dict(
                type='CanKDLoss', in_channels=512, loss_weight=5.0),
            loss_wttm=dict(type='WTTMLoss', gamma=0.8, loss_weight=1.6)),
        loss_forward_mappings=dict(
            loss_cankd=dict(
                s_feature=dict(from_student=True, recorder='feat'),
                t_feature=dict(from_student=False, recorder='feat')),
            loss_wttm=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))
