"""2: answers to readers' questions, one per card and normalized question."""

from bot.storage.migrations import Migration

MIGRATION = Migration(
    shared=(
        # {id}: an answer's id lives on in its Share button's custom_id.
        """CREATE TABLE answers (
            id {id},
            scope {bigint} NOT NULL,
            map_id {bigint} NOT NULL REFERENCES maps (id) ON DELETE CASCADE,
            concept_id {bigint} REFERENCES concepts (id) ON DELETE CASCADE,
            question_key TEXT NOT NULL,
            question TEXT NOT NULL,
            text TEXT NOT NULL,
            model TEXT NOT NULL,
            created_at {real} NOT NULL
        )""",
        # The map's own card has no concept: 0 stands for it, as no concept has id 0.
        """CREATE UNIQUE INDEX answers_by_question
            ON answers (map_id, (COALESCE(concept_id, 0)), question_key)""",
    ),
)
