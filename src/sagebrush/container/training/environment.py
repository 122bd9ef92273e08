"""The process environment of a training instance: platform variables plus the SM_* set.

In SageMaker the platform sets a handful of variables and the sagemaker-training toolkit
inside the image computes the SM_* ones from the three config files. Here both happen in
one place, from the ``InstancePlan``, with the toolkit's formatting: strings raw, everything
else compact JSON with sorted keys.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sagebrush.container.training._args import (
    JOB_NAME,
    LOG_LEVEL,
    PROGRAM,
    REGION,
    SUBMIT_DIR,
    decode_hyperparameters,
    split_hyperparameters,
    to_cmd_args,
    to_env_vars,
)
from sagebrush.container.training.layout import base_dir, input_data_config, resource_config
from sagebrush.container.training.plan import InstancePlan

THREAD_LIMITS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

# Any of these framework params puts the current group among the distribution groups.
DISTRIBUTION_FLAGS = (
    "sagemaker_mpi_enabled",
    "sagemaker_parameter_server_enabled",
    "sagemaker_distributed_dataparallel_enabled",
    "sagemaker_pytorch_ddp_enabled",
    "sagemaker_pytorch_xla_multi_worker_enabled",
    "sagemaker_multi_worker_mirrored_strategy_enabled",
    "sagemaker_torch_distributed_enabled",
)

# What each framework image sets as SAGEMAKER_TRAINING_MODULE; reported in SM_FRAMEWORK_MODULE.
FRAMEWORK_MODULES = {
    "sklearn": "sagemaker_sklearn_container.training:main",
    "pytorch": "sagemaker_pytorch_container.training:main",
    "huggingface": "sagemaker_pytorch_container.training:main",
    "tensorflow": "sagemaker_tensorflow_container.training:main",
    "xgboost": "sagemaker_xgboost_container.training:main",
    "mxnet": "sagemaker_mxnet_container.training:main",
}


def program(plan: InstancePlan, base_env: Mapping[str, str] | None = None) -> str | None:
    """The entry point: env ``SAGEMAKER_PROGRAM``, else hyperparameter ``sagemaker_program``."""
    env = {**(base_env or {}), **plan.environment}
    if env.get("SAGEMAKER_PROGRAM"):
        return env["SAGEMAKER_PROGRAM"]
    value = decode_hyperparameters(plan.hyperparameters).get(PROGRAM)
    return None if value is None else str(value)


def training_env(plan: InstancePlan, base_env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The toolkit's ``Environment`` as a dict: the value of ``SM_TRAINING_ENV``."""
    env = {**(base_env or {}), **plan.environment}
    base = base_dir(plan)
    split = split_hyperparameters(decode_hyperparameters(plan.hyperparameters))
    resources = resource_config(plan)
    data_config = input_data_config(plan)
    group = resources["current_group_name"]
    hosts = list(plan.hosts)

    entry_point = program(plan, base_env)
    # The toolkit keeps a missing program as the string "None": mirrored for fidelity.
    module_name = str(entry_point)
    if module_name.endswith(".py"):
        module_name = module_name[:-3]

    distribution_groups = split.framework.get("sagemaker_distribution_instance_groups")
    if distribution_groups is None:
        enabled = any(split.framework.get(flag, False) for flag in DISTRIBUTION_FLAGS)
        distribution_groups = [group] if enabled else []
    groups = resources["instance_groups"]
    distribution_hosts = [
        h for g in groups if g["instance_group_name"] in distribution_groups for h in g["hosts"]
    ]
    master = distribution_hosts[0] if distribution_hosts else hosts[0]

    framework_module = env.get("SAGEMAKER_TRAINING_MODULE") or (
        FRAMEWORK_MODULES.get(plan.framework or "") if plan.runtime == "script" else None
    )
    mp_parameters = env.get("SM_HP_MP_PARAMETERS")

    return {
        "additional_framework_parameters": split.framework,
        "channel_input_dirs": {c.name: f"{base}/input/data/{c.name}" for c in plan.channels},
        "current_host": plan.host,
        "current_instance_group": group,
        "current_instance_group_hosts": hosts,
        "current_instance_type": plan.instance_type,
        "distribution_hosts": distribution_hosts,
        "distribution_instance_groups": distribution_groups,
        "framework_module": framework_module,
        "hosts": hosts,
        "hyperparameters": split.user,
        "input_config_dir": f"{base}/input/config",
        "input_data_config": data_config,
        "input_dir": f"{base}/input",
        "instance_groups": [g["instance_group_name"] for g in groups],
        "instance_groups_dict": {g["instance_group_name"]: g for g in groups},
        "is_hetero": len(groups) > 1,
        "is_master": plan.host == master,
        "is_modelparallel_enabled": None if mp_parameters is None else mp_parameters != "{}",
        "is_smddpmprun_installed": False,
        "job_name": plan.job_name,
        "log_level": split.sagemaker.get(LOG_LEVEL, logging.INFO),
        "master_hostname": master,
        "model_dir": f"{base}/model",
        # The toolkit reports the submit directory as given (often an s3:// URI); the code
        # itself is always unpacked into <base>/code before the instance starts.
        "module_dir": str(split.sagemaker.get(SUBMIT_DIR, f"{base}/code")),
        "module_name": module_name,
        "network_interface_name": resources["network_interface_name"],
        "num_cpus": plan.num_cpus,
        "num_gpus": plan.num_gpus,
        "num_neurons": 0,
        "output_data_dir": f"{base}/output/data",
        "output_dir": f"{base}/output",
        "output_intermediate_dir": f"{base}/output/intermediate",
        "resource_config": resources,
        "user_entry_point": entry_point,
    }


