# DKD + Z-score logit standardization (CVPR 2024), ResNet-50 -> MobileNetV1 on
# ImageNet-1k, with the supplement's ImageNet settings: base temperature 2,
# DKD weight 12, CE weight 0.5, batch 512 (8 GPUs x 64), SGD lr 0.2 momentum
# 0.9 wd 1e-4, x0.1 at epochs 30/60/90, 100 epochs.
_base_ = ['./dkd-zscore_logits_resnet34_resnet18_8xb64-100e_in1k.py']

# As the ResNet-34 -> ResNet-18 config except teacher, student and DKD beta.

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
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        distill_losses=dict(
            # mdistiller's ImageNet DKD: alpha 1, beta 2.0, warm-up 1 epoch
            # (factor 1 from the first epoch, so none is needed here); the
            # weight 12 scales both alpha and beta as in the authors' code.
            loss_dkd=dict(loss=dict(beta=2.0)))))
