"""``python -m sagebrush.algorithms.linear_learner <instance-root>``."""

import sys

from sagebrush.algorithms._main import run_training
from sagebrush.algorithms.linear_learner._train import train

sys.exit(run_training(train))
