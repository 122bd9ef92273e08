"""Sagebrush's accelerator for the sagemaker Python SDK (v2, sagemaker-core, v3).

``sitecustomize`` installs it when ``eval "$(sagebrush env)"`` has set ``SAGEBRUSH_URL``
and ``SAGEBRUSH_SDK_HOOK`` is not ``0``/``off``/``false``/``no``. It changes nothing until
the SDK's own modules are imported: a ``sys.meta_path`` finder that finds nothing itself
lets the import system find them as usual and patches a few of them right after they run.
Two things change, and only for calls whose SageMaker client points at ``SAGEBRUSH_URL``
(same scheme, host and port; the loopback names are one host):

- **Waits.** The SDK's wait loops sleep their poll interval (30 s for endpoints, 5-10 s for
  jobs) before each Describe, so no server can answer sooner. Inside those loops ``time``
  is a stand-in whose ``sleep`` is cut to ``max(0.05 s, a tenth of the time this wait has
  taken so far)``, never more than the SDK asked for: a wait ends at most ~0.05 s, or ~10%,
  after what it waits for, and a long job is polled as the SDK polls it. A wait is marked
  by a context variable, set by wrappers around the SDK's wait functions for their
  duration; a sleep outside a marked wait is the SDK's own. The log-tailing loops also
  Describe only once 30 s have passed on ``time.time()``: inside them the stand-in's clock
  advances by the sleep it skipped, so the SDK sees the time it thinks it waited (one that
  was given an explicit ``timeout`` is left alone, as that timeout is counted on the clock).
- **STS.** The SDK builds its STS client with an explicit ``https://sts.<region>
  .amazonaws.com`` (``sts_regional_endpoint``), which ``AWS_ENDPOINT_URL`` cannot override:
  ``get_execution_role()``, ``Session.account_id()`` and ``default_bucket()`` fail offline.
  While a Session pointed at Sagebrush runs those, ``sts_regional_endpoint`` answers the
  session's own endpoint instead.

- **Two botocore INFO lines.** ``botocore.configprovider`` ("Found endpoint for s3 via:
  environment_global") and ``botocore.credentials`` ("Found credentials in environment
  variables") report what ``sagebrush env`` exported, once per client; they show because
  the SDK itself calls ``logging.basicConfig(level=INFO)`` (``sagemaker.experiments``).
  Those two loggers are set to WARNING when botocore loads them, unless the program set a
  level of its own.

Standard library only, for Python >= 3.9, importing nothing of Sagebrush: it runs in the
user's environment. Nothing here may break the user's program: a patch that does not fit
the installed SDK is skipped and recorded in :data:`PROBLEMS`.
"""

from __future__ import annotations

import contextvars
import os
import sys
import time as _time

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs start-up time; this module is imported by every Python
    from collections.abc import Callable, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any, TypeGuard

URL_VARIABLE = "SAGEBRUSH_URL"
SWITCH_VARIABLE = "SAGEBRUSH_SDK_HOOK"
OFF_VALUES = frozenset({"0", "off", "false", "no"})
# A sleep in a marked wait lasts max(FLOOR, FRACTION x the wait's age), at most what was asked.
# 0.05 s measured best (benchmarks/sdk_latency.py): a log tail Describes every third sleep,
# and a sleep longer than a no-op job lets the SDK's first look find it ended.
FLOOR = 0.05
FRACTION = 0.1
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "ip6-localhost"})
MARK = "__sagebrush_sdk_hook__"

# What went wrong while patching (module: error); empty when every patch applied.
PROBLEMS: list[str] = []


def switched_off(environ: Any = None) -> bool:
    """Whether ``SAGEBRUSH_SDK_HOOK`` turns the accelerator off."""
    value = (os.environ if environ is None else environ).get(SWITCH_VARIABLE, "")
    return str(value).strip().lower() in OFF_VALUES


def server_url(environ: Any = None) -> str | None:
    """The Sagebrush server the accelerator serves, or None when it is off."""
    env = os.environ if environ is None else environ
    if switched_off(env):
        return None
    return env.get(URL_VARIABLE) or None


def same_server(endpoint_url: str | None, server: str | None) -> bool:
    """Whether ``endpoint_url`` names the server at ``server``: same scheme, host and port
    (default ports filled in, host names compared case-insensitively, loopback names alike)."""
    if not endpoint_url or not server:
        return False
    key = (endpoint_url, server)
    known = _SAME.get(key)
    if known is None:
        address = _address(endpoint_url)
        known = address is not None and address == _address(server)
        if len(_SAME) < 256:
            _SAME[key] = known
    return known


