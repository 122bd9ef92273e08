"""The instance environment: platform variables and the toolkit's SM_* set."""

from __future__ import annotations

import json

from tests.container.conftest import MakePlan

from sagebrush.container.training import ChannelPlan, instance_environment

HPS = {
    # What a framework estimator sends: every value JSON-encoded.
    "epochs": "10",
    "optimizer": '"adam"',
    "layers": "[1, 2]",
    "opts": '{"b": 2, "a": 1}',
    "lr": "0.1",
    # What the generic Estimator sends: plain strings.
    "mode": "fast",
    "k": "3",
    "sagemaker_program": '"train.py"',
    "sagemaker_submit_directory": '"s3://bucket/job/source/sourcedir.tar.gz"',
    "sagemaker_region": '"us-west-2"',
    "sagemaker_container_log_level": "20",
    "sagemaker_job_name": '"job-1"',
    "sagemaker_torch_distributed_enabled": "true",
}


def _env(make_plan: MakePlan, **changes: object) -> dict[str, str]:
    plan = make_plan(
        host="algo-2",
        hosts=("algo-1", "algo-2"),
        hyperparameters=HPS,
        channels=(ChannelPlan("train"), ChannelPlan("validation", input_mode="Pipe")),
        environment={"MY_VAR": "1", "OMP_NUM_THREADS": "7"},
        endpoint_url="http://127.0.0.1:8080",
        framework="pytorch",
        **changes,
    )
    return instance_environment(plan, {"PATH": "/usr/bin", "PYTHONPATH": "/extra"})


