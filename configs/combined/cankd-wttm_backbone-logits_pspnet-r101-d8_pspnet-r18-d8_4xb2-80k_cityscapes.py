# Combined losses in one distiller, PSPNet R-101-D8 -> PSPNet R-18-D8 on
# Cityscapes: CanKD (WACV 2026) on the last backbone stage + WTTM (ICLR 2024)
# on the per-pixel logits. An example of composition, UNTUNED as a
# combination: no paper reports it.
# - CanKD: the paper's PSPNet setting (dot-product affinity, mu = 5 on
#   layer4 -> layer4 through a student-side 1x1 conv 512 -> 2048), as
#   configs/cankd/cankd_backbone_pspnet-r101-d8_pspnet-r18-d8_...
# - WTTM: every pixel of decode_head.conv_seg's logits is a sample, pixels
#   labelled 255 are excluded (PixelWiseLogitLoss); gamma 0.8, beta 1.6 are
#   the paper's ImageNet values (untuned here), as
#   configs/wttm/wttm_logits_pspnet-r101-d8_pspnet-r18-d8_...
# Each term is logged under its own key (distill.loss_cankd,
# distill.loss_wttm). The student keeps mmseg's CE losses.
# mmseg 80k schedule: SGD lr 0.01 poly, momentum 0.9, wd 5e-4, 512x1024 crops,
# 4 GPUs x 2 images.
_base_ = [
    '../_base_/pixel-logits_pspnet-r101-d8_pspnet-r18-d8_4xb2-80k_cityscapes.py'
]

# The base (shared with the WTTM config) sets the teacher, the student, the
# schedule and the logit / label recorders; this config adds the layer4
# recorders, the CanKD connector and both losses.
model = dict(
    distiller=dict(
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layer4')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone.layer4')),
        connectors=dict(
            loss_cankd_sfeat=dict(
                type='ConvModuleConnector',
                in_channel=512,
                out_channel=2048,
                norm_cfg=None,
                act_cfg=None)),
        distill_losses=dict(
            loss_cankd=dict(
                type='CanKDLoss', in_channels=2048, loss_weight=5.0),
            loss_wttm=dict(
                type='PixelWiseLogitLoss',
                ignore_index=255,
                loss=dict(type='WTTMLoss', gamma=0.8, loss_weight=1.6))),
        loss_forward_mappings=dict(
            loss_cankd=dict(
                s_feature=dict(
                    from_student=True,
                    recorder='feat',
                    connector='loss_cankd_sfeat'),
                t_feature=dict(from_student=False, recorder='feat')),
            loss_wttm=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits'),
                gt_labels=dict(
                    from_student=True, recorder='gt_seg', data_idx=1)))))
