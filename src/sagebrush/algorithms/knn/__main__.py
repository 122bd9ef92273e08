"""``python -m sagebrush.algorithms.knn <instance-root>``."""

import sys

from sagebrush.algorithms._main import run_training
from sagebrush.algorithms.knn._train import train

sys.exit(run_training(train))
