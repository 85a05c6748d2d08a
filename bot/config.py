"""Settings from the environment and `.env`, checked at start-up (pydantic-settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from bot.core.errors import ConfigError
from storage.secrets import parse_keys

DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}


SECRET_SUFFIXES = ("_token", "_secret", "_password", "_pat", "_session_id", "_key")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    database_url: str = "sqlite+aiosqlite:///goalnudge.db"
    port: int = Field(3978, ge=1, le=65535)
    host: str = "0.0.0.0"
    goalnudge_tick_seconds: float = Field(60.0, ge=0)
    goalnudge_sync_minutes: int = Field(60, ge=1)
    goalnudge_reminders: Literal["one", "none"] = "one"
    goalnudge_remind_after_minutes: int = Field(240, ge=1)
    goalnudge_expire_after_minutes: int = Field(1200, ge=1)
    goalnudge_timezone: str = "UTC"
    goalnudge_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    goalnudge_log_format: Literal["auto", "json", "text"] = "auto"
    goalnudge_org: str | None = None
    goalnudge_sample_data: Path | None = None
    goalnudge_secret_key: str | None = None
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_scopes: str | None = None
    slack_timeout_seconds: float = Field(15.0, gt=0)
    # None: 50 with one SLACK_BOT_TOKEN (an internal app keeps Tier 3), 1 per workspace in
    # OAuth mode (Slack's 2025 limit for distributed apps outside the Marketplace).
    slack_history_lookups_per_minute: int | None = Field(None, ge=1)
    teams_app_id: str | None = None
    teams_app_password: str | None = None
    teams_app_tenant_id: str | None = None
    # Where the Bot Connector's token-signing keys are published (tests point it at a fake).
    teams_openid_metadata_url: str = (
        "https://login.botframework.com/v1/.well-known/openidconfiguration"
    )
    teams_timeout_seconds: float = Field(10.0, gt=0)  # each reply to the Bot Connector
    salesforce_username: str | None = None
    salesforce_password: str | None = None
    salesforce_security_token: str | None = None
    salesforce_consumer_key: str | None = None
    salesforce_private_key_file: Path | None = None
    salesforce_session_id: str | None = None
    salesforce_instance_url: str | None = None
    salesforce_domain: str = "login"
    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: str | None = None
    jira_pat: str | None = None
    jira_timeout_seconds: float = Field(20.0, gt=0, le=300)
    linear_api_key: str | None = None
    linear_api_url: str = "https://api.linear.app/graphql"  # tests point it at a fake
    linear_timeout_seconds: float = Field(20.0, gt=0, le=300)
    salesforce_timeout_seconds: float = Field(20.0, gt=0, le=300)
    hubspot_access_token: str | None = None  # a private app's token, scope crm.objects.deals.read
    hubspot_api_url: str = "https://api.hubapi.com"
    hubspot_timeout_seconds: float = Field(20.0, gt=0, le=300)
    hubspot_portal_id: str | None = None  # only to link deals to their HubSpot page
    goalnudge_breaker_failures: int = Field(3, ge=1)
    goalnudge_breaker_cooldown_seconds: float = Field(300.0, ge=0)

    @field_validator("database_url")
    @classmethod
    def driver(cls, value: str) -> str:
        scheme, sep, rest = value.partition("://")
        if not sep:
            raise ValueError("must be a URL like sqlite+aiosqlite:///goalnudge.db")
        base = scheme.split("+")[0]
        if base not in DRIVERS:
            raise ValueError(f"unsupported database {base!r} (use sqlite or postgresql)")
        return f"{DRIVERS[base]}://{rest}"

    @field_validator("goalnudge_timezone")
    @classmethod
    def timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("goalnudge_secret_key")
    @classmethod
    def fernet_keys(cls, value: str | None) -> str | None:
        return None if value is None else ",".join(parse_keys(value))

    @model_validator(mode="after")
    def slack_complete(self) -> Settings:
        if self.slack_bot_token and not (self.slack_signing_secret or self.slack_app_token):
            raise ValueError(
                "SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN "
                "for Socket Mode)"
            )
        if not (self.slack_client_id or self.slack_client_secret):
            return self
        if self.slack_bot_token:
            raise ValueError(
                "SLACK_CLIENT_ID: set either SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID "
                "and SLACK_CLIENT_SECRET (OAuth install in many workspaces), not both"
            )
        for name, value, why in (
            ("SLACK_CLIENT_ID", self.slack_client_id, "with SLACK_CLIENT_SECRET"),
            ("SLACK_CLIENT_SECRET", self.slack_client_secret, "with SLACK_CLIENT_ID"),
            ("SLACK_SIGNING_SECRET", self.slack_signing_secret, "with SLACK_CLIENT_ID"),
            (
                "GOALNUDGE_SECRET_KEY",
                self.goalnudge_secret_key,
                "with SLACK_CLIENT_ID, to encrypt the workspaces' tokens; make one with "
                "`goalnudge secrets key`",
            ),
        ):
            if not value:
                raise ValueError(f"{name}: required {why}")
        return self

    def secrets(self) -> list[str]:
        """Every configured value that must never reach a log line."""
        found = [str(value) for name, value in self if value and name.endswith(SECRET_SUFFIXES)]
        password = make_url(self.database_url).password
        key = self.salesforce_private_key_file
        fernet = (self.goalnudge_secret_key or "").split(",")  # each key alone, too
        return (
            found
            + fernet
            + ([str(password)] if password else [])
            + ([key.read_text()] if key else [])
        )

    @property
    def slack_oauth(self) -> bool:
        """Installed through OAuth in any number of workspaces, rather than with one token."""
        return bool(self.slack_client_id)

    @property
    def salesforce_configured(self) -> bool:
        return bool(self.salesforce_username or self.salesforce_session_id)

    @field_validator("goalnudge_sample_data", "salesforce_private_key_file")
    @classmethod
    def exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value


def load_settings() -> Settings:
    """Settings, or ConfigError with one line naming the variable at fault."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        if error["loc"]:
            message = f"{str(error['loc'][0]).upper()}: {message}"
        raise ConfigError(message) from None