_SAME: dict[tuple[str, str], bool] = {}


def _address(url: str) -> tuple[str, str, int] | None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        return None
    if not host or port is None or scheme not in {"http", "https"}:
        return None
    return scheme, ("loopback" if host in LOOPBACK else host), port


def endpoint_of(owner: Any) -> str | None:
    """The endpoint URL of the SageMaker client behind ``owner``: a sagemaker Session (v2,
    sagemaker-core, v3), an object holding one as ``sagemaker_session`` (v3's ModelBuilder),
    a sagemaker-core resource, or a botocore client."""
    for find in _ENDPOINT_FINDERS:
        try:
            url = find(owner)
        except Exception:
            continue
        if isinstance(url, str):
            return url
    return None


_ENDPOINT_FINDERS: tuple[Callable[[Any], Any], ...] = (
    lambda o: o.sagemaker_client.meta.endpoint_url,
    lambda o: o.sagemaker_session.sagemaker_client.meta.endpoint_url,
    lambda o: o._get_client().meta.endpoint_url,  # sagemaker-core 2 (v3) resources
    lambda o: o.get_sagemaker_client().meta.endpoint_url,  # sagemaker-core 1 resources
    lambda o: o.meta.endpoint_url,
)


def sagebrush_endpoint(owner: Any) -> str | None:
    """``owner``'s SageMaker endpoint URL if it is the Sagebrush server and the accelerator
    is on, else None."""
    server = server_url()
    if server is None:
        return None
    url = endpoint_of(owner)
    return url if same_server(url, server) else None


# --- waits ---------------------------------------------------------------------------------


class Wait:
    """One SDK wait on a Sagebrush server: its sleeps are cut (and, with ``virtual``, its
    clock runs ahead by what they skipped)."""

    __slots__ = ("offset", "started", "virtual")

    def __init__(self, virtual: bool = False) -> None:
        self.started = _time.monotonic()
        self.virtual = virtual
        self.offset = 0.0

    def sleep(self, seconds: float) -> None:
        try:
            asked = float(seconds)
        except (TypeError, ValueError):
            _time.sleep(seconds)  # the SDK's own error
            return
        if not asked > 0:
            _time.sleep(seconds)
            return
        cut = min(asked, max(FLOOR, FRACTION * (_time.monotonic() - self.started)))
        _time.sleep(cut)
        if self.virtual:
            self.offset += asked - cut


_WAIT: contextvars.ContextVar[Wait | None] = contextvars.ContextVar(
    "sagebrush_sdk_wait", default=None
)


class Clock:
    """Stands in for the ``time`` module inside a patched SDK module: the real one, except
    ``sleep`` and ``time`` inside a marked wait."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __repr__(self) -> str:
        return f"<sagebrush clock over {self._real!r}>"

    def sleep(self, seconds: float) -> None:
        wait = _WAIT.get()
        if wait is None:
            self._real.sleep(seconds)
        else:
            wait.sleep(seconds)

    def time(self) -> float:
        now: float = self._real.time()
        wait = _WAIT.get()
        return now if wait is None else now + wait.offset


def current_wait() -> Wait | None:
    """The marked wait this code runs in, if any."""
    return _WAIT.get()


def waiting(original: Callable[..., Any], *, virtual: bool = False) -> Callable[..., Any]:
    """``original`` (its first parameter names the Session, resource or client it waits
    through) marking its extent as a wait when that points at Sagebrush; ``virtual``: its
    clock also runs ahead, unless called with a truthy ``timeout``."""
    import functools

    owner_name, timeout_at = _parameters(original, "timeout")

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        owner = args[0] if args else kwargs.get(owner_name)
        wait = None
        if sagebrush_endpoint(owner) is not None:
            timed = timeout_at is not None and _argument(args, kwargs, timeout_at, "timeout")
            if not (virtual and timed):
                wait = Wait(virtual=virtual)
        token = _WAIT.set(wait)
        try:
            return original(*args, **kwargs)
        finally:
            _WAIT.reset(token)

    setattr(wrapper, MARK, True)
    return wrapper


# --- STS -----------------------------------------------------------------------------------

# While a patched STS caller runs: the endpoint its Session uses when that is Sagebrush,
# "" when it is not, None outside any.
_STS: contextvars.ContextVar[str | None] = contextvars.ContextVar("sagebrush_sdk_sts", default=None)


def sts_endpoint_router(original: Callable[[str], str]) -> Callable[[str], str]:
    """``sts_regional_endpoint(region)`` answering the Session's Sagebrush endpoint while a
    patched caller on a Sagebrush Session runs, else the SDK's AWS URL."""
    import functools

    @functools.wraps(original)
    def sts_regional_endpoint(region: str) -> str:
        routed = _STS.get()
        return routed if routed else original(region)

    setattr(sts_regional_endpoint, MARK, True)
    return sts_regional_endpoint


