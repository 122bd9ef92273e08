"""Built-in algorithms: each a module run inside a training instance, like SageMaker's images.

An algorithm module reads the instance's ``/opt/ml`` tree (its root is the one argument),
trains with a well-kept library, writes its model under ``model/`` and prints metrics in
the format SageMaker's own algorithm prints, so the same metric regexes apply.
"""

# Algorithm name (as images.resolve_image reports it) -> module run with `python -m`.
IMPLEMENTED = {"xgboost": "sagebrush.algorithms.xgboost"}
