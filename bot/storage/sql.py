"""Every statement of the use cases, each in a named constant.

``?`` placeholders, and SQL that SQLite and PostgreSQL run alike (the PostgreSQL
backend numbers the placeholders). A backend's own statements (pragmas, sequences,
locks) live in its module, and the schema in ``migrations/``.
"""

from bot.models import SEARCH_TOKENS

# -- maps ---------------------------------------------------------------------

SELECT_MAP_COLUMNS = """
    SELECT m.id, m.scope, m.topic, m.key, m.language, m.overview, m.source, m.model,
           COALESCE(m.level, 'standard') AS level, m.opened, m.total, m.explorers, m.created_at,
           m.sources, m.volatile, m.material
    FROM maps m
"""
SELECT_MAP_BY_KEY = SELECT_MAP_COLUMNS + " WHERE m.scope = ? AND m.key = ?"
SELECT_MAP_BY_ID = SELECT_MAP_COLUMNS + " WHERE m.id = ?"
INSERT_MAP = """
    INSERT INTO maps (scope, key, topic, language, level, overview, source, model, created_at,
                      sources, volatile)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING id
"""
SELECT_MAP_ID_BY_KEY = "SELECT id FROM maps WHERE scope = ? AND key = ?"
DELETE_MAP = "DELETE FROM maps WHERE scope = ? AND key = ? RETURNING id"
# A forgotten map moves to ``FORGOTTEN_SCOPE`` (``records.py``) at once, its key free;
# its rows go afterwards, a batch at a time.
FORGET_MAP = """
    UPDATE maps SET scope = ?, key = 'forgotten ' || id
    WHERE scope = ? AND key = ?
    RETURNING id
"""
SELECT_FORGOTTEN = "SELECT id FROM maps WHERE scope = ? ORDER BY id"
DELETE_SESSIONS_OF_MAP = """
    DELETE FROM sessions
    WHERE message_id IN (SELECT message_id FROM sessions WHERE map_id = ? LIMIT ?)
"""
DELETE_MAP_BY_ID = "DELETE FROM maps WHERE id = ?"
# /maps' order, the order of index maps_in_listing_order (migration 8): a page reads its
# own rows and stops, whatever else the scope holds. The id makes the order total, so
# that pages never repeat or skip a map.
LIST_MAPS = """
    SELECT topic, key, source, model, opened, total, id, material FROM maps
    WHERE scope = ?
    ORDER BY opened DESC, lower(topic), id
    LIMIT ? OFFSET ?
"""
COUNT_MAPS = "SELECT COUNT(*) FROM maps WHERE scope = ?"
# Filled with one placeholder per key; each is a seek on the (scope, key) unique index.
SELECT_KEYS_AMONG = "SELECT key FROM maps WHERE scope = ? AND key IN ({keys})"
# The counts on the map row change in the transactions that change what they count.
RECOUNT_MAP = """
    UPDATE maps SET total = (SELECT COUNT(*) FROM concepts c WHERE c.map_id = maps.id)
    WHERE id = ?
"""
# A map's concepts opened for the first time (``COUNT_OPENS`` tells which).
COUNT_FIRST_OPENS = "UPDATE maps SET opened = opened + ? WHERE id = ?"
SELECT_TOPICS = "SELECT topic, key FROM maps WHERE scope = ? ORDER BY lower(topic)"
# The first maps whose key starts with the typed text: a range of an index on (scope, key)
# in code point order ({bytewise} is the collation that compares that way, if the column's
# own does not).
PREFIX_TOPICS = """
    SELECT topic, key FROM maps
    WHERE scope = ? AND key{bytewise} >= ? AND key{bytewise} < ?
    ORDER BY key{bytewise}
    LIMIT ?
"""
# Autocomplete's ranking, done where the rows are: the key starts with the typed text,
# then a word of it does, then it contains it; only the best few rows come back.
MATCHING_TOPICS = r"""
    SELECT topic, key FROM maps
    WHERE scope = ? AND key LIKE ? ESCAPE '\'
    ORDER BY CASE WHEN key LIKE ? ESCAPE '\' THEN 0
                  WHEN ' ' || key LIKE ? ESCAPE '\' THEN 1
                  ELSE 2 END,
             lower(topic)
    LIMIT ?
"""

