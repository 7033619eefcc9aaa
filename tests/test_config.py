"""Settings from the environment and .env: defaults, precedence, errors, no leaked secrets."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import pytest
from dotenv import dotenv_values

from bot.config import ENV_FIELDS, PROJECT_ROOT, Settings
from bot.errors import ConfigError

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.secret-discord-token-value"
API_KEY = "sk-ant-api03-secret-anthropic-key-value"


def write_env(folder: Path, text: str) -> Path:
    path = folder / ".env"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({}, env_file=tmp_path / "missing.env")
    assert settings.discord_token is None
    assert settings.anthropic_api_key is None
    assert settings.anthropic_base_url is None
    assert settings == Settings()
    assert settings.model.startswith("claude-")  # the exact name is checked against README.md
    assert settings.database == PROJECT_ROOT / "data" / "kinapse.db"
    assert settings.maps_dir == PROJECT_ROOT / "maps"
    assert settings.prompts_dir == PROJECT_ROOT / "prompts"
    assert settings.generation_deadline == 90.0
    assert settings.cooldown_generations == 5
    assert settings.cooldown_seconds == 600
    assert settings.daily_token_budget == 200_000
    assert settings.default_language == "en"
    assert settings.log_level == "INFO"
    assert settings.dev_guild_id is None


def test_every_env_field_is_a_setting() -> None:
    assert set(ENV_FIELDS.values()) == set(Settings.model_fields)


def test_values_from_env_file(tmp_path: Path) -> None:
    env_file = write_env(
        tmp_path,
        f"DISCORD_TOKEN={TOKEN}\n"
        "KINAPSE_DATABASE=/tmp/elsewhere.db\n"
        "KINAPSE_DAILY_TOKEN_BUDGET=5000\n"
        "KINAPSE_LOG_LEVEL=debug\n"
        "DEV_GUILD_ID=1234567890\n",
    )
    settings = Settings.from_env({}, env_file=env_file)
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == TOKEN
    assert settings.database == Path("/tmp/elsewhere.db")
    assert settings.daily_token_budget == 5000
    assert settings.log_level == "DEBUG"
    assert settings.dev_guild_id == 1234567890


def test_environment_overrides_env_file(tmp_path: Path) -> None:
    env_file = write_env(
        tmp_path,
        "KINAPSE_MODEL=from-dotenv\nKINAPSE_COOLDOWN_SECONDS=60\nKINAPSE_LOG_LEVEL=ERROR\n",
    )
    settings = Settings.from_env(
        {"KINAPSE_MODEL": "from-environment", "KINAPSE_COOLDOWN_SECONDS": "30"},
        env_file=env_file,
    )
    assert settings.model == "from-environment"
    assert settings.cooldown_seconds == 30
    assert settings.log_level == "ERROR"  # only in .env: still read


def test_blank_values_mean_default(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "DISCORD_TOKEN=\nANTHROPIC_API_KEY=\n")
    settings = Settings.from_env({"KINAPSE_MODEL": "   "}, env_file=env_file)
    assert settings.discord_token is None
    assert settings.anthropic_api_key is None
    assert settings.model == Settings().model


def test_secrets_are_not_in_repr_or_str(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"DISCORD_TOKEN": TOKEN, "ANTHROPIC_API_KEY": API_KEY}, env_file=tmp_path / "none"
    )
    for shown in (repr(settings), str(settings), repr(settings.model_dump())):
        assert TOKEN not in shown
        assert API_KEY not in shown
    assert "discord_token" in repr(settings)  # redacted, not missing
    assert settings.anthropic_api_key is not None
    assert settings.anthropic_api_key.get_secret_value() == API_KEY


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = Settings.from_env({}, env_file=tmp_path / "none")
    with pytest.raises(ValueError):
        settings.model = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KINAPSE_DAILY_TOKEN_BUDGET", "lots"),
        ("KINAPSE_DAILY_TOKEN_BUDGET", "-1"),
        ("KINAPSE_COOLDOWN_GENERATIONS", "0"),
        ("KINAPSE_GENERATION_DEADLINE", "forever"),
        ("KINAPSE_GENERATION_DEADLINE", "3600"),
        ("KINAPSE_LOG_LEVEL", "chatty"),
        ("DEV_GUILD_ID", "my-guild"),
    ],
)
def test_malformed_value_names_the_variable_not_the_value(
    tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({name: value}, env_file=tmp_path / "none")
    message = str(raised.value)
    assert message.startswith(f"{name} is invalid")
    assert value not in message


def test_malformed_value_from_env_file_is_reported(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "KINAPSE_COOLDOWN_SECONDS=ten minutes\n")
    with pytest.raises(ConfigError, match="KINAPSE_COOLDOWN_SECONDS is invalid"):
        Settings.from_env({}, env_file=env_file)


def test_secret_never_leaks_in_errors(tmp_path: Path) -> None:
    """A token pasted into the wrong variable is not echoed, even in the traceback."""
    env_file = write_env(tmp_path, f"DISCORD_TOKEN={TOKEN}\nANTHROPIC_API_KEY={API_KEY}\n")
    for name in ("DEV_GUILD_ID", "KINAPSE_DAILY_TOKEN_BUDGET", "KINAPSE_LOG_LEVEL"):
        with pytest.raises(ConfigError) as raised:
            Settings.from_env({name: TOKEN}, env_file=env_file)
        shown = "".join(traceback.format_exception(raised.value))
        assert name in shown
        assert TOKEN not in shown
        assert API_KEY not in shown


# -- documentation of the settings ------------------------------------------------

SECRETS = ("DISCORD_TOKEN", "ANTHROPIC_API_KEY")


def test_env_example_lists_every_setting_with_a_comment() -> None:
    lines = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    names = [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]
    assert names == list(ENV_FIELDS), "order and names must follow bot/config.py ENV_FIELDS"
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[index - 1].startswith("# "), f"no comment above {line}"


def test_env_example_has_empty_secrets_and_loads(tmp_path: Path) -> None:
    example = PROJECT_ROOT / ".env.example"
    values = dotenv_values(example)
    assert all(not values[name] for name in SECRETS)
    # Copied as is to .env, it gives the defaults.
    assert Settings.from_env({}, env_file=example) == Settings()


def readme_settings() -> dict[str, str]:
    """Variable -> default column of the settings table in README.md."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1:3] for line in readme.splitlines() if line.startswith("| `")]
    return {name.strip().strip("`"): default.strip() for name, default in rows}


