"""What runs inside an instance: the SageMaker container contracts, without containers.

``training`` lays out ``/opt/ml``, computes the SM_* environment and runs the in-instance
toolkit; ``isolation`` binds an instance directory onto ``/opt/ml`` in a private mount
namespace; ``images`` maps image URIs to runtimes; ``recordio`` frames records as Pipe mode
and the built-in algorithms' RecordIO-protobuf do. Everything here imports only the
standard library: the toolkit runs inside job processes, possibly under a job's virtualenv.
"""

from __future__ import annotations

from sagebrush.container.images import ImageRuntime, parse_image_uri, resolve_image
from sagebrush.container.isolation import namespace_supported, wrap

__all__ = ["ImageRuntime", "namespace_supported", "parse_image_uri", "resolve_image", "wrap"]