def instance_environment(plan: InstancePlan, base_env: Mapping[str, str]) -> dict[str, str]:
    """``base_env`` plus everything a SageMaker training container would see.

    Precedence mirrors SageMaker: the request's Environment overrides the platform defaults,
    and the toolkit's SM_* variables (computed last) override both.
    """
    env = dict(base_env)
    env.update(
        {
            "TRAINING_JOB_NAME": plan.job_name,
            "TRAINING_JOB_ARN": plan.job_arn,
            "AWS_REGION": plan.region,
            "AWS_DEFAULT_REGION": plan.region,
        }
    )
    if plan.endpoint_url:
        env["AWS_ENDPOINT_URL"] = plan.endpoint_url
        env["S3_ENDPOINT_URL"] = plan.endpoint_url
    env.update(plan.environment)
    for name in THREAD_LIMITS:
        if name not in plan.environment:
            env[name] = str(max(1, plan.num_cpus))
    env.setdefault("PYTHONUNBUFFERED", "1")

    tenv = training_env(plan, base_env)
    sm: dict[str, Any] = {
        "hosts": tenv["hosts"],
        "network_interface_name": tenv["network_interface_name"],
        "hps": tenv["hyperparameters"],
        "user_entry_point": tenv["user_entry_point"],
        "framework_params": tenv["additional_framework_parameters"],
        "resource_config": tenv["resource_config"],
        "input_data_config": tenv["input_data_config"],
        "output_data_dir": tenv["output_data_dir"],
        "channels": sorted(tenv["channel_input_dirs"]),
        "current_host": tenv["current_host"],
        "current_instance_type": tenv["current_instance_type"],
        "current_instance_group": tenv["current_instance_group"],
        "current_instance_group_hosts": tenv["current_instance_group_hosts"],
        "instance_groups": tenv["instance_groups"],
        "instance_groups_dict": tenv["instance_groups_dict"],
        "distribution_instance_groups": tenv["distribution_instance_groups"],
        "is_hetero": tenv["is_hetero"],
        "module_name": tenv["module_name"],
        "log_level": tenv["log_level"],
        "framework_module": tenv["framework_module"],
        "input_dir": tenv["input_dir"],
        "input_config_dir": tenv["input_config_dir"],
        "output_dir": tenv["output_dir"],
        "num_cpus": tenv["num_cpus"],
        "num_gpus": tenv["num_gpus"],
        "num_neurons": tenv["num_neurons"],
        "model_dir": tenv["model_dir"],
        "module_dir": tenv["module_dir"],
        "training_env": tenv,
        "user_args": to_cmd_args(tenv["hyperparameters"]),
        "output_intermediate_dir": tenv["output_intermediate_dir"],
    }
    for name, path in tenv["channel_input_dirs"].items():
        sm[f"channel_{name}"] = path
    for key, value in tenv["hyperparameters"].items():
        sm[f"hp_{key}"] = value
    env.update(to_env_vars(sm))

    split = split_hyperparameters(decode_hyperparameters(plan.hyperparameters))
    env["CURRENT_HOST"] = plan.host
    env["SAGEMAKER_JOB_NAME"] = str(split.sagemaker.get(JOB_NAME, ""))
    env["SAGEMAKER_REGION"] = str(split.sagemaker.get(REGION, plan.region) or "")

    code_dir = f"{base_dir(plan)}/code"
    existing = [p for p in env.get("PYTHONPATH", "").split(":") if p and p != code_dir]
    env["PYTHONPATH"] = ":".join([code_dir, *existing])
    return env
