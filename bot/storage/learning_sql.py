"""The statements of learning together (``quizzes.py``, ``learning.py``): what members
explored, quizzes, review decks, names, threads. ``?`` placeholders, SQL both backends run
alike, as in ``sql.py``; the schema is migration 13's."""

# -- what each member explored -------------------------------------------------

# Run before the exploration row goes in: a member's first concept of a map makes them
# one more of its explorers.
COUNT_EXPLORER = """
    UPDATE maps SET explorers = explorers + 1
    WHERE id = (SELECT map_id FROM concepts WHERE id = ?)
      AND NOT EXISTS (SELECT 1 FROM explored e WHERE e.map_id = maps.id AND e.user_id = ?)
    RETURNING id
"""
INSERT_EXPLORED = """
    INSERT INTO explored (concept_id, user_id, map_id, scope, first_at)
    SELECT id, ?, map_id, ?, ? FROM concepts WHERE id = ?
    ON CONFLICT (concept_id, user_id) DO NOTHING
"""
# The member's maps in the scope with how many of their concepts they opened.
MEMBER_MAPS = """
    SELECT m.id, m.topic, COUNT(*) AS explored, m.total
    FROM explored e JOIN maps m ON m.id = e.map_id
    WHERE e.scope = ? AND e.user_id = ? AND m.scope = e.scope
    GROUP BY m.id, m.topic, m.total
    ORDER BY explored DESC, lower(m.topic), m.id
    LIMIT ?
"""
TOP_EXPLORERS = """
    SELECT e.user_id, COUNT(*) AS explored
    FROM explored e JOIN maps m ON m.id = e.map_id
    WHERE e.scope = ? AND e.first_at >= ? AND m.scope = e.scope
    GROUP BY e.user_id
    ORDER BY explored DESC, e.user_id
    LIMIT ?
"""

# -- quizzes -------------------------------------------------------------------

INSERT_QUIZ = """
    INSERT INTO quizzes (scope, channel_id, map_id, concept_id, starter_id, seconds, questions,
                         written_by, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    RETURNING id
"""
QUIZ_COLUMNS = """
    SELECT id, scope, channel_id, map_id, concept_id, starter_id, seconds, questions, written_by
    FROM quizzes
"""
SELECT_QUIZ = QUIZ_COLUMNS + " WHERE id = ?"
INSERT_QUESTION = """
    INSERT INTO quiz_questions (quiz_id, position, concept_id, prompt, options, correct,
                                explanation)
    VALUES (?, ?, ?, ?, ?, ?, ?)
"""
QUESTION_COLUMNS = """
    SELECT id, quiz_id, position, concept_id, prompt, options, correct, explanation, state,
           message_id, deadline
    FROM quiz_questions
"""
SELECT_QUESTION = QUESTION_COLUMNS + " WHERE id = ?"
SELECT_OPEN_QUESTIONS = QUESTION_COLUMNS + " WHERE state = 'open' ORDER BY deadline, id"
# Opening a question starts its clock; only a waiting one opens, so it opens once.
OPEN_QUESTION = """
    UPDATE quiz_questions SET state = 'open', deadline = ?
    WHERE quiz_id = ? AND position = ? AND state = 'waiting'
    RETURNING id
"""
SET_QUESTION_MESSAGE = "UPDATE quiz_questions SET message_id = ? WHERE id = ?"
# Claiming a posting: a question opened by a process that stopped before posting it is
# posted by the first process to claim it (0: being posted).
CLAIM_POSTING = "UPDATE quiz_questions SET message_id = 0 WHERE id = ? AND message_id IS NULL"
# The one statement that closes a question: of every process and timer that tries, one
# changes the row. ``due``: a timer closes it only once its deadline has passed.
CLOSE_QUESTION = """
    UPDATE quiz_questions SET state = 'closed', closed_at = ?
    WHERE id = ? AND state = 'open' AND (? = 0 OR deadline <= ?)
    RETURNING quiz_id, position
"""
# An answer first takes the question's row: it waits for a close under way, and counts
# only while the question is open (a close after it waits for it in turn).
TAKE_ANSWER = """
    UPDATE quiz_questions SET answered = answered + 1
    WHERE id = ? AND state = 'open' AND deadline > ?
"""
UNTAKE_ANSWER = "UPDATE quiz_questions SET answered = answered - 1 WHERE id = ?"
INSERT_ANSWER = """
    INSERT INTO quiz_answers (question_id, user_id, scope, choice, correct, answered_at)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (question_id, user_id) DO NOTHING
"""
SELECT_MEMBER_ANSWER = "SELECT choice FROM quiz_answers WHERE question_id = ? AND user_id = ?"
QUESTION_STATE = "SELECT state, deadline FROM quiz_questions WHERE id = ?"
# Every answer to a question, first answered first, with the name the member had then.
TALLY = """
    SELECT a.user_id, COALESCE(n.name, ''), a.choice, a.correct
    FROM quiz_answers a LEFT JOIN member_names n ON n.scope = a.scope AND n.user_id = a.user_id
    WHERE a.question_id = ?
    ORDER BY a.answered_at, a.user_id
"""
ROUND_SCORES = """
    SELECT a.user_id, COALESCE(MAX(n.name), ''), SUM(a.correct), COUNT(*)
    FROM quiz_answers a
    JOIN quiz_questions q ON q.id = a.question_id
    LEFT JOIN member_names n ON n.scope = a.scope AND n.user_id = a.user_id
    WHERE q.quiz_id = ?
    GROUP BY a.user_id
    ORDER BY SUM(a.correct) DESC, MIN(a.answered_at), a.user_id
    LIMIT ?
"""
TOP_SCORERS = """
    SELECT user_id, SUM(correct) AS score
    FROM quiz_answers WHERE scope = ? AND answered_at >= ?
    GROUP BY user_id HAVING SUM(correct) > 0
    ORDER BY score DESC, user_id
    LIMIT ?
"""
MEMBER_SCORE = """
    SELECT COALESCE(SUM(correct), 0), COUNT(*) FROM quiz_answers WHERE scope = ? AND user_id = ?
"""
CONCEPT_QUESTION_COLUMNS = (
    "SELECT concept_id, prompt, options, correct, explanation FROM concept_questions"
)
SELECT_CONCEPT_QUESTIONS = CONCEPT_QUESTION_COLUMNS + " WHERE concept_id IN ({ids})"
# The first question written for a concept wins; one written meanwhile is dropped.
INSERT_CONCEPT_QUESTION = """
    INSERT INTO concept_questions (concept_id, prompt, options, correct, explanation, model,
                                   created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (concept_id) DO NOTHING
"""

