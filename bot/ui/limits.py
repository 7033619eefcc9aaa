"""Discord's limits, each named once (https://discord.com/developers/docs)."""

# Messages and Components V2 (components reference).
COMPONENTS_MAX = 40  # per message, nested ones included
TEXT_TOTAL_MAX = 4000  # characters of text across all text displays of a message
MESSAGE_CONTENT_MAX = 2000
BUTTON_LABEL_MAX = 80
BUTTONS_PER_ROW = 5
SELECT_OPTIONS_MAX = 25
SELECT_LABEL_MAX = 100
SELECT_DESCRIPTION_MAX = 100
SELECT_PLACEHOLDER_MAX = 150
CUSTOM_ID_MAX = 100
MEDIA_DESCRIPTION_MAX = 1024  # a media gallery item's alt text

# Threads (channels reference).
THREAD_NAME_MAX = 100

# Modals.
FORM_TITLE_MAX = 45
LABEL_TEXT_MAX = 45
LABEL_DESCRIPTION_MAX = 100

# Uploads: a bot's message without a boosted server.
ATTACHMENT_MAX = 10 * 1024 * 1024

# Interactions: the window for the first response.
FIRST_RESPONSE_SECONDS = 3.0
# An interaction's token (its followups and the edits of its message) works this long.
INTERACTION_TOKEN_SECONDS = 15 * 60.0