def test_platform_variables(make_plan: MakePlan) -> None:
    env = _env(make_plan)
    assert env["TRAINING_JOB_NAME"] == "job-1"
    assert env["TRAINING_JOB_ARN"].endswith(":training-job/job-1")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ENDPOINT_URL"] == env["S3_ENDPOINT_URL"] == "http://127.0.0.1:8080"
    assert env["MY_VAR"] == "1"
    assert env["PATH"] == "/usr/bin"
    assert env["OMP_NUM_THREADS"] == "7"  # the request wins
    assert env["MKL_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "2"
    assert env["CURRENT_HOST"] == "algo-2"
    assert env["SAGEMAKER_JOB_NAME"] == "job-1"
    assert env["SAGEMAKER_REGION"] == "us-west-2"
    assert env["PYTHONUNBUFFERED"] == "1"


def test_hyperparameters_decoded_and_split(make_plan: MakePlan) -> None:
    env = _env(make_plan)
    assert json.loads(env["SM_HPS"]) == {
        "epochs": 10,
        "optimizer": "adam",
        "layers": [1, 2],
        "opts": {"a": 1, "b": 2},
        "lr": 0.1,
        "mode": "fast",
        "k": 3,
    }
    assert env["SM_HPS"] == (
        '{"epochs":10,"k":3,"layers":[1,2],"lr":0.1,"mode":"fast",'
        '"optimizer":"adam","opts":{"a":1,"b":2}}'
    )
    assert env["SM_HP_OPTIMIZER"] == "adam"  # strings raw
    assert env["SM_HP_MODE"] == "fast"
    assert env["SM_HP_EPOCHS"] == "10"
    assert env["SM_HP_LAYERS"] == "[1,2]"
    assert env["SM_HP_OPTS"] == '{"a":1,"b":2}'
    assert "SM_HP_SAGEMAKER_PROGRAM" not in env
    assert json.loads(env["SM_USER_ARGS"]) == [
        "--epochs", "10", "-k", "3", "--layers", "[1, 2]", "--lr", "0.1",
        "--mode", "fast", "--optimizer", "adam", "--opts", "a=1,b=2",
    ]  # fmt: skip
    assert json.loads(env["SM_FRAMEWORK_PARAMS"]) == {"sagemaker_torch_distributed_enabled": True}
    assert env["SM_USER_ENTRY_POINT"] == "train.py"
    assert env["SM_MODULE_NAME"] == "train"
    assert env["SM_MODULE_DIR"] == "s3://bucket/job/source/sourcedir.tar.gz"
    assert env["SM_LOG_LEVEL"] == "20"
    assert env["SM_FRAMEWORK_MODULE"] == "sagemaker_pytorch_container.training:main"


def test_cluster_and_paths_without_namespace(make_plan: MakePlan) -> None:
    env = _env(make_plan)
    root = str(make_plan().root)
    assert json.loads(env["SM_HOSTS"]) == ["algo-1", "algo-2"]
    assert env["SM_CURRENT_HOST"] == "algo-2"
    assert env["SM_CURRENT_INSTANCE_TYPE"] == "ml.m5.xlarge"
    assert env["SM_CURRENT_INSTANCE_GROUP"] == "homogeneousCluster"
    assert json.loads(env["SM_CURRENT_INSTANCE_GROUP_HOSTS"]) == ["algo-1", "algo-2"]
    assert json.loads(env["SM_INSTANCE_GROUPS"]) == ["homogeneousCluster"]
    assert json.loads(env["SM_INSTANCE_GROUPS_DICT"])["homogeneousCluster"]["hosts"] == [
        "algo-1",
        "algo-2",
    ]
    assert json.loads(env["SM_DISTRIBUTION_INSTANCE_GROUPS"]) == ["homogeneousCluster"]
    assert env["SM_IS_HETERO"] == "false"
    assert env["SM_NETWORK_INTERFACE_NAME"] == "eth0"
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert env["SM_CHANNEL_TRAIN"] == f"{root}/input/data/train"
    assert env["SM_CHANNEL_VALIDATION"] == f"{root}/input/data/validation"
    assert env["SM_MODEL_DIR"] == f"{root}/model"
    assert env["SM_INPUT_DIR"] == f"{root}/input"
    assert env["SM_INPUT_CONFIG_DIR"] == f"{root}/input/config"
    assert env["SM_OUTPUT_DIR"] == f"{root}/output"
    assert env["SM_OUTPUT_DATA_DIR"] == f"{root}/output/data"
    assert env["SM_OUTPUT_INTERMEDIATE_DIR"] == f"{root}/output/intermediate"
    assert env["SM_NUM_CPUS"] == "2"
    assert env["SM_NUM_GPUS"] == "0"
    assert env["SM_NUM_NEURONS"] == "0"
    assert json.loads(env["SM_RESOURCE_CONFIG"])["current_host"] == "algo-2"
    assert json.loads(env["SM_INPUT_DATA_CONFIG"])["validation"]["TrainingInputMode"] == "Pipe"
    assert env["PYTHONPATH"] == f"{root}/code:/extra"


def test_paths_with_namespace(make_plan: MakePlan) -> None:
    env = _env(make_plan, use_namespace=True)
    assert env["SM_MODEL_DIR"] == "/opt/ml/model"
    assert env["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train"
    assert env["PYTHONPATH"].split(":")[0] == "/opt/ml/code"


def test_training_env_keys(make_plan: MakePlan) -> None:
    training = json.loads(_env(make_plan)["SM_TRAINING_ENV"])
    assert set(training) == {
        "additional_framework_parameters", "channel_input_dirs", "current_host",
        "current_instance_group", "current_instance_group_hosts", "current_instance_type",
        "distribution_hosts", "distribution_instance_groups", "framework_module", "hosts",
        "hyperparameters", "input_config_dir", "input_data_config", "input_dir",
        "instance_groups", "instance_groups_dict", "is_hetero", "is_master",
        "is_modelparallel_enabled", "is_smddpmprun_installed", "job_name", "log_level",
        "master_hostname", "model_dir", "module_dir", "module_name", "network_interface_name",
        "num_cpus", "num_gpus", "num_neurons", "output_data_dir", "output_dir",
        "output_intermediate_dir", "resource_config", "user_entry_point",
    }  # fmt: skip
    assert training["master_hostname"] == "algo-1"
    assert training["is_master"] is False
    assert training["hyperparameters"]["optimizer"] == "adam"
    assert training["job_name"] == "job-1"


def test_program_from_environment_wins(make_plan: MakePlan) -> None:
    plan = make_plan(
        hyperparameters={"sagemaker_program": '"a.py"'},
        environment={"SAGEMAKER_PROGRAM": "b.py"},
    )
    env = instance_environment(plan, {})
    assert env["SM_USER_ENTRY_POINT"] == "b.py"
    assert env["SM_MODULE_NAME"] == "b"
    assert json.loads(env["SM_DISTRIBUTION_INSTANCE_GROUPS"]) == []


def test_no_program(make_plan: MakePlan) -> None:
    env = instance_environment(make_plan(), {})
    assert env["SM_USER_ENTRY_POINT"] == ""
    assert env["SM_MODULE_NAME"] == "None"  # the toolkit's str(None), kept
    assert env["SM_MODULE_DIR"] == f"{make_plan().root}/code"
    assert "AWS_ENDPOINT_URL" not in env
