# CanKD (WACV 2026), DeepLabV3+ R-101-D16 -> DeepLabV3+ MobileNetV2-D16 on
# Pascal VOC 2012 aug: OUR EXTENSION (the paper has no such experiment; there
# are no paper numbers). Teacher, student, data, schedule and optimizer are
# those of TaT's config of this pair (B = 12, lr 0.004, SGD Nesterov, cosine
# per iteration, 100 epochs, decode head lr x10, CE weight 1/B); only the
# distiller differs. Distilled, as TaT does: the decoder's last separable conv
# + BN output before its ReLU (stride 4, 128x128 at a 512 crop); 512 channels
# on both sides, no connector. One CanKD loss, dot-product affinity, mu = 5
# (CanKD's COCO / ImageNet default), UNTUNED: against this recipe's CE / B it
# weighs the distillation more than CanKD's own configs (mu 5 against a CE of
# weight 1); see configs/cankd/README.md.
# Inherits TaT's config of this pair (teacher, student, data, schedule,
# optimizer) and the CanKD distiller of
# ./_base_/cankd_decoder_deeplabv3plus-r101-d16.py (shared by the
# cankd_decoder_* configs); sets the teacher's BN mode and replaces TaT's distiller.
_base_ = [
    '../tat/tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-mobilenet-v2-d16_1xb12-100e_voc12aug.py',  # noqa: E501
    './_base_/cankd_decoder_deeplabv3plus-r101-d16.py'
]

model = dict(
    # The teacher's BN in eval mode (mmrazor's default, as CanKD's other
    # configs); the TaT base runs it in train mode as TaT's authors do.
    teacher_norm_eval=True,
    distiller=dict(_delete_=True, **_base_.cankd_distiller))
