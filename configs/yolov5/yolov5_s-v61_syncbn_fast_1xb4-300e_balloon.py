# Fine-tuning YOLOv5-s on the one-class balloon dataset.
_base_ = './yolov5_s-v61_syncbn_fast_8xb16-300e_coco.py'

num_classes = 1

model = dict(bbox_head=dict(head_module=dict(num_classes=num_classes)))
