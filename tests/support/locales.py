"""Members' and servers' languages in SimCord interactions.

SimCord 3.2.1 sends ``locale: "en-US"`` and ``guild_locale: "en-US"`` in every
interaction, whoever the member and whatever the server. Discord sends the member's
client language as ``locale`` and, in a server, the server's preferred locale as
``guild_locale`` (the Interaction object in Discord's API reference); ``Locales`` fills
them in that way for the users and servers a test names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from simcord import interactions as simcord_interactions


@dataclass
class Locales:
    users: dict[int, str] = field(default_factory=dict)  # user id -> client locale
    guilds: dict[int, str] = field(default_factory=dict)  # guild id -> preferred locale


@pytest.fixture
def locales(monkeypatch: pytest.MonkeyPatch) -> Locales:
    chosen = Locales()
    original = simcord_interactions.base_payload

    def base_payload(backend: Any, **fields: Any) -> tuple[Any, dict[str, Any]]:
        record, payload = original(backend, **fields)
        if fields["user_id"] in chosen.users:
            payload["locale"] = chosen.users[fields["user_id"]]
        if fields.get("guild_id") in chosen.guilds:
            payload["guild_locale"] = chosen.guilds[fields["guild_id"]]
        return record, payload

    monkeypatch.setattr(simcord_interactions, "base_payload", base_payload)
    return chosen
