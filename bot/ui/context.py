"""Who and where an interaction is: the scope whose maps it reaches, and its typing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.i18n import _

if TYPE_CHECKING:
    pass

Interaction = discord.Interaction["KinapseBot"]

# Discord's application integration types, the keys of authorizing_integration_owners.
GUILD_INSTALL, USER_INSTALL = 0, 1


def scope_of(interaction: discord.Interaction) -> int:
    """Whose maps and expansions these are, by the install the interaction came through
    (Discord's ``authorizing_integration_owners``): the server's where the server installed
    Kinapse; where a member's own install brought it (a DM, a group DM, a server that did
    not install it), that member's, for everyone who presses the cards it posted (the
    server's shared maps are not the bot's to write there)."""
    # discord.py 2.7 keeps the owners to itself: is_user_integration() only says whether
    # the presser is the installer, and a card is pressed by others too.
    owners: dict[int, int] = interaction._integration_owners
    guild = interaction.guild_id
    if guild is not None and owners.get(GUILD_INSTALL) == guild:
        return guild
    installer = owners.get(USER_INSTALL)
    if installer:
        return installer
    return guild if guild is not None else interaction.user.id


def place_locale_of(interaction: discord.Interaction) -> str | None:
    """The language of the place whose maps these are, as Discord tells it: the server's
    preferred locale where the maps are the server's; the member's own elsewhere."""
    if scope_of(interaction) == interaction.user.id:
        return str(interaction.locale) if interaction.locale else None
    return str(interaction.guild_locale) if interaction.guild_locale else None


def server_installed(interaction: discord.Interaction) -> bool:
    """Whether the interaction is in a server that installed Kinapse (so the bot is a
    member there and can post, open threads, keep a server's quiz)."""
    return interaction.guild_id is not None and scope_of(interaction) == interaction.guild_id


def maps_title(interaction: discord.Interaction) -> str:
    """The heading of /maps: whose maps they are."""
    if scope_of(interaction) == interaction.user.id:
        return _("Your maps")
    name = interaction.guild.name if interaction.guild else None
    return _("Maps in {server}", server=name) if name else _("This server's maps")


THREAD_TYPES = (
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
    discord.ChannelType.news_thread,
)


def in_thread(interaction: discord.Interaction) -> bool:
    """Whether the interaction comes from a thread (a forum post is one too)."""
    return getattr(interaction.channel, "type", None) in THREAD_TYPES
