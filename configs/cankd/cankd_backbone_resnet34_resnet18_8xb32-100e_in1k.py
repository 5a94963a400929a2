# CanKD (WACV 2026, supplement section 9), ResNet-34 -> ResNet-18 on
# ImageNet-1k. One CanKD loss (dot-product affinity, mu = 5) on the last
# backbone stage (layer4, 512 channels, 7x7 for 224x224 inputs), with the
# student's cross-entropy. The supplement follows "the official schedule"
# for 100 epochs: mmpretrain's ResNet recipe, SGD lr 0.1 for 8 GPUs x 32
# images, momentum 0.9, wd 1e-4, x0.1 at epochs 30/60/90.
# The pair (student, teacher, data, schedule) is the shared ImageNet base;
# here the teacher checkpoint is mmpretrain's and the CanKD distiller is
# added. The ResNet-50 -> MobileNetV1 config inherits this one.
_base_ = ['../_base_/resnet34_resnet18_8xb32-100e_in1k.py']

# mmpretrain model zoo, ResNet-34 8xb32 ImageNet-1k:
# resnet34_8xb32_in1k_20210831-f257d4e6.pth
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
                type='CanKDLoss', in_channels=512, loss_weight=5.0)),
        loss_forward_mappings=dict(
            loss_cankd=dict(
                s_feature=dict(from_student=True, recorder='feat'),
                t_feature=dict(from_student=False, recorder='feat')))))
