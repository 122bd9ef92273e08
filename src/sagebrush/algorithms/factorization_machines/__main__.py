"""``python -m sagebrush.algorithms.factorization_machines <instance-root>``."""

import sys

from sagebrush.algorithms._main import run_training
from sagebrush.algorithms.factorization_machines._train import train

sys.exit(run_training(train))