# -- concepts -----------------------------------------------------------------

CONCEPT_COLUMNS = """
    SELECT id, map_id, parent_id, position, depth, title, summary, detail, state, error,
           CASE WHEN open_count > 0 THEN 1 ELSE 0 END AS opened, model, created_at, sources
    FROM concepts
"""
SELECT_CONCEPT = CONCEPT_COLUMNS + " WHERE id = ?"
SELECT_KEY_CONCEPTS = CONCEPT_COLUMNS + " WHERE map_id = ? AND parent_id IS NULL ORDER BY position"
SELECT_CHILDREN = CONCEPT_COLUMNS + " WHERE parent_id = ? ORDER BY position"
SELECT_MAP_CONCEPTS = CONCEPT_COLUMNS + " WHERE map_id = ? ORDER BY depth, parent_id, position"
SELECT_OPENED_IDS = "SELECT id FROM concepts WHERE map_id = ? AND open_count > 0"
SELECT_PATH = """
    WITH RECURSIVE path (id, parent_id, level) AS (
        SELECT id, parent_id, 0 FROM concepts WHERE id = ?
        UNION ALL
        SELECT c.id, c.parent_id, path.level + 1
        FROM concepts c JOIN path ON c.id = path.parent_id
    )
    SELECT c.id, c.map_id, c.parent_id, c.position, c.depth, c.title, c.summary, c.detail,
           c.state, c.error, CASE WHEN c.open_count > 0 THEN 1 ELSE 0 END AS opened,
           c.model, c.created_at, c.sources
    FROM path JOIN concepts c ON c.id = path.id
    ORDER BY path.level DESC
"""
INSERT_CONCEPT = """
    INSERT INTO concepts (map_id, parent_id, position, depth, title, summary, detail, state,
                          model, created_at, sources)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    RETURNING id
"""
# A refreshed concept: its earlier text is kept as a version, then replaced.
INSERT_VERSION = """
    INSERT INTO concept_versions (concept_id, summary, detail, model, created_at, sources,
                                  replaced_at)
    SELECT id, summary, detail, model, created_at, sources, ? FROM concepts WHERE id = ?
"""
REFRESH_CONCEPT = """
    UPDATE concepts SET summary = ?, detail = ?, model = ?, created_at = ?, sources = ?
    WHERE id = ?
    RETURNING map_id
"""
SELECT_VERSIONS = """
    SELECT summary, detail, model, created_at, sources, replaced_at FROM concept_versions
    WHERE concept_id = ? ORDER BY id DESC
"""
COUNT_VERSIONS = "SELECT COUNT(*) FROM concept_versions WHERE concept_id = ?"
# Returns the concept's map and its new count: equal to the opens added, it was the first.
COUNT_OPENS = """
    UPDATE concepts SET open_count = open_count + ? WHERE id = ?
    RETURNING map_id, id, open_count
"""
CLAIM_EXPANSION = """
    UPDATE concepts SET state = 'pending', lease_until = ?, error = NULL
    WHERE id = ? AND (state = 'unexpanded' OR (state = 'pending' AND lease_until < ?))
    RETURNING map_id
"""
# Settling first locks the row (PostgreSQL), so of two generations that outlived
# their leases only one stores its sub-concepts.
FINISH_EXPANSION = """
    UPDATE concepts SET state = ?, lease_until = NULL, error = NULL
    WHERE id = ? AND state IN ('unexpanded', 'pending')
    RETURNING map_id, depth
"""
RELEASE_EXPANSION = """
    UPDATE concepts SET state = 'unexpanded', lease_until = NULL, error = ?
    WHERE id = ? AND state = 'pending'
    RETURNING map_id
"""

# -- sessions -----------------------------------------------------------------

UPSERT_SESSION = """
    INSERT INTO sessions (message_id, owner_id, scope, map_id, concept_id, history, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (message_id) DO UPDATE SET
        concept_id = excluded.concept_id, history = excluded.history,
        updated_at = excluded.updated_at
"""
SELECT_SESSION = """
    SELECT message_id, owner_id, scope, map_id, concept_id, history FROM sessions
    WHERE message_id = ?
"""

# -- usage and limits ---------------------------------------------------------

