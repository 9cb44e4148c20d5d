# Fine-tuning YOLOv6-S on the one-class cat dataset (MMYOLO's tutorial), the backbone frozen
# (which changes training only).
_base_ = './yolov6_s_syncbn_fast_8xb32-400e_coco.py'

class_name = ('cat', )
num_classes = len(class_name)

model = dict(
    backbone=dict(frozen_stages=4),
    bbox_head=dict(head_module=dict(num_classes=num_classes)),
    train_cfg=dict(
        initial_assigner=dict(num_classes=num_classes),
        assigner=dict(num_classes=num_classes)))
