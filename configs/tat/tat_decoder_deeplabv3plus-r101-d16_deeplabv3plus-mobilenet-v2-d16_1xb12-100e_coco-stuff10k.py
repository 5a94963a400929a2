# TaT (CVPR 2022), DeepLabV3+ R-101-D16 -> DeepLabV3+ MobileNetV2-D16 on
# COCOStuff10k, as the authors' TaT-seg `train_cocostuff10k_mobilenet.sh`:
# B = 12, lr = 0.007, alpha = 0.4, beta = 1, gamma = 1, n = m = 16
# (8x8 patches on the 128x128 map), g = 64, a = 32 (4x4 average pooling).
# Everything else as the R-18 config: pre-ReLU decoder feature (512 -> 512
# channels here), per-sample BN embeddings, output stride 16, crop 512, SGD
# Nesterov, cosine per iteration, 100 epochs, decode head lr x10, CE x 1/B.
# mmseg's COCOStuff10k has 171 classes (the authors trained 182-way).
# Inherits the TaT MobileNetV2 recipe in _base_/ (models, distiller, B = 12,
# SGD, schedule, hooks) on mmseg's COCOStuff10k data; sets the classes, the
# teacher checkpoint, the lr, the TaT hyper-parameters and the train loader.
_base_ = [
    'mmseg::_base_/datasets/coco-stuff10k.py',
    './_base_/tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-mobilenet-v2-d16_1xb12-100e.py'  # noqa: E501
]

# A DeepLabV3+ R-101-D16-MG124 trained on COCOStuff10k with the teacher model
# of the recipe (mmseg has no DeepLabV3+ COCOStuff10k checkpoint; see
# README.md).
teacher_ckpt = 'path/to/deeplabv3plus_r101-d16-mg124_coco-stuff10k.pth'

base_lr = 0.007
num_classes = 171

teacher = dict(
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
student = dict(decode_head=dict(num_classes=num_classes))
model = dict(
    architecture=student,
    teacher=teacher,
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        distill_losses=dict(
            loss_tat=dict(
                patch_counts=16,
                groups=64,
                anchor_counts=32,
                alpha=0.4,
                beta=1.0,
                gamma=1.0))))

train_dataloader = dict(
    batch_size=_base_.batch_size,
    sampler=dict(type='DefaultSampler', shuffle=True))

optim_wrapper = dict(optimizer=dict(lr=base_lr))
