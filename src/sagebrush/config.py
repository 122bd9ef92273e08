"""One settings object from flags, ``SAGEBRUSH_*`` environment variables and a config file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 4510
DEFAULT_ACCOUNT_ID = "000000000000"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCESS_KEY = "sagebrush"
DEFAULT_SECRET_KEY = "sagebrush-secret"


def default_home() -> Path:
    """``$SAGEBRUSH_HOME``, else ``$XDG_DATA_HOME/sagebrush``, else ``~/.local/share/sagebrush``."""
    env = os.environ.get("SAGEBRUSH_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "sagebrush"


class Settings(BaseSettings):
    """Everything configurable. Precedence: flags > environment > ``<home>/config.toml``."""

    model_config = SettingsConfigDict(env_prefix="SAGEBRUSH_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    home: Path = Field(default_factory=default_home)
    db: str | None = None  # SQLAlchemy URL; default: SQLite in <home>/sagebrush.db
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    # "auto": verify SigV4 unless bound to loopback; "on" / "off" force it.
    auth: str = "auto"
    # Access key id -> secret key. The default pair is what `sagebrush env` exports.
    credentials: dict[str, str] = Field(
        default_factory=lambda: {DEFAULT_ACCESS_KEY: DEFAULT_SECRET_KEY}
    )
    log_level: str = "info"
    # A line per request (method, path, service, operation, status, bytes, duration) on the
    # `sagebrush.access` logger; failed requests are logged either way.
    access_log: bool = False
    # Training instances that may run at once; a job asking for more is refused
    # (ResourceLimitExceeded), jobs that fit wait in line (SecondaryStatus Pending).
    instance_quota: int = Field(default=8, ge=1)
    # Seconds between SIGTERM and SIGKILL when a job is stopped (SageMaker gives 120).
    stop_grace_seconds: float = Field(default=120.0, ge=0)

    @field_validator("auth")
    @classmethod
    def _check_auth(cls, value: str) -> str:
        if value not in {"auto", "on", "off"}:
            raise ValueError("auth must be one of auto, on, off")
        return value

    @field_validator("account_id")
    @classmethod
    def _check_account(cls, value: str) -> str:
        if not (len(value) == 12 and value.isdigit()):
            raise ValueError("account_id must be 12 digits")
        return value

    @property
    def database_url(self) -> str:
        return self.db or f"sqlite:///{self.home / 'sagebrush.db'}"

    @property
    def objects_dir(self) -> Path:
        return self.home / "objects"

    @property
    def jobs_dir(self) -> Path:
        """Where instances' working directories (their /opt/ml) live while jobs run."""
        return self.home / "jobs"

    @property
    def images_dir(self) -> Path:
        """Registered local images: ``<images_dir>/<repository>/train``."""
        return self.home / "images"

    @property
    def venvs_dir(self) -> Path:
        """Virtual environments built from jobs' requirements.txt, cached by its hash."""
        return self.home / "venvs"

    @property
    def verify_signatures(self) -> bool:
        if self.auth == "auto":
            return not is_loopback(self.host)
        return self.auth == "on"


def is_loopback(host: str) -> bool:
    return host in {"localhost", "::1"} or host.startswith("127.")


def load_settings(**overrides: Any) -> Settings:
    """Settings with precedence: explicit overrides (flags) > environment > config file."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    home = Path(overrides["home"]).expanduser() if "home" in overrides else Settings().home
    env_set = {name for name in Settings.model_fields if f"SAGEBRUSH_{name.upper()}" in os.environ}
    values = {k: v for k, v in _read_config_file(home / "config.toml").items() if k not in env_set}
    values.update(overrides)
    return Settings(**values)


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    import tomllib

    with path.open("rb") as f:
        data = tomllib.load(f)
    section = data.get("sagebrush", data)
    return {k.replace("-", "_"): v for k, v in section.items()}
