"""A small local stand-in for Discord's HTTP API, for what SimCord does not cover.

SimCord replaces discord.py's HTTP client, so what that client does with Discord's
answers (a 429 and its retry-after, above all) is never exercised there. Here
discord.py's own client (``discord.http.Route.BASE`` pointed at this server, its
aiohttp session and its webhook adapter, which interaction responses go through)
talks HTTP on 127.0.0.1 to a server answering as Discord's API reference says:

- ``GET /users/@me``: the bot's user (discord.py's login checks the token with it);
- ``POST /interactions/{id}/{token}/callback?with_response=1``: the interaction
  callback response (a deferral: its "thinking" message);
- ``PATCH /webhooks/{application_id}/{token}/messages/@original``: the edited
  message, or, while ``limited_until`` (the loop's clock) has not passed, a 429 as
  Discord answers one: a JSON body with ``retry_after`` (seconds, a float) and
  ``global``, and the ``Retry-After``, ``X-RateLimit-*`` and ``Via`` headers (a 429
  without ``Via`` is Cloudflare's ban, which discord.py does not retry).

``edits`` records every PATCH with the loop time it came and its answer's status;
``shown`` is the message as it stands.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_VERSION = 10
APPLICATION_ID = 1_100_000_000_000_000_001
BOT_USER = {
    "id": str(APPLICATION_ID),
    "username": "Kinapse",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
}
TIMESTAMP = "2026-12-08T00:00:00.000000+00:00"


@dataclass
class Edit:
    at: float  # the loop's time when it came
    status: int  # what it was answered


@dataclass
class DiscordAPI:
    retry_after: float = 0.25  # what each 429 says
    limited_until: float = 0.0  # every edit is answered 429 until then (the loop's clock)
    edits: list[Edit] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    shown: dict[str, Any] | None = None  # the message as it stands
    base_url: str = ""
    _runner: web.AppRunner | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1_200_000_000_000_000_000))

    async def start(self) -> None:
        app = web.Application()
        prefix = f"/api/v{API_VERSION}"
        app.router.add_get(f"{prefix}/users/@me", self._me)
        app.router.add_post(f"{prefix}/interactions/{{id}}/{{token}}/callback", self._callback)
        app.router.add_patch(
            f"{prefix}/webhooks/{{application}}/{{token}}/messages/@original", self._edit
        )
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}{prefix}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def limit_for(self, seconds: float) -> None:
        """Answer every edit 429 for the next ``seconds``."""
        self.limited_until = asyncio.get_running_loop().time() + seconds

    async def _me(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bot "):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return _json(BOT_USER)

    async def _callback(self, request: web.Request) -> web.Response:
        body = await _payload(request)
        self.callbacks.append(body)
        interaction_id = request.match_info["id"]
        message_id = str(next(self._ids))
        self.shown = self._message(message_id, {"content": "", "components": []})
        return _json(
            {
                "interaction": {
                    "id": interaction_id,
                    "type": 2,
                    "response_message_id": message_id,
                    "response_message_loading": body.get("type") == 5,
                    "response_message_ephemeral": False,
                },
                "resource": {"type": body.get("type")},
            }
        )

    async def _edit(self, request: web.Request) -> web.Response:
        now = asyncio.get_running_loop().time()
        body = await _payload(request)
        if now < self.limited_until:
            self.edits.append(Edit(now, 429))
            headers = {
                "Retry-After": str(max(1, round(self.retry_after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{self.retry_after:.3f}",
                "X-RateLimit-Scope": "user",
                "Via": "1.1 google",
            }
            return _json(
                {
                    "message": "You are being rate limited.",
                    "retry_after": self.retry_after,
                    "global": False,
                },
                status=429,
                headers=headers,
            )
        self.edits.append(Edit(now, 200))
        assert self.shown is not None, "an edit before the callback"
        self.shown = self._message(self.shown["id"], body)
        return _json(self.shown)

    @staticmethod
    def _message(message_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": message_id,
            "type": 20,  # a reply to a slash command
            "channel_id": "1300000000000000001",
            "author": BOT_USER,
            "content": body.get("content") or "",
            "components": body.get("components") or [],
            "embeds": body.get("embeds") or [],
            "attachments": [
                {
                    "id": str(1_250_000_000_000_000_000 + number),
                    "filename": name,
                    "size": 1,
                    "url": f"https://cdn.discordapp.com/attachments/1/2/{name}",
                    "proxy_url": f"https://media.discordapp.net/attachments/1/2/{name}",
                }
                for number, name in enumerate(body.get("files", []))
            ],
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "tts": False,
            "timestamp": TIMESTAMP,
            "edited_timestamp": TIMESTAMP,
            "flags": body.get("flags") or 0,
        }


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json", as Discord sends it: discord.py reads any other content
    # type (aiohttp's json_response adds a charset) as text.
    headers = {"Content-Type": "application/json"} | (headers or {})
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers)


async def _payload(request: web.Request) -> dict[str, Any]:
    """A request's JSON, or a multipart one's ``payload_json`` with its files' names (as
    discord.py sends a message with files)."""
    if not request.content_type.startswith("multipart/"):
        return await request.json()
    form = await request.post()
    payload = json.loads(str(form["payload_json"]))
    payload["files"] = [part.filename for name, part in form.items() if name.startswith("files[")]
    return payload
