# CanKD (WACV 2026, supplement section 9), ResNet-50 -> MobileNetV1 on
# ImageNet-1k. One CanKD loss (dot-product affinity, mu = 5) on the last
# backbone stage (7x7 for 224x224 inputs); a student-side 1x1 conv connector
# (no norm, no activation) maps MobileNetV1's 1024 channels to ResNet-50's
# 2048 first. The supplement follows "the official schedule" for 100 epochs:
# mmpretrain's ResNet recipe, SGD lr 0.1 for 8 GPUs x 32 images, momentum
# 0.9, wd 1e-4, x0.1 at epochs 30/60/90.
# Inherits the ResNet-34 -> ResNet-18 config (data, schedule, runtime, the
# distiller's teacher recorder, CanKD loss and mapping); sets the student, the
# teacher, the student's recorded stage, the connector and the loss's input
# channels.
_base_ = ['./cankd_backbone_resnet34_resnet18_8xb32-100e_in1k.py']

# mmpretrain model zoo, ResNet-50 8xb32 ImageNet-1k:
# resnet50_8xb32_in1k_20210831-ea4938fc.pth
teacher_ckpt = 'path/to/resnet50_8xb32_in1k_20210831-ea4938fc.pth'

model = dict(
    architecture=dict(
        # mmkd_ext's MobileNetV1 (1024-channel last map)
        backbone=dict(
            _delete_=True, type='MobileNetV1', out_indices=(12, )),
        head=dict(in_channels=1024)),
    teacher=dict(cfg_path='mmpretrain::resnet/resnet50_8xb32_in1k.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        student_recorders=dict(feat=dict(source='backbone.layers.12')),
        connectors=dict(
            loss_cankd_sfeat=dict(
                type='ConvModuleConnector',
                in_channel=1024,
                out_channel=2048,
                norm_cfg=None,
                act_cfg=None)),
        distill_losses=dict(loss_cankd=dict(in_channels=2048)),
        loss_forward_mappings=dict(
            loss_cankd=dict(s_feature=dict(connector='loss_cankd_sfeat')))))