INSERT_USAGE = """
    INSERT INTO usage (scope, user_id, request, kind, model, input_tokens, output_tokens,
                       cache_read_tokens, cache_write_tokens, web_searches, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# What a usage row counts against the budget: its tokens, and its web searches at their
# price in tokens (``SEARCH_TOKENS``).
SPENT = (
    "input_tokens + output_tokens + cache_read_tokens + cache_write_tokens"
    f" + web_searches * {SEARCH_TOKENS}"
)
SUM_SCOPE_USAGE = f"""
    SELECT COUNT(*), COALESCE(SUM({SPENT}), 0), COALESCE(SUM(web_searches), 0)
    FROM usage WHERE scope = ? AND created_at >= ?
"""
# When each of a user's generations in the cooldown window started, in any server: a
# recorded one once however many calls it took, one under way from now (its usage row
# will be as late). One statement, so one settling meanwhile is seen exactly once.
SELECT_USER_STARTS = """
    SELECT MIN(created_at) FROM usage WHERE user_id = ? AND created_at > ? GROUP BY request
    UNION ALL
    SELECT ? FROM reservations WHERE user_id = ? AND expires_at > ?
"""
# A scope's tokens today, recorded or reserved; one statement for the same reason.
SUM_SCOPE_SPENT = f"""
    SELECT (SELECT COALESCE(SUM({SPENT}), 0)
            FROM usage WHERE scope = ? AND created_at >= ?)
         + (SELECT COALESCE(SUM(tokens), 0) FROM reservations WHERE scope = ? AND expires_at > ?)
"""
INSERT_RESERVATION = """
    INSERT INTO reservations (scope, user_id, tokens, created_at, expires_at)
    VALUES (?, ?, ?, ?, ?)
    RETURNING id
"""
DELETE_RESERVATION = "DELETE FROM reservations WHERE id = ?"
TOP_USERS = f"""
    SELECT user_id, SUM({SPENT}) AS tokens
    FROM usage WHERE scope = ? AND created_at >= ? AND user_id IS NOT NULL
    GROUP BY user_id ORDER BY tokens DESC LIMIT ?
"""

# -- settings -----------------------------------------------------------------

SELECT_SCOPE_SETTINGS = """
    SELECT language, daily_token_budget, level, sources, prefer_domains, block_domains
    FROM scope_settings WHERE scope = ?
"""
UPSERT_SCOPE_SETTINGS = """
    INSERT INTO scope_settings (scope, language, daily_token_budget, level, sources,
                                prefer_domains, block_domains)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (scope) DO UPDATE SET
        language = excluded.language, daily_token_budget = excluded.daily_token_budget,
        level = excluded.level, sources = excluded.sources,
        prefer_domains = excluded.prefer_domains, block_domains = excluded.block_domains
"""

# -- refusals -----------------------------------------------------------------

UPSERT_REFUSAL = """
    INSERT INTO refusals (scope, key, until) VALUES (?, ?, ?)
    ON CONFLICT (scope, key) DO UPDATE SET until = excluded.until
"""
SELECT_REFUSAL = "SELECT until FROM refusals WHERE scope = ? AND key = ? AND until > ?"

# -- answers ------------------------------------------------------------------

ANSWER_COLUMNS = "SELECT id, scope, map_id, concept_id, question, text, model, sources FROM answers"
SELECT_ANSWER = ANSWER_COLUMNS + " WHERE id = ?"
SELECT_ANSWER_BY_QUESTION = (
    ANSWER_COLUMNS + " WHERE map_id = ? AND COALESCE(concept_id, 0) = ? AND question_key = ?"
)
# The first answer stored for a question wins; a second one made meanwhile is dropped.
INSERT_ANSWER = """
    INSERT INTO answers (scope, map_id, concept_id, question_key, question, text, model,
                         created_at, sources)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING
