"""TensorFlow's signature keys, for code that picks ``signatures[DEFAULT_SERVING_SIGNATURE_DEF_KEY]``."""

DEFAULT_SERVING_SIGNATURE_DEF_KEY = "serving_default"
PREDICT_METHOD_NAME = "tensorflow/serving/predict"
