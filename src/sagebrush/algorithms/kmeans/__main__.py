import sys

from sagebrush.algorithms._main import run_training
from sagebrush.algorithms.kmeans._train import train

sys.exit(run_training(train))
