# The model MMDeploy exports for YOLOv6-S: a fixed 640x640 letterboxed test pipeline (left out
# here) around the network of YOLOv6-S itself.
_base_ = '../../yolov6/yolov6_s_syncbn_fast_8xb32-400e_coco.py'
