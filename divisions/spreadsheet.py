"""CSV cells a spreadsheet shows as text, never runs as a formula (CSV injection)."""

# A spreadsheet runs a cell as a formula when it starts with one of these, after any leading
# spaces or line breaks; the full-width forms count too, as some spreadsheets fold them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def spreadsheet_safe(value):
    """`value` as a CSV cell: text that could start a formula gets a leading quote."""
    text = str(value)
    risky = text.startswith(FORMULA_STARTS) or text.lstrip(" \t\r\n").startswith(FORMULA_STARTS)
    return f"'{text}" if risky else text