def routing_sts(original: Callable[..., Any], *, boto_session: bool = False) -> Callable[..., Any]:
    """``original`` (a Session method, or with ``boto_session`` a function of a boto3
    Session) with STS routed to Sagebrush when that Session points there. A boto3 Session
    points there when an STS client it makes without an explicit URL would."""
    import functools

    owner_name, _ = _parameters(original, None)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if boto_session and _STS.get() is not None:
            return original(*args, **kwargs)  # the Session calling it has decided
        owner = args[0] if args else kwargs.get(owner_name)
        routed = _boto_sts_endpoint(owner) if boto_session else sagebrush_endpoint(owner)
        token = _STS.set(routed or "")
        try:
            return original(*args, **kwargs)
        finally:
            _STS.reset(token)

    setattr(wrapper, MARK, True)
    return wrapper


def _boto_sts_endpoint(session: Any) -> str | None:
    server = server_url()
    if server is None:
        return None
    try:
        url = session.client("sts", region_name=session.region_name).meta.endpoint_url
    except Exception:
        return None
    return url if same_server(url, server) else None


# --- patching the SDK's modules ------------------------------------------------------------

# Session methods that wait; those that tail logs gate their Describe on time.time().
WAIT_PREFIXES = ("wait_for_", "logs_for_")
EXTRA_WAIT_METHODS = frozenset({"delete_inference_component"})
CLOCKED = frozenset(
    {"_logs_for_job", "logs_for_processing_job", "logs_for_transform_job", "logs_for_auto_ml_job"}
)
STS_METHODS = (
    "account_id",
    "get_caller_identity_arn",
    "default_bucket",
    "generate_default_sagemaker_bucket_name",
)


def patch_session_module(module: ModuleType) -> None:
    """sagemaker.session (v2), sagemaker.core.helper.session_helper (v3),
    sagemaker_core.helper.session_helper (sagemaker-core 1, v2's ModelTrainer)."""
    use_clock(module)
    route_sts_name(module)
    session = getattr(module, "Session", None)
    if isinstance(session, type):
        for name, value in list(vars(session).items()):
            if not _plain_function(value):
                continue
            if name.startswith(WAIT_PREFIXES) or name in EXTRA_WAIT_METHODS:
                _replace(session, name, waiting(value, virtual=name in CLOCKED))
            elif name in STS_METHODS:
                _replace(session, name, routing_sts(value))
    wrap_functions(module, ("_logs_for_job",), virtual=True)
    bucket_name = getattr(module, "generate_default_sagemaker_bucket_name", None)
    if _plain_function(bucket_name):
        _replace(
            module,
            "generate_default_sagemaker_bucket_name",
            routing_sts(bucket_name, boto_session=True),
        )


def patch_resources_module(module: ModuleType) -> None:
    """sagemaker.core.resources (v3), sagemaker_core.main.resources (sagemaker-core 1):
    every resource's ``wait``, ``wait_for_status``, ``wait_for_delete``..."""
    use_clock(module)
    for cls in list(vars(module).values()):
        if not isinstance(cls, type) or cls.__module__ != module.__name__:
            continue
        for name, value in list(vars(cls).items()):
            if name.startswith("wait") and _plain_function(value):
                _replace(cls, name, waiting(value))


def route_sts_name(module: ModuleType) -> None:
    original = getattr(module, "sts_regional_endpoint", None)
    if _plain_function(original):
        _replace(module, "sts_regional_endpoint", sts_endpoint_router(original))


def use_clock(module: ModuleType) -> None:
    if getattr(module, "time", None) is _time:
        vars(module)["time"] = Clock(_time)


def wrap_functions(module: ModuleType, names: Sequence[str], *, virtual: bool = False) -> None:
    for name in names:
        value = getattr(module, name, None)
        if _plain_function(value):
            _replace(module, name, waiting(value, virtual=virtual and name in CLOCKED))


def _functions(*names: str, virtual: bool = False) -> Callable[[ModuleType], None]:
    def patch(module: ModuleType) -> None:
        use_clock(module)
        wrap_functions(module, names, virtual=virtual)

    return patch


