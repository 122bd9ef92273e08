"""``python -m sagebrush.algorithms.xgboost <instance-root>``."""

import sys

from sagebrush.algorithms.xgboost._train import main

sys.exit(main())
