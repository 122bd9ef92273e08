"""The platform's side of starting an instance: which argv runs the in-instance toolkit."""

from __future__ import annotations

import sys
from pathlib import Path

from sagebrush.container import isolation
from sagebrush.container.training.plan import FAST_FILE, InstancePlan, hosts_path

TOOLKIT_MODULE = "sagebrush.container.training.toolkit"

# The toolkit runs isolated (-I): the instance environment's PYTHONPATH puts the job's code
# directory first, and a user file named like a stdlib module (types.py, logging.py) or a
# request-supplied PYTHONPATH must not replace the modules the toolkit itself imports. Only
# the directory holding the sagebrush package is added back. The user's program still gets
# the full environment.
_BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    f"from {TOOLKIT_MODULE} import main; sys.exit(main())"
)


def build_command(plan: InstancePlan) -> list[str]:
    """The argv for one instance, after ``write_layout(plan)``.

    Launch it in a process group of its own with the server's environment (credentials
    included) or ``instance_environment(plan, ...)``; either way the toolkit derives the
    instance environment from the stored plan. To stop the instance send SIGTERM to it and
    allow a grace period: the toolkit passes the signal on to the user's process group. With
    ``use_namespace`` the same argv runs inside a private mount namespace
    (``isolation.wrap``) and keeps its PID.
    """
    package_parent = Path(__file__).resolve().parents[3]
    argv = [sys.executable, "-I", "-c", _BOOTSTRAP, str(package_parent), str(plan.root)]
    if not plan.use_namespace:
        return argv
    read_only = [f"input/data/{c.name}" for c in plan.channels if c.input_mode == FAST_FILE]
    return isolation.wrap(argv, plan.root, hosts_path(plan.root), read_only, plan.host)
