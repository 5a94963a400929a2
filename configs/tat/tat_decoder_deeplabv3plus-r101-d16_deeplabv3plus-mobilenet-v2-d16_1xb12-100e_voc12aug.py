# TaT (CVPR 2022), DeepLabV3+ R-101-D16 -> DeepLabV3+ MobileNetV2-D16 on
# Pascal VOC 2012 aug, as the authors' TaT-seg `train_voc_mobilenet.sh`:
# B = 12, lr = 0.004, alpha = 0.1, beta = 1, gamma = 0.5, n = m = 32
# (4x4 patches on the 128x128 map), g = 1024, a = 64 (2x2 average pooling).
# Everything else as the R-18 config: pre-ReLU decoder feature (512 -> 512
# channels here), per-sample BN embeddings, output stride 16, crop 512, SGD
# Nesterov, cosine per iteration, 100 epochs, decode head lr x10, CE x 1/B.
# Inherits the TaT MobileNetV2 recipe in _base_/ (models, distiller, B = 12,
# SGD, schedule, hooks) on mmseg's VOC12 aug data; sets the classes, the
# teacher checkpoint, the lr, the TaT hyper-parameters and the train loader.
_base_ = [
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    './_base_/tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-mobilenet-v2-d16_1xb12-100e.py'  # noqa: E501
]

# A DeepLabV3+ R-101-D16-MG124 trained on VOC12 aug with the teacher model of
# the recipe (the authors' teacher is output stride 16; see README.md for
# using mmseg's D8 zoo checkpoint instead).
teacher_ckpt = 'path/to/deeplabv3plus_r101-d16-mg124_voc12aug.pth'

base_lr = 0.004
num_classes = 21

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
                patch_counts=32,
                groups=1024,
                anchor_counts=64,
                alpha=0.1,
                beta=1.0,
                gamma=0.5))))

train_dataloader = dict(
    batch_size=_base_.batch_size,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True))

optim_wrapper = dict(optimizer=dict(lr=base_lr))
