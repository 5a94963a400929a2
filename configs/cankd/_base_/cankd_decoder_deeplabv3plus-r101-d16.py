# Shared part (not a config of its own) of the CanKD DeepLabV3+ configs on
# VOC12 aug and COCOStuff10k, cankd_decoder_deeplabv3plus-*: the distiller,
# one CanKD loss (dot-product affinity, mu = 5) on the decoder's last
# separable conv + BN output before its ReLU (stride 4), teacher and student,
# 512 channels on both sides as for the MobileNetV2 students (no connector);
# ./cankd_decoder_deeplabv3plus-r101-d16_deeplabv3plus-r18-d16.py adds the
# R-18 students' connector.
# Each config lists this file (or the R-18 one) after its TaT config in
# `_base_` and sets
# `model.distiller=dict(_delete_=True, **_base_.cankd_distiller)`:
# the TaT config already has a `model` and mmengine allows a key in only one
# base of a config, hence the helper name (it stays in
# the built config as an unread top-level key).
cankd_distiller = dict(
    type='CheckedDistiller',
    student_recorders=dict(
        feat=dict(
            type='ModuleOutputs',
            source='decode_head.sep_bottleneck.1.pointwise_conv.bn')),
    teacher_recorders=dict(
        feat=dict(
            type='ModuleOutputs',
            source='decode_head.sep_bottleneck.1.pointwise_conv.bn')),
    distill_losses=dict(
        loss_cankd=dict(type='CanKDLoss', in_channels=512, loss_weight=5.0)),
    loss_forward_mappings=dict(
        loss_cankd=dict(
            s_feature=dict(from_student=True, recorder='feat'),
            t_feature=dict(from_student=False, recorder='feat'))))