# -- names ---------------------------------------------------------------------

UPSERT_NAME = """
    INSERT INTO member_names (scope, user_id, name) VALUES (?, ?, ?)
    ON CONFLICT (scope, user_id) DO UPDATE SET name = excluded.name
"""
SELECT_NAMES = "SELECT user_id, name FROM member_names WHERE scope = ? AND user_id IN ({ids})"

# -- review decks --------------------------------------------------------------

CARD_COLUMNS = """
    SELECT id, user_id, concept_id, topic, title, prompt, answer, fsrs, due, added_at
    FROM review_cards
"""
INSERT_CARD = """
    INSERT INTO review_cards (user_id, concept_id, topic, title, prompt, answer, fsrs, due,
                              added_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (user_id, concept_id) DO NOTHING
"""
SELECT_CARD = CARD_COLUMNS + " WHERE id = ?"
SELECT_CARD_OF_CONCEPT = CARD_COLUMNS + " WHERE user_id = ? AND concept_id = ?"
FIRST_DUE = CARD_COLUMNS + " WHERE user_id = ? AND due <= ? ORDER BY due, id LIMIT 1"
COUNT_DUE = "SELECT COUNT(*) FROM review_cards WHERE user_id = ? AND due <= ?"
NEXT_DUE = "SELECT MIN(due) FROM review_cards WHERE user_id = ? AND due > ?"
COUNT_CARDS = "SELECT COUNT(*) FROM review_cards WHERE user_id = ?"
DECK_PAGE = CARD_COLUMNS + " WHERE user_id = ? ORDER BY due, id LIMIT ? OFFSET ?"
WHOLE_DECK = CARD_COLUMNS + " WHERE user_id = ? ORDER BY added_at, id"
UPDATE_CARD = "UPDATE review_cards SET fsrs = ?, due = ? WHERE id = ? AND user_id = ?"
INSERT_REVIEW = """
    INSERT INTO review_log (user_id, card_id, rating, reviewed_at) VALUES (?, ?, ?, ?)
"""
DELETE_CARD = "DELETE FROM review_cards WHERE id = ? AND user_id = ?"
REVIEW_TIMES = """
    SELECT reviewed_at FROM review_log WHERE user_id = ? AND reviewed_at >= ?
    ORDER BY reviewed_at DESC
"""

# -- threads and the forum -----------------------------------------------------

SELECT_THREAD = "SELECT thread_id FROM threads WHERE kind = ? AND target = ? AND channel_id = ?"
UPSERT_THREAD = """
    INSERT INTO threads (scope, kind, target, channel_id, thread_id, created_at)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (kind, target, channel_id) DO UPDATE SET thread_id = excluded.thread_id,
        created_at = excluded.created_at
"""
THREAD_TARGET = "SELECT kind, target FROM threads WHERE thread_id = ? ORDER BY id LIMIT 1"
SELECT_FORUM = "SELECT forum_channel FROM learning_settings WHERE scope = ?"
UPSERT_FORUM = """
    INSERT INTO learning_settings (scope, forum_channel) VALUES (?, ?)
    ON CONFLICT (scope) DO UPDATE SET forum_channel = excluded.forum_channel
"""