def _methods(cls_name: str, *names: str) -> Callable[[ModuleType], None]:
    def patch(module: ModuleType) -> None:
        cls = getattr(module, cls_name, None)
        for name in names:
            value = vars(cls).get(name) if isinstance(cls, type) else None
            if _plain_function(value):
                _replace(cls, name, waiting(value))

    return patch


def quiet_info(module: ModuleType) -> None:
    """The module's logger at WARNING, unless a level was set for it already."""
    logger = getattr(module, "logger", None)
    if logger is not None and getattr(logger, "level", None) == 0:  # logging.NOTSET
        logger.setLevel(30)  # logging.WARNING


PATCHES: dict[str, Callable[[ModuleType], None]] = {
    # botocore: the INFO lines that only repeat what `sagebrush env` exported
    "botocore.configprovider": quiet_info,
    "botocore.credentials": quiet_info,
    # v2 (sagemaker 2.x)
    "sagemaker.utils": route_sts_name,
    "sagemaker.session": patch_session_module,
    # sagemaker-core 1.x: v2's ModelTrainer
    "sagemaker_core.helper.session_helper": patch_session_module,
    "sagemaker_core.main.resources": patch_resources_module,
    # v3 (sagemaker 3.x: sagemaker-core 2.x, sagemaker-train, sagemaker-serve)
    "sagemaker.core.common_utils": route_sts_name,
    "sagemaker.core.helper.session_helper": patch_session_module,
    "sagemaker.core.resources": patch_resources_module,
    "sagemaker.core.remote_function.job": _functions("_logs_for_job", virtual=True),
    "sagemaker.core.processing": _functions(
        "_wait_for_processing_job", "logs_for_processing_job", virtual=True
    ),
    "sagemaker.core.transformer": _functions("logs_for_transform_job", virtual=True),
    "sagemaker.serve.model_builder": _methods("ModelBuilder", "_wait_for_endpoint"),
    "sagemaker.train.common_utils.trainer_wait": _functions("wait"),
    "sagemaker.train.common_utils.job_wait": _functions("wait"),
}


def apply(name: str, module: ModuleType) -> None:
    """Patch ``module`` (just executed as ``name``); never raises."""
    patch = PATCHES.get(name)
    if patch is None:
        return
    try:
        patch(module)
    except Exception as exc:  # an SDK version this does not fit: leave it as it is
        PROBLEMS.append(f"{name}: {type(exc).__name__}: {exc}")


class Finder:
    """A ``sys.meta_path`` finder that finds nothing itself: for the SDK modules in
    :data:`PATCHES` it asks the other finders, then makes the loader patch the module
    right after executing it."""

    def __init__(self) -> None:
        setattr(self, MARK, True)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in PATCHES:
            return None
        spec: ModuleSpec | None = None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if getattr(finder, MARK, False) or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        if spec is None:
            return None
        loader = spec.loader
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None:
            return spec

        def exec_and_patch(module: ModuleType) -> None:
            exec_module(module)
            apply(fullname, module)

        try:  # on this loader instance only: its type and other members stay the SDK's
            setattr(loader, "exec_module", exec_and_patch)  # noqa: B010
        except Exception as exc:
            PROBLEMS.append(f"{fullname}: loader {type(loader).__name__}: {exc}")
        return spec

    def invalidate_caches(self) -> None:
        pass


def install() -> bool:
    """Put the finder first on ``sys.meta_path`` (once) and patch the SDK modules already
    imported. False, doing nothing, when ``SAGEBRUSH_URL`` is unset or the switch is off."""
    if server_url() is None:
        return False
    if not any(getattr(finder, MARK, False) for finder in sys.meta_path):
        sys.meta_path.insert(0, Finder())
    for name in PATCHES:  # imported before: patched now (patching twice changes nothing)
        module = sys.modules.get(name)
        if module is not None:
            apply(name, module)
    return True


def _replace(owner: Any, name: str, value: Any) -> None:
    setattr(owner, name, value)


def _plain_function(value: Any) -> TypeGuard[Callable[..., Any]]:
    return callable(value) and hasattr(value, "__code__") and not getattr(value, MARK, False)


def _parameters(function: Callable[..., Any], wanted: str | None) -> tuple[str, int | None]:
    """The name of ``function``'s first parameter and the position of ``wanted``."""
    import inspect

    try:
        names = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return "", None
    first = names[0] if names else ""
    return first, (names.index(wanted) if wanted in names else None)


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)
