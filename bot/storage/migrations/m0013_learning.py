"""13: learning together: what each member explored, quizzes, review decks, threads.

- ``explored``: the concepts each member opened (once per member and concept), for
  /progress, the leaderboard and the map card's "explored by N members", whose count
  ``maps.explorers`` keeps on the map row like ``opened`` (migration 7).
- ``quizzes``, ``quiz_questions``, ``quiz_answers``: a round of questions posted in a
  channel, each open until its deadline; an answer's primary key is one per member, and a
  question is closed by the one statement that moves it from ``open`` to ``closed``.
- ``concept_questions``: the question Claude wrote for a concept, once, shared by every quiz.
- ``review_cards`` and ``review_log``: each member's own deck (the FSRS card as JSON, its due
  time in a column of its own to find what is due) and the reviews made (for the streak).
- ``member_names``: display names the bot was shown, so boards name members without pinging.
- ``threads``: the thread opened on a concept (Discuss) or the forum post of a map.
- ``learning_settings``: a server's forum channel for maps.
"""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        """CREATE TABLE explored (
            concept_id {bigint} NOT NULL REFERENCES concepts (id) ON DELETE CASCADE,
            user_id {bigint} NOT NULL,
            map_id {bigint} NOT NULL REFERENCES maps (id) ON DELETE CASCADE,
            scope {bigint} NOT NULL,
            first_at {real} NOT NULL,
            PRIMARY KEY (concept_id, user_id)
        )""",
        "CREATE INDEX explored_by_map ON explored (map_id, user_id)",
        "CREATE INDEX explored_by_scope ON explored (scope, first_at)",
        "ALTER TABLE maps ADD COLUMN explorers {bigint} NOT NULL DEFAULT 0",
        # {id}: a quiz's and a question's ids live on in buttons.
        """CREATE TABLE quizzes (
            id {id},
            scope {bigint} NOT NULL,
            channel_id {bigint} NOT NULL,
            map_id {bigint} NOT NULL REFERENCES maps (id) ON DELETE CASCADE,
            concept_id {bigint} REFERENCES concepts (id) ON DELETE SET NULL,
            starter_id {bigint} NOT NULL,
            seconds INTEGER NOT NULL,
            questions INTEGER NOT NULL,
            written_by TEXT,
            created_at {real} NOT NULL
        )""",
        """CREATE TABLE quiz_questions (
            id {id},
            quiz_id {bigint} NOT NULL REFERENCES quizzes (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            concept_id {bigint} REFERENCES concepts (id) ON DELETE SET NULL,
            prompt TEXT NOT NULL,
            options TEXT NOT NULL,
            correct INTEGER NOT NULL,
            explanation TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'waiting',
            answered INTEGER NOT NULL DEFAULT 0,
            message_id {bigint},
            deadline {real},
            closed_at {real},
            UNIQUE (quiz_id, position)
        )""",
        "CREATE INDEX quiz_questions_by_state ON quiz_questions (state, deadline)",
        """CREATE TABLE quiz_answers (
            question_id {bigint} NOT NULL REFERENCES quiz_questions (id) ON DELETE CASCADE,
            user_id {bigint} NOT NULL,
            scope {bigint} NOT NULL,
            choice INTEGER NOT NULL,
            correct INTEGER NOT NULL,
            answered_at {real} NOT NULL,
            PRIMARY KEY (question_id, user_id)
        )""",
        "CREATE INDEX quiz_answers_by_scope ON quiz_answers (scope, answered_at)",
        """CREATE TABLE concept_questions (
            concept_id {bigint} PRIMARY KEY REFERENCES concepts (id) ON DELETE CASCADE,
            prompt TEXT NOT NULL,
            options TEXT NOT NULL,
            correct INTEGER NOT NULL,
            explanation TEXT NOT NULL,
            model TEXT NOT NULL,
            created_at {real} NOT NULL
        )""",
        # A card keeps its own text: the deck is the member's, and outlives a forgotten map.
        """CREATE TABLE review_cards (
            id {id},
            user_id {bigint} NOT NULL,
            concept_id {bigint} REFERENCES concepts (id) ON DELETE SET NULL,
            topic TEXT NOT NULL,
            title TEXT NOT NULL,
            prompt TEXT NOT NULL,
            answer TEXT NOT NULL,
            fsrs TEXT NOT NULL,
            due {real} NOT NULL,
            added_at {real} NOT NULL
        )""",
        "CREATE UNIQUE INDEX review_cards_by_concept ON review_cards (user_id, concept_id)",
        "CREATE INDEX review_cards_by_due ON review_cards (user_id, due)",
        """CREATE TABLE review_log (
            id {rowid},
            user_id {bigint} NOT NULL,
            card_id {bigint},
            rating INTEGER NOT NULL,
            reviewed_at {real} NOT NULL
        )""",
        "CREATE INDEX review_log_by_user ON review_log (user_id, reviewed_at)",
        """CREATE TABLE member_names (
            scope {bigint} NOT NULL,
            user_id {bigint} NOT NULL,
            name TEXT NOT NULL,
            PRIMARY KEY (scope, user_id)
        )""",
        """CREATE TABLE threads (
            id {id},
            scope {bigint} NOT NULL,
            kind TEXT NOT NULL,
            target {bigint} NOT NULL,
            channel_id {bigint} NOT NULL,
            thread_id {bigint} NOT NULL,
            created_at {real} NOT NULL,
            UNIQUE (kind, target, channel_id)
        )""",
        "CREATE INDEX threads_by_thread ON threads (thread_id)",
        """CREATE TABLE learning_settings (
            scope {bigint} PRIMARY KEY,
            forum_channel {bigint}
        )""",
    ),
)
