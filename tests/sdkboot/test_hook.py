"""The sagemaker SDK accelerator (``sagebrush.sdkboot.sagebrush_sdk_hook``) on its own: which
clients it treats as Sagebrush's, how it cuts sleeps and runs the clock of a wait, and how
it routes STS. The import hook itself runs against a stand-in SDK in ``test_boot.py``."""

from __future__ import annotations

import contextvars
from types import SimpleNamespace
from typing import Any

import pytest

from sagebrush.sdkboot import sagebrush_sdk_hook as hook

SERVER = "http://127.0.0.1:4510"


def client(url: str) -> Any:
    return SimpleNamespace(meta=SimpleNamespace(endpoint_url=url))


@pytest.fixture
def on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEBRUSH_URL", SERVER)
    monkeypatch.delenv("SAGEBRUSH_SDK_HOOK", raising=False)


@pytest.mark.parametrize(
    ("url", "same"),
    [
        ("http://127.0.0.1:4510", True),
        ("http://127.0.0.1:4510/", True),
        ("HTTP://LOCALHOST:4510", True),
        ("http://[::1]:4510", True),
        ("http://127.0.0.1:4511", False),
        ("https://127.0.0.1:4510", False),
        ("http://10.0.0.5:4510", False),
        ("https://sagemaker.us-east-1.amazonaws.com", False),
        ("http://127.0.0.1:notaport", False),
        ("", False),
        (None, False),
    ],
)
def test_same_server_compares_scheme_host_and_port(url: str | None, same: bool) -> None:
    assert hook.same_server(url, SERVER) is same


def test_default_ports_are_filled_in() -> None:
    assert hook.same_server("https://sagebrush.example.com", "https://sagebrush.example.com:443")
    assert hook.same_server("http://sagebrush.example.com:80", "http://sagebrush.example.com")
    assert not hook.same_server("http://sagebrush.example.com", "https://sagebrush.example.com")


@pytest.mark.parametrize("value", ["0", "off", "OFF", "false", "False", "no", " 0 "])
def test_the_switch_turns_it_off(value: str) -> None:
    env = {"SAGEBRUSH_URL": SERVER, "SAGEBRUSH_SDK_HOOK": value}
    assert hook.switched_off(env)
    assert hook.server_url(env) is None


@pytest.mark.parametrize("value", [None, "", "1", "on", "true"])
def test_anything_else_leaves_it_on(value: str | None) -> None:
    env = {"SAGEBRUSH_URL": SERVER} | ({"SAGEBRUSH_SDK_HOOK": value} if value is not None else {})
    assert hook.server_url(env) == SERVER
    assert hook.server_url({}) is None


def test_endpoint_of_finds_the_sagemaker_client(on: None) -> None:
    session = SimpleNamespace(sagemaker_client=client(SERVER))
    builder = SimpleNamespace(sagemaker_session=session)
    resource = SimpleNamespace(_get_client=lambda: client(SERVER))
    core_one = SimpleNamespace(get_sagemaker_client=lambda: client(SERVER))
    for owner in (session, builder, resource, core_one, client(SERVER)):
        assert hook.endpoint_of(owner) == SERVER
        assert hook.sagebrush_endpoint(owner) == SERVER
    assert hook.endpoint_of(object()) is None
    assert hook.endpoint_of(None) is None


def test_a_client_pointed_elsewhere_is_not_sagebrush(on: None) -> None:
    for url in ("https://sagemaker.us-east-1.amazonaws.com", "http://127.0.0.1:9999"):
        assert hook.sagebrush_endpoint(SimpleNamespace(sagemaker_client=client(url))) is None


