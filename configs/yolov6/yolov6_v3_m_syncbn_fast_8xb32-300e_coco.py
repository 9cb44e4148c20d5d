# YOLOv6-M v3.0: CSPBep backbone and CSP Rep-BiPAN neck (BepC3 blocks), DFL box head.
# (`use_cspsppf` is inherited but, as in mmyolo 0.6, YOLOv6CSPBep keeps the plain SPPF.)
_base_ = './yolov6_v3_s_syncbn_fast_8xb32-300e_coco.py'

deepen_factor = 0.6
widen_factor = 0.75

model = dict(
    backbone=dict(
        type='YOLOv6CSPBep',
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        hidden_ratio=2. / 3,
        block_cfg=dict(type='RepVGGBlock'),
        act_cfg=dict(type='ReLU', inplace=True)),
    neck=dict(
        type='YOLOv6CSPRepBiPAFPN',
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        block_cfg=dict(type='RepVGGBlock'),
        hidden_ratio=2. / 3,
        block_act_cfg=dict(type='ReLU', inplace=True)),
    bbox_head=dict(
        type='YOLOv6Head',
        head_module=dict(reg_max=16, widen_factor=widen_factor)))
