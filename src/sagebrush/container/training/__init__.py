"""The SageMaker training container contract, without containers.

Platform side: build an ``InstancePlan``, ``write_layout(plan)``, fill the channels and
``<root>/code``, then launch ``build_command(plan)``; read ``failure_reason`` when it fails.
Instance side: ``python -m sagebrush.container.training.toolkit <root>`` (stdlib only, so it
also runs under a per-job virtualenv's interpreter).
"""

from __future__ import annotations

from sagebrush.container.training.environment import instance_environment, training_env
from sagebrush.container.training.launch import TOOLKIT_MODULE, build_command
from sagebrush.container.training.layout import (
    OPT_ML,
    base_dir,
    failure_reason,
    hosts_file_text,
    input_data_config,
    resource_config,
    write_layout,
)
from sagebrush.container.training.plan import (
    FAST_FILE,
    FILE,
    PIPE,
    RUNTIME_COMMAND,
    RUNTIME_LOCAL_IMAGE,
    RUNTIME_SCRIPT,
    ChannelPlan,
    InstancePlan,
    hosts_path,
    load_plan,
    plan_path,
    save_plan,
)

__all__ = [
    "FAST_FILE",
    "FILE",
    "OPT_ML",
    "PIPE",
    "RUNTIME_COMMAND",
    "RUNTIME_LOCAL_IMAGE",
    "RUNTIME_SCRIPT",
    "TOOLKIT_MODULE",
    "ChannelPlan",
    "InstancePlan",
    "base_dir",
    "build_command",
    "failure_reason",
    "hosts_file_text",
    "hosts_path",
    "input_data_config",
    "instance_environment",
    "load_plan",
    "plan_path",
    "resource_config",
    "save_plan",
    "training_env",
    "write_layout",
]
