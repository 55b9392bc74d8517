"""Using a saved model: the model file, the ONNX and Keras predictors, export, evaluation and digit-file prediction.

Nothing is imported here, so `digitcli --help` stays light."""
