"""Image URIs to runtimes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sagemaker
from sagemaker import image_uris

from sagebrush.container.images import parse_image_uri, resolve_image, resolve_training_image

ECR = "763104351884.dkr.ecr.us-west-2.amazonaws.com"
ECR_CN = "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn"


@pytest.mark.parametrize(
    ("uri", "kind", "name"),
    [
        (f"{ECR}/sagemaker-scikit-learn:1.2-1-cpu-py3", "script", "sklearn"),
        (f"{ECR}/pytorch-training:2.1.0-gpu-py310", "script", "pytorch"),
        (f"{ECR}/pytorch-inference:2.1.0-cpu-py310", "script", "pytorch"),
        (f"{ECR_CN}/tensorflow-training:2.13-cpu-py310", "script", "tensorflow"),
        (f"{ECR}/huggingface-pytorch-training:2.0-transformers4.28-gpu-py310", "script",
         "huggingface"),
        (f"{ECR}/pytorch-training-neuronx:1.13.1-neuronx-py310", "script", "pytorch"),
        (f"{ECR}/pytorch-training@sha256:{'a' * 64}", "script", "pytorch"),
        (f"{ECR}/sagemaker-xgboost:1.7-1", "script", "xgboost"),
        ("811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1", "builtin", "xgboost"),
        ("382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1", "builtin",
         "linear-learner"),
        ("174872318107.dkr.ecr.us-west-2.amazonaws.com/kmeans:1", "builtin", "kmeans"),
        ("174872318107.dkr.ecr.us-west-2.amazonaws.com/randomcutforest:1", "builtin",
         "randomcutforest"),
        ("174872318107.dkr.ecr.us-west-2.amazonaws.com/factorization-machines:1", "builtin",
         "factorization-machines"),
        ("my-algo:latest", "local-image", None),
        ("localhost:5000/my-algo:1", "local-image", None),
        (f"{ECR}/my-algo:v2", "local-image", None),
        ("team/nested:3", "local-image", None),
        ("not-registered:latest", "unknown", None),
        ("docker.io/library/python:3.11", "unknown", None),
        ("pytorch-training:2.1", "unknown", None),  # framework names need an ECR host
        (f"{ECR}/some-private-repo:1", "unknown", None),
        ("", "unknown", None),
    ],
)  # fmt: skip
def test_resolution_table(tmp_path: Path, uri: str, kind: str, name: str | None) -> None:
    for repo in ("my-algo", "team/nested"):
        d = tmp_path / repo
        d.mkdir(parents=True)
        (d / "train").write_text("#!/bin/sh\n")
        (d / "train").chmod(0o755)
    runtime = resolve_image(uri, tmp_path)
    assert (runtime.kind, runtime.framework) == (kind, name)
    if kind == "local-image":
        assert runtime.image_dir == tmp_path / runtime.repository
        assert runtime.repository in ("my-algo", "team/nested")
    if kind == "builtin":
        assert runtime.algorithm == name


def test_directory_without_executable_train_is_not_an_image(tmp_path: Path) -> None:
    (tmp_path / "algo").mkdir()
    (tmp_path / "algo" / "train").write_text("not executable")
    assert resolve_image("algo:1", tmp_path).kind == "unknown"
    assert resolve_image("../algo:1", tmp_path).kind == "unknown"


def test_xgboost_image_is_builtin_unless_the_request_names_a_program() -> None:
    uri = f"{ECR}/sagemaker-xgboost:1.7-1"
    assert resolve_image(uri, None).algorithm == "xgboost"
    builtin = resolve_image(uri, None, hyperparameters={"num_round": "10"}, environment={})
    assert (builtin.kind, builtin.framework, builtin.algorithm) == ("builtin", "xgboost", "xgboost")
    script = resolve_image(uri, None, hyperparameters={"sagemaker_program": '"t.py"'})
    assert (script.kind, script.framework) == ("script", "xgboost")
    by_env = resolve_image(uri, None).for_request({}, {"SAGEMAKER_PROGRAM": "t.py"})
    assert by_env.kind == "script"
    plain = resolve_image(f"{ECR}/pytorch-training:2.1", None, hyperparameters={})
    assert plain.kind == "script"  # only dual images are settled by the request


def test_parse_image_uri() -> None:
    assert parse_image_uri(f"{ECR}/pytorch-training:2.1") == (ECR, "pytorch-training", "2.1")
    assert parse_image_uri("localhost:5000/a/b:1") == ("localhost:5000", "a/b", "1")
    assert parse_image_uri("algo") == ("", "algo", "")
    assert parse_image_uri("r@sha256:ab") == ("", "r", "sha256:ab")


BUILTINS = {
    "xgboost": ["1.7-1", "1"],
    "linear-learner": ["1"],
    "pca": ["1"],
    "kmeans": ["1"],
    "knn": ["1"],
    "factorization-machines": ["1"],
    "randomcutforest": ["1"],
}


@pytest.mark.parametrize("algorithm", sorted(BUILTINS))
def test_every_regional_uri_the_sdk_retrieves_is_the_builtin(algorithm: str) -> None:
    """What ``sagemaker.image_uris.retrieve`` gives, in every region it knows."""
    config = json.loads(
        (Path(sagemaker.__file__).parent / "image_uri_config" / f"{algorithm}.json").read_text()
    )
    versions = config.get("training", config)["versions"]
    seen = 0
    for version in BUILTINS[algorithm]:
        for region in versions[version]["registries"]:
            uri = image_uris.retrieve(algorithm, region, version)
            runtime = resolve_image(uri, None, hyperparameters={}, environment={})
            assert (runtime.kind, runtime.framework) == ("builtin", algorithm), uri
            seen += 1
    assert seen >= 20


@pytest.mark.parametrize(
    ("name", "algorithm"),
    [
        ("xgboost", "xgboost"),
        ("linear-learner", "linear-learner"),
        ("LightGBM", "lightgbm"),
        ("forecasting-deepar", "deepar"),
        ("arn:aws:sagemaker:us-east-1:123456789012:algorithm/kmeans", "kmeans"),
    ],
)
def test_algorithm_names_pick_the_builtin(name: str, algorithm: str) -> None:
    runtime = resolve_training_image({"AlgorithmName": name}, None)
    assert (runtime.kind, runtime.framework) == ("builtin", algorithm)


def test_unknown_algorithm_names() -> None:
    assert resolve_training_image({"AlgorithmName": "my-marketplace-algo"}, None).kind == "unknown"
    image = resolve_training_image(
        {"TrainingImage": f"{ECR}/sagemaker-xgboost:1.7-1"}, None, hyperparameters={}
    )
    assert (image.kind, image.framework) == ("builtin", "xgboost")
