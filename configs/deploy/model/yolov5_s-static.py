# The model MMDeploy exports for YOLOv5-s: a fixed 640x640 letterboxed test pipeline (left out
# here) around the network of YOLOv5-s itself.
_base_ = '../../yolov5/yolov5_s-v61_syncbn_8xb16-300e_coco.py'
