# YOLOv5-Ins-s (YOLOv5 v7.0 instance segmentation): YOLOv5-s whose head also predicts 32 mask
# coefficients per anchor and, from the finest level, 32 prototype masks.
_base_ = '../yolov5_s-v61_syncbn_fast_8xb16-300e_coco.py'

mask_overlap = True  # one mask image per picture with instance ids (training only)

model = dict(
    bbox_head=dict(
        type='YOLOv5InsHead',
        head_module=dict(
            type='YOLOv5InsHeadModule', mask_channels=32, proto_channels=256),
        mask_overlap=mask_overlap,
        loss_mask=dict(
            type='mmdet.CrossEntropyLoss', use_sigmoid=True, reduction='none'),
        loss_mask_weight=0.05))