"""

# Each time a member is answered; their Share button carries the id.
INSERT_ASK = "INSERT INTO asks (answer_id, user_id, created_at) VALUES (?, ?, ?) RETURNING id"
SELECT_ASK = "SELECT id, answer_id, user_id, shared_at FROM asks WHERE id = ?"
# The flag is set by the statement that claims the share: of two presses at once, the
# second finds it set and changes nothing.
CLAIM_SHARE = "UPDATE asks SET shared_at = ? WHERE id = ? AND user_id = ? AND shared_at IS NULL"
RELEASE_SHARE = "UPDATE asks SET shared_at = NULL WHERE id = ?"

# -- meanings and aliases -----------------------------------------------------

MEANING_COLUMNS = "SELECT id, scope, key, topic, title, line FROM meanings"
SELECT_MEANINGS = MEANING_COLUMNS + " WHERE scope = ? AND key = ? ORDER BY position"
SELECT_MEANING = MEANING_COLUMNS + " WHERE id = ?"
# The first meanings stored for a topic win; a second answer made meanwhile is dropped.
INSERT_MEANING = """
    INSERT INTO meanings (scope, key, topic, position, title, line) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING
"""
UPSERT_ALIAS = """
    INSERT INTO aliases (scope, alias, key) VALUES (?, ?, ?)
    ON CONFLICT (scope, alias) DO UPDATE SET key = excluded.key
"""
SELECT_ALIAS = "SELECT key FROM aliases WHERE scope = ? AND alias = ?"

# -- retries of failed new topics ---------------------------------------------

INSERT_RETRY = """
    INSERT INTO retries (scope, topic, meaning_id, created_at) VALUES (?, ?, ?, ?)
    RETURNING id
"""
SELECT_RETRY = "SELECT id, scope, topic, meaning_id FROM retries WHERE id = ?"

# -- upkeep -------------------------------------------------------------------

PRUNE_SESSIONS = "DELETE FROM sessions WHERE updated_at < ?"
PRUNE_REFUSALS = "DELETE FROM refusals WHERE until <= ?"
PRUNE_USAGE = "DELETE FROM usage WHERE created_at < ?"
PRUNE_RETRIES = "DELETE FROM retries WHERE created_at < ?"
PRUNE_RESERVATIONS = "DELETE FROM reservations WHERE expires_at <= ?"
PRUNE_ASKS = "DELETE FROM asks WHERE created_at < ?"

# -- meta ---------------------------------------------------------------------

SELECT_META = "SELECT value FROM meta WHERE key = ?"
UPSERT_META = """
    INSERT INTO meta (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""

# -- whole tables, for ``db copy`` --------------------------------------------

# Filled with names read from the schema (``tables()``, a table's columns), never typed ones.
COUNT_ROWS = "SELECT COUNT(*) FROM {table}"
SELECT_ROWS = "SELECT {columns} FROM {table} ORDER BY {order}"
INSERT_ROWS = "INSERT INTO {table} ({columns}) VALUES ({placeholders})"

# -- members' own material (materials.py) ---------------------------------------------

_MATERIAL_COLUMNS = """map_id, kind, name, title, media_type, digest, request, pages, file_id,
       shared_by, language, created_at"""
INSERT_MATERIAL = """
    INSERT INTO materials (map_id, kind, name, title, media_type, data, digest, request, pages,
                           shared_by, language, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
MARK_MATERIAL_MAP = "UPDATE maps SET material = ? WHERE id = ?"
SELECT_MATERIAL = f"SELECT {_MATERIAL_COLUMNS} FROM materials WHERE map_id = ?"
SELECT_MATERIAL_DATA = "SELECT data FROM materials WHERE map_id = ?"
SELECT_MATERIAL_MAP = """
    SELECT m.id FROM materials x JOIN maps m ON m.id = x.map_id
    WHERE m.scope = ? AND x.digest = ? AND x.request = ?
    ORDER BY m.id LIMIT 1
"""
UPDATE_MATERIAL_FILE = "UPDATE materials SET file_id = ? WHERE map_id = ?"
DELETE_MATERIAL = "DELETE FROM materials WHERE map_id = ?"

# Curated maps translated (storage/translations.py).
SELECT_TRANSLATION = """
    SELECT source_hash, content, model FROM translations
    WHERE source_key = ? AND language = ? AND part = ?
"""
SAVE_TRANSLATION = """
    INSERT INTO translations
        (source_key, language, part, source_hash, content, model, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (source_key, language, part) DO UPDATE SET
        source_hash = excluded.source_hash, content = excluded.content,
        model = excluded.model, created_at = excluded.created_at
"""
