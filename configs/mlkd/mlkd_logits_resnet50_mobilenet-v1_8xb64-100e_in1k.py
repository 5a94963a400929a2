# MLKD (CVPR 2023), ResNet-50 -> MobileNetV1 on ImageNet-1k, the authors'
# ImageNet setting (configs/imagenet/r50_mv2/kd_ours.yaml of their code; their
# "MobileNetV2" is a MobileNetV1): as the ResNet-34 -> ResNet-18 config but
# SGD lr 0.2.
_base_ = ['./mlkd_logits_resnet34_resnet18_8xb64-100e_in1k.py']

# torchvision ResNet50_Weights.IMAGENET1K_V1 (76.13 top-1) converted to
# mmpretrain keys, see configs/zscore/README.md
teacher_ckpt = 'path/to/resnet50_torchvision-in1k_mmpretrain.pth'

model = dict(
    architecture=dict(
        # mmkd_ext's MobileNetV1 (1024-channel last map)
        backbone=dict(
            _delete_=True, type='MobileNetV1', out_indices=(12, )),
        head=dict(in_channels=1024)),
    teacher=dict(cfg_path='mmpretrain::resnet/resnet50_8xb32_in1k.py'),
    teacher_ckpt=teacher_ckpt)

optim_wrapper = dict(optimizer=dict(lr=0.2))
