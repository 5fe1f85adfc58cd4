"""
The visibility rule for the ORM, one job per module.

User U may see job J if and only if U is active, U has a tenant, J's tenant is U's tenant, and
U is a tenant admin, or J has a division D and one of: D is U's division; D's DataScope
`is_everyone`; U's division is in D's DataScope `divisions`.

cases.py              the rule's cases, named, as conditions on a division
visible_divisions.py  the divisions whose jobs a user may see, as a subquery
loaded_divisions.py   those divisions brought with a request's user row, while still good
rule.py               job_filter: the rule as the filter of every scoped job query
why.py                which case of the rule shows a job to a user
explain.py            explain, both ways: who sees a division's jobs, what a user sees, by case
writes.py             the write rule: what a scoped update, delete or save may reach
choices.py            the divisions a user may pick in a filter
matrix.py             the access matrix: which divisions' members see which divisions' jobs

Everything reads only the user's own columns (tenant_id, division_id, flags) and builds a
filter the database evaluates in the same statement, so a scoped query is one round trip.
"""
