# CanKD (WACV 2026), DeepLabV3+ R-101-D16 -> DeepLabV3+ R-18-D16 on
# COCOStuff10k: OUR EXTENSION (the paper has no such experiment; there are no
# paper numbers). Teacher, student, data, schedule and optimizer are those of
# TaT's config of this pair (B = 16, lr 0.01, SGD Nesterov, cosine per
# iteration, 100 epochs, decode head lr x10, CE weight 1/B); only the distiller
# differs. Distilled, as TaT does: the decoder's last separable conv + BN
# output before its ReLU (stride 4, 128x128 at a 512 crop); a student-side 1x1
# conv connector (no norm, no activation) maps 128 -> 512 channels first. One
# CanKD loss, dot-product affinity, mu = 5 (CanKD's COCO / ImageNet default),
# UNTUNED: against this recipe's CE / B it weighs the distillation more than
# CanKD's own configs (mu 5 against a CE of weight 1); see
# configs/cankd/README.md.
_base_ = ['../tat/tat_decoder_deeplabv3plus-r101-d16_deeplabv3plus-r18-d16_1xb16-100e_coco-stuff10k.py']  # noqa: E501

feat = 'decode_head.sep_bottleneck.1.pointwise_conv.bn'
model = dict(
    # The teacher's BN in eval mode (mmrazor's default, as CanKD's other
    # configs); the TaT base runs it in train mode as TaT's authors do.
    teacher_norm_eval=True,
    distiller=dict(
        _delete_=True,
        type='CheckedDistiller',
        student_recorders=dict(feat=dict(type='ModuleOutputs', source=feat)),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source=feat)),
        connectors=dict(
            loss_cankd_sfeat=dict(
                type='ConvModuleConnector',
                in_channel=128,
                out_channel=512,
                norm_cfg=None,
                act_cfg=None)),
        distill_losses=dict(
            loss_cankd=dict(
                type='CanKDLoss', in_channels=512, loss_weight=5.0)),
        loss_forward_mappings=dict(
            loss_cankd=dict(
                s_feature=dict(
                    from_student=True,
                    recorder='feat',
                    connector='loss_cankd_sfeat'),
                t_feature=dict(from_student=False, recorder='feat')))))
