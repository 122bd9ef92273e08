"""``python -m sagebrush.algorithms.lightgbm <instance-root>``."""

import sys

from sagebrush.algorithms._main import run_training
from sagebrush.algorithms.lightgbm._train import train

sys.exit(run_training(train))
