"""Who and where an interaction is: the scope whose maps it reaches, and its typing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

if TYPE_CHECKING:
    pass

Interaction = discord.Interaction["KinapseBot"]


def scope_of(interaction: discord.Interaction) -> int:
    """Whose maps and expansions these are: the server's where Kinapse is installed in it;
    the member's own in DMs, group DMs, and servers where only they installed it (the
    server's shared maps are not the bot's to write there)."""
    if interaction.guild_id is None:
        return interaction.user.id
    if interaction.is_user_integration() and not interaction.is_guild_integration():
        return interaction.user.id
    return interaction.guild_id


def server_installed(interaction: discord.Interaction) -> bool:
    """Whether the interaction is in a server that installed Kinapse (so the bot is a
    member there and can post, open threads, keep a server's quiz)."""
    return interaction.guild_id is not None and scope_of(interaction) == interaction.guild_id


def maps_title(interaction: discord.Interaction) -> str:
    """The heading of /maps: whose maps they are."""
    if scope_of(interaction) == interaction.user.id:
        return "Your maps"
    name = interaction.guild.name if interaction.guild else None
    return f"Maps in {name}" if name else "This server's maps"


THREAD_TYPES = (
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
    discord.ChannelType.news_thread,
)


def in_thread(interaction: discord.Interaction) -> bool:
    """Whether the interaction comes from a thread (a forum post is one too)."""
    return getattr(interaction.channel, "type", None) in THREAD_TYPES
