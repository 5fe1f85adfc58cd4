"""What the job page's forms send: the fields and a fresh one-use token, as the page renders."""

from submits import tokens


def note_form(user, body):
    return {"body": body, tokens.FIELD: tokens.issue(user)}


def status_form(user, status, seen):
    return {"status": status, "seen": seen, tokens.FIELD: tokens.issue(user)}
