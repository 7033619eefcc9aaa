"""Settings: one frozen object, loaded once from the environment and ``.env``.

Everything tunable is read here and passed in; nothing deeper in the code
reads ``os.environ``. Secrets are ``SecretStr`` so they never show in a repr,
a log line or an error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Environment variable -> settings field. The order is the order of .env.example.
ENV_FIELDS: dict[str, str] = {
    "DISCORD_TOKEN": "discord_token",
    "ANTHROPIC_API_KEY": "anthropic_api_key",
    "ANTHROPIC_BASE_URL": "anthropic_base_url",
    "KINAPSE_MODEL": "model",
    "KINAPSE_DATABASE": "database",
    "KINAPSE_DATABASE_POOL_SIZE": "database_pool_size",
    "KINAPSE_MAPS_DIR": "maps_dir",
    "KINAPSE_PROMPTS_DIR": "prompts_dir",
    "KINAPSE_GENERATION_DEADLINE": "generation_deadline",
    "KINAPSE_COOLDOWN_GENERATIONS": "cooldown_generations",
    "KINAPSE_COOLDOWN_SECONDS": "cooldown_seconds",
    "KINAPSE_DAILY_TOKEN_BUDGET": "daily_token_budget",
    "KINAPSE_MAX_CONCURRENT_GENERATIONS": "max_concurrent_generations",
    "KINAPSE_SESSION_DAYS": "session_days",
    "KINAPSE_DEFAULT_LANGUAGE": "default_language",
    "KINAPSE_WEB_SEARCH": "web_search",
    "KINAPSE_MATERIAL_MAX_MB": "material_max_mb",
    "KINAPSE_MATERIAL_MAX_PAGES": "material_max_pages",
    "KINAPSE_ATTACHMENT_HOSTS": "attachment_hosts",
    "KINAPSE_LOG_LEVEL": "log_level",
    "DEV_GUILD_ID": "dev_guild_id",
    "KINAPSE_SHARD_COUNT": "shard_count",
    "KINAPSE_SHARD_IDS": "shard_ids",
}

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    discord_token: SecretStr | None = None
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    model: str = "claude-sonnet-4-6"
    # A SQLite file, or a PostgreSQL URL (secret: it may carry a password).
    database: Path | SecretStr = PROJECT_ROOT / "data" / "kinapse.db"
    # Connections each process may hold on PostgreSQL.
    database_pool_size: int = Field(default=10, ge=1, le=1000)
    maps_dir: Path = PROJECT_ROOT / "maps"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    # The whole generation, retries included, ends well inside Discord's
    # 15-minute interaction-token window.
    generation_deadline: float = Field(default=90.0, gt=0, le=600)
    cooldown_generations: int = Field(default=5, ge=1)
    cooldown_seconds: int = Field(default=600, ge=1)
    daily_token_budget: int = Field(default=200_000, ge=0)
    # Model calls one process makes at once; the rest wait their turn in order.
    max_concurrent_generations: int = Field(default=4, ge=1, le=100)
    # A card's buttons keep their place this long after its last click; then Back forgets.
    # A failed new topic's Retry is kept as long.
    session_days: int = Field(default=90, ge=1, le=36_500)
    default_language: str = Field(default="en", min_length=2, max_length=35)
    # Ground generations with the API's web search (billed per search); servers can turn it
    # off for themselves, this turns it off for every server.
    web_search: bool = True
    # A member's own material (/explore file: or url:): the largest file, and the most
    # pages of a PDF, one model call takes (Anthropic's PDF support: 32 MB, 100 pages).
    material_max_mb: int = Field(default=10, ge=1, le=30)
    material_max_pages: int = Field(default=100, ge=1, le=100)
    # The hosts an attachment is downloaded from: Discord's CDN, never an address a member
    # could choose (comma-separated; the offline preview adds SimCord's).
    attachment_hosts: str = "cdn.discordapp.com,media.discordapp.net"
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    dev_guild_id: int | None = None
    # Sharding: None means Discord's recommended count, every shard in this process.
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: tuple[int, ...] | None = None

    @field_validator("database", mode="before")
    @classmethod
    def _database(cls, value: object) -> object:
        if isinstance(value, str):
            return SecretStr(value) if value.startswith(POSTGRES_SCHEMES) else Path(value)
        return value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("KINAPSE_SHARD_IDS needs KINAPSE_SHARD_COUNT")
            if not self.shard_ids or any(not 0 <= i < self.shard_count for i in self.shard_ids):
                raise ValueError(
                    f"KINAPSE_SHARD_IDS must be shard numbers from 0 to {self.shard_count - 1}"
                )
        return self

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, env_file: Path | None = None
    ) -> Settings:
        """Read ``.env`` (if present), then the environment, which wins.

        A missing or malformed value raises ``ConfigError`` naming the variable.
        """
        values: dict[str, str] = {}
        dotenv = env_file if env_file is not None else PROJECT_ROOT / ".env"
        if dotenv.is_file():
            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        fields = {
            field: value.strip()
            for name, field in ENV_FIELDS.items()
            if (value := values.get(name)) is not None and value.strip()
        }
        if "log_level" in fields:
            fields["log_level"] = fields["log_level"].upper()
        try:
            return cls(**fields)
        except ValidationError as exc:
            error = exc.errors()[0]
            if not error["loc"]:  # a check across settings: its message names them
                raise ConfigError(error["msg"].removeprefix("Value error, ")) from None
            field = str(error["loc"][0])
            name = next(n for n, f in ENV_FIELDS.items() if f == field)
            # Never echo the value: it may be a secret.
            raise ConfigError(f"{name} is invalid: {error['msg']}") from None

    @property
    def log_level_number(self) -> int:
        return logging.getLevelName(self.log_level)
