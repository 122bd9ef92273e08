"""``python -m sagebrush.algorithms.xgboost <instance-root>``."""

import sys

from sagebrush.algorithms._main import run_training
from sagebrush.algorithms.xgboost._train import train

sys.exit(run_training(train))
