# CTKD (AAAI 2023), global learnable temperature, ResNet-50 -> MobileNetV1 on
# ImageNet-1k: the settings of the ResNet-34 -> ResNet-18 config (the authors
# publish no ImageNet script for this pair).
_base_ = ['./ctkd_logits_resnet34_resnet18_8xb64-100e_in1k.py']

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
