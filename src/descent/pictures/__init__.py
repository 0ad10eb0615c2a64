"""Pictures to model: train a convolutional classifier on a folder of images, predict for
picture files, with the reading recipe kept in the model file. What `descent train FOLDER`
and `descent predict MODEL PICTURES` run.
"""

from descent.pictures.model import ImageModel, softmax
from descent.pictures.predict import picture_files, write_picture_predictions
from descent.pictures.training import (
    DEFAULT_AUGMENTATION,
    PICTURE_RECIPE,
    ImageTrainResult,
    default_network,
    image_splits,
    train_images,
)

__all__ = [
    "DEFAULT_AUGMENTATION", "PICTURE_RECIPE", "ImageModel", "ImageTrainResult",
    "default_network", "image_splits", "picture_files", "softmax", "train_images",
    "write_picture_predictions",
]
