"""The password policy for accounts created in the application (IT-57), the NIST SP 800-63B way:
length instead of composition rules, and a refusal of what an attacker tries first: common and
breached passwords, dictionary words, repeated characters, simple sequences and the username.

How guessable a password is comes from zxcvbn: its ranked lists (30,000 passwords from breach
corpora, English words, names) and its patterns (repeats, sequences, keyboard walks, dates, l33t).
"""

from __future__ import annotations

from collections import Counter

from zxcvbn import zxcvbn

from policies.errors import AppError, ErrorCode

MIN_LENGTH = 12
MAX_LENGTH = 256
# zxcvbn's score 3 is at least 10^8 guesses; below it the password is a listed one, a word or a pattern.
MIN_SCORE = 3
# zxcvbn's matching grows with the square of the length; whatever makes a password guessable shows in
# its first characters, and a long tail of one character is caught by the repetition check.
ESTIMATE_CHARS = 72
# A shorter username (say "qa") is a common letter pair, not something an attacker would try.
MIN_USERNAME_IN_PASSWORD = 3


def _refuse(message: str) -> AppError:
    return AppError(ErrorCode.VALIDATION_FAILED, f"password refused: {message}")


def check_password(password: str, username: str) -> None:
    """Raise VALIDATION_FAILED with the reason if `password` may not be set for `username`."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise _refuse(f"it must have {MIN_LENGTH} to {MAX_LENGTH} characters")
    name = username.strip().casefold()
    if len(name) >= MIN_USERNAME_IN_PASSWORD and name in password.casefold():
        raise _refuse("it contains the username")
    if 2 * Counter(password.casefold()).most_common(1)[0][1] >= len(password):
        raise _refuse("it is mostly one repeated character")
    estimate = zxcvbn(password[:ESTIMATE_CHARS], user_inputs=[name], max_length=ESTIMATE_CHARS)
    if estimate["score"] < MIN_SCORE:
        why = estimate["feedback"]["warning"] or "it is a common password, a word or a simple pattern."
        raise _refuse(f"it is too easy to guess. {why} Use a longer phrase of several uncommon words.")
