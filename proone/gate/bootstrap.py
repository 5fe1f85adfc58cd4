"""What --bootstrap applies unsigned: the gate, row-level security, and their released hashes."""

# Update only together with a reviewed change of proone/gate/migrations/; a test keeps them equal.
GATE_MIGRATIONS = {
    "0001_initial": "97b8181f1275cf955412c1ec53ba8ebea6bab56629fdb883193c7524ef6965e3",
    "0002_audit_append_only": "4cdb7d1043c9651b98f1ae8100714d772451e79e0a6bc09d3986ed05cfa58acf",
    "0003_signed_signoffs_attempts": (
        "bdd74aa443dc20db40e94785f0f6cebc2592a2f318f89b86b26357f330569ee9"
    ),
}

# Every scope (the gate's own included, once the app serves) sends its principal through
# proone_enter(), which this migration creates, so an empty database gets it with the gate.
ROW_LEVEL_SECURITY = ("divisions", "0003_row_level_security")

# The project's other migrations that bootstrap applies unsigned (row-level security and what
# it depends on). Applied files never change, so these hashes are fixed; a test keeps them equal.
PROJECT_MIGRATIONS = {
    "divisions.0001_initial": "31a506e0fcf922adde95fa9a0c4cd9a5b69bfc80e89831d8ca85f10baa1e14a5",
    "divisions.0002_datascopechange": (
        "98ffe6a1e6e9ad97c40edd50fadb0aadf802857d67fd2cafbde3686f71a85661"
    ),
    "divisions.0003_row_level_security": (
        "30e15b8d9756317ffd8da45cfe654e07c9e6d15dd9d82f7849dba56f2dcc8284"
    ),
    "jobs.0001_initial": "6e85e7f43c47e015785bec91cfb64cf443a52e79388c9004ec5e15e0ffedb704",
}


def released_sha256(app_label, name):
    """The manifest's hash of a project migration bootstrap may apply, or None."""
    if app_label == "gate":
        return GATE_MIGRATIONS.get(name)
    return PROJECT_MIGRATIONS.get(f"{app_label}.{name}")
