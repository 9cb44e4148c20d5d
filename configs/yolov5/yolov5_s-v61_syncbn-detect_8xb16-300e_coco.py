# YOLOv5-s with Ultralytics' detect.py post-processing (NMS settings): the network is the same.
_base_ = 'yolov5_s-v61_syncbn_8xb16-300e_coco.py'

model = dict(
    test_cfg=dict(
        multi_label=False, score_thr=0.25, nms=dict(iou_threshold=0.45)))