def test_nothing_is_sagebrush_when_switched_off(on: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEBRUSH_SDK_HOOK", "0")
    assert hook.sagebrush_endpoint(SimpleNamespace(sagemaker_client=client(SERVER))) is None


class FakeTime:
    """A clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(hook, "_time", fake)
    return fake


def test_a_wait_cuts_sleeps_to_a_tenth_of_its_age(fake_time: FakeTime) -> None:
    wait = hook.Wait()
    # FLOOR until the wait is FLOOR / FRACTION old, then a tenth of its age, never above
    # the poll.
    while fake_time.now - 1000 < hook.FLOOR / hook.FRACTION - 1e-9:
        wait.sleep(5)
    assert set(fake_time.slept) == {hook.FLOOR}
    wait.sleep(5)
    wait.sleep(5)
    age = fake_time.now - 1000 - fake_time.slept[-1]
    assert fake_time.slept[-1] == pytest.approx(hook.FRACTION * age)
    assert fake_time.slept[-1] > hook.FLOOR
    fake_time.now += 100
    wait.sleep(5)
    assert fake_time.slept[-1] == 5
    wait.sleep(0.05)  # shorter than the floor: as asked
    assert fake_time.slept[-1] == 0.05
    assert wait.offset == 0  # not virtual: the clock is the real one


def test_a_virtual_wait_clock_runs_ahead_by_what_it_skipped(fake_time: FakeTime) -> None:
    clock = hook.Clock(fake_time)
    start = clock.time()
    ctx = contextvars.copy_context()

    def tail_logs() -> list[float]:
        hook._WAIT.set(hook.Wait(virtual=True))
        seen = []
        for _ in range(3):
            clock.sleep(10)
            seen.append(clock.time() - start)
        return seen

    # The SDK sees the 10 s it asked for each time; three cut sleeps passed.
    assert ctx.run(tail_logs) == pytest.approx([10, 20, 30])
    assert fake_time.now - 1000 == pytest.approx(3 * hook.FLOOR)
    # Outside the wait, the clock and sleep are the real ones.
    assert clock.time() == fake_time.now
    clock.sleep(2)
    assert fake_time.slept[-1] == 2


def test_clock_passes_everything_else_through(fake_time: FakeTime) -> None:
    import time

    clock = hook.Clock(time)
    assert clock.strftime("%Y", time.gmtime(0)) == "1970"
    assert clock.monotonic() > 0
    assert "clock over" in repr(clock)


def test_waiting_marks_only_calls_through_sagebrush(on: None) -> None:
    seen: list[Any] = []

    def wait_for_job(self: Any, job: str, poll: int = 5) -> None:
        seen.append(hook.current_wait())

    wrapped = hook.waiting(wait_for_job)
    wrapped(SimpleNamespace(sagemaker_client=client(SERVER)), "job")
    wrapped(SimpleNamespace(sagemaker_client=client("https://api.sagemaker.aws")), "job")
    assert isinstance(seen[0], hook.Wait)
    assert seen[1] is None
    assert hook.current_wait() is None
    assert wrapped.__name__ == "wait_for_job"
    assert wrapped.__wrapped__ is wait_for_job  # type: ignore[attr-defined]


def test_a_log_tail_given_a_timeout_keeps_the_real_clock(on: None) -> None:
    seen: list[Any] = []

    def _logs_for_job(
        session: Any, job: str, wait: bool = False, poll: int = 10, timeout: int | None = None
    ) -> None:
        seen.append(hook.current_wait())

    wrapped = hook.waiting(_logs_for_job, virtual=True)
    session = SimpleNamespace(sagemaker_client=client(SERVER))
    wrapped(session, "job", True)
    wrapped(session, "job", True, 10, 60)
    wrapped(session, "job", timeout=60)
    wrapped(session=session, job="job", wait=True)  # the Session found by its name
    assert seen[0] is not None and seen[0].virtual
    assert seen[1] is None and seen[2] is None
    assert seen[3] is not None and seen[3].virtual


def test_sts_is_routed_only_for_a_sagebrush_session(on: None) -> None:
    def sts_regional_endpoint(region: str) -> str:
        return f"https://sts.{region}.amazonaws.com"

    router = hook.sts_endpoint_router(sts_regional_endpoint)

    def account_id(self: Any) -> str:
        return router("us-east-1")

    routed = hook.routing_sts(account_id)
    assert routed(SimpleNamespace(sagemaker_client=client(SERVER))) == SERVER
    elsewhere = SimpleNamespace(sagemaker_client=client("https://api.sagemaker.aws"))
    assert routed(elsewhere) == "https://sts.us-east-1.amazonaws.com"
    assert router("eu-west-1") == "https://sts.eu-west-1.amazonaws.com"


def test_sts_for_a_boto_session_follows_where_its_sts_client_goes(on: None) -> None:
    def boto_session(url: str) -> Any:
        return SimpleNamespace(region_name="us-east-1", client=lambda *a, **k: client(url))

    router = hook.sts_endpoint_router(lambda region: "https://sts.amazonaws.com")

    def bucket_name(session: Any) -> str:
        return router("us-east-1")

    routed = hook.routing_sts(bucket_name, boto_session=True)
    assert routed(boto_session(SERVER)) == SERVER
    assert routed(boto_session("https://sts.amazonaws.com")) == "https://sts.amazonaws.com"

    # Inside a Session's call the Session has decided.
    def default_bucket(self: Any) -> str:
        return str(routed(boto_session("https://sts.amazonaws.com")))

    decided = hook.routing_sts(default_bucket)
    assert decided(SimpleNamespace(sagemaker_client=client(SERVER))) == SERVER


def test_a_patch_that_does_not_fit_is_recorded_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(module: Any) -> None:
        raise AttributeError("no such thing")

    monkeypatch.setitem(hook.PATCHES, "sagemaker.session", broken)
    monkeypatch.setattr(hook, "PROBLEMS", [])
    hook.apply("sagemaker.session", SimpleNamespace())
    assert hook.PROBLEMS == ["sagemaker.session: AttributeError: no such thing"]


def test_botocore_lines_about_the_exported_environment_are_quieted() -> None:
    import logging

    quiet = logging.getLogger("sagebrush-test.quiet")
    chosen = logging.getLogger("sagebrush-test.chosen")
    chosen.setLevel(logging.DEBUG)  # the program's own choice stays
    hook.PATCHES["botocore.configprovider"](SimpleNamespace(logger=quiet))  # type: ignore[arg-type]
    hook.PATCHES["botocore.credentials"](SimpleNamespace(logger=chosen))  # type: ignore[arg-type]
    assert quiet.level == logging.WARNING
    assert chosen.level == logging.DEBUG
