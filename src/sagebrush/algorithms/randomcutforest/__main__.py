"""``python -m sagebrush.algorithms.randomcutforest <instance-root>``."""

import sys

from sagebrush.algorithms._main import run_training
from sagebrush.algorithms.randomcutforest._train import train

sys.exit(run_training(train))