def test_readme_documents_every_setting_with_its_default() -> None:
    documented = readme_settings()
    assert [n for n in documented if n in ENV_FIELDS] == list(ENV_FIELDS)
    defaults = Settings()
    for name, field in ENV_FIELDS.items():
        value = getattr(defaults, field)
        shown = documented[name]
        if value is None:
            assert shown.startswith("*("), f"{name}: README says {shown}, the default is None"
        elif isinstance(value, Path):
            relative = value.relative_to(PROJECT_ROOT).as_posix()
            assert shown.strip("`").rstrip("/") == relative, f"{name}: README says {shown}"
        else:
            if isinstance(value, bool):  # as the environment writes it
                expected = str(value).lower()
            else:
                expected = f"{value:g}" if isinstance(value, float) else str(value)
            assert shown == f"`{expected}`", f"{name}: README says {shown}, code says {expected}"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    script = PROJECT_ROOT / ".ci" / "run"
    assert "uv run pytest" in readme.split("\n## ")[0]
    assert script.read_text(encoding="utf-8").rstrip().endswith("\nuv run pytest")
    assert os.access(script, os.X_OK)


def test_shards_from_the_environment(tmp_path: Path) -> None:
    absent = tmp_path / "absent.env"
    settings = Settings.from_env(
        {"KINAPSE_SHARD_COUNT": "8", "KINAPSE_SHARD_IDS": "0, 1,2,3"}, env_file=absent
    )
    assert (settings.shard_count, settings.shard_ids) == (8, (0, 1, 2, 3))
    assert Settings.from_env({}, env_file=absent).shard_ids is None
    with pytest.raises(ConfigError, match="KINAPSE_SHARD_IDS needs KINAPSE_SHARD_COUNT"):
        Settings.from_env({"KINAPSE_SHARD_IDS": "0,1"}, env_file=absent)
    with pytest.raises(ConfigError, match="from 0 to 3"):
        Settings.from_env({"KINAPSE_SHARD_COUNT": "4", "KINAPSE_SHARD_IDS": "2,4"}, env_file=absent)
    with pytest.raises(ConfigError, match="KINAPSE_SHARD_IDS is invalid"):
        Settings.from_env({"KINAPSE_SHARD_COUNT": "4", "KINAPSE_SHARD_IDS": "two"}, env_file=absent)


def test_a_postgres_url_is_a_secret_and_a_path_stays_a_path(tmp_path: Path) -> None:
    url = "postgresql://kinapse:hunter2-secret@db.example:5432/kinapse"
    settings = Settings.from_env({"KINAPSE_DATABASE": url}, env_file=tmp_path / "absent.env")
    assert not isinstance(settings.database, Path)
    assert settings.database.get_secret_value() == url
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    local = Settings.from_env({"KINAPSE_DATABASE": "here.db"}, env_file=tmp_path / "absent.env")
    assert local.database == Path("here.db")
