# CanKD (WACV 2026), PSPNet R-101-D8 -> DeepLabV3 R-18-D8 on Cityscapes.
# One CanKD loss (dot-product affinity, mu = 10) between the last backbone
# stages (layer4 -> layer4); a student-side 1x1 conv
# connector (no norm, no activation) maps 512 -> 2048 channels first.
# mmseg 80k schedule: SGD lr 0.01 poly, momentum 0.9, wd 5e-4, 512x1024
# crops, 2 images per GPU; the paper trains on 2 GPUs.
# Paper: student 76.70 mIoU -> CanKD 77.34 mIoU, with mu = 10
# (the authors' loss_weight=20 on their halved MSE).
# Inherits the DeepLabV3 R-101-D8 -> R-18-D8 config (same student, schedule
# and distiller); sets the PSPNet teacher and mu = 10.
_base_ = [
    './cankd_backbone_deeplabv3-r101-d8_deeplabv3-r18-d8_2xb2-80k_cityscapes.py'
]

# mmseg model zoo, PSPNet R-101-D8 512x1024 80k Cityscapes:
# pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth
teacher_ckpt = 'path/to/pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth'

model = dict(
    teacher=dict(
        cfg_path='mmseg::pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(distill_losses=dict(loss_cankd=dict(loss_weight=10.0))))
