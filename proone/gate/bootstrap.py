"""What --bootstrap applies unsigned: the gate, row-level security, and their released hashes."""

from .fingerprint import migration_sha256

# Update only together with a reviewed change of proone/gate/migrations/; a test keeps them equal.
GATE_MIGRATIONS = {
    "0001_initial": "97b8181f1275cf955412c1ec53ba8ebea6bab56629fdb883193c7524ef6965e3",
    "0002_audit_append_only": "4cdb7d1043c9651b98f1ae8100714d772451e79e0a6bc09d3986ed05cfa58acf",
    "0003_signed_signoffs_attempts": (
        "bdd74aa443dc20db40e94785f0f6cebc2592a2f318f89b86b26357f330569ee9"
    ),
}

# Every scope (the gate's own included, once the app serves) sends its principal through
# proone_enter(), which the database layer's migration creates, so an empty database gets it
# with the gate, with the package migrations it stands on (auth, contenttypes, sessions,
# guardian, admin: their tables carry its policies).
ROW_LEVEL_SECURITY = ("divisions", "0006_squashed_0015_database_layer")

# The project's migrations that bootstrap applies unsigned: the database layer and the tables
# it is stated on. Applied files never change, so these hashes are fixed; a test keeps them
# equal.
PROJECT_MIGRATIONS = {
    "divisions.0001_squashed_0002_organisation": (
        "76400d05be27604a32c06babe323a6e71a9651bcf127393e191f9a02d0f753b9"
    ),
    "divisions.0003_squashed_0005_same_tenant_keys": (
        "231d7c6681a2193dfae2ebe6e929cf068d564d88631233c4006fac14b5877a01"
    ),
    "divisions.0006_squashed_0015_database_layer": (
        "5d304d693e6c8c20004b27461902657822ead92f17e918b70c697bb69058d279"
    ),
    "jobs.0001_squashed_0002_jobs": (
        "279e5a577fc1597fe97e85ab190fc2993ff60566ae5b44302379ff7bec85ec41"
    ),
    "jobs.0003_squashed_0006_notes": (
        "0f07660161693f7f428f2a56b8865a17507f783f6c872b5a8b7193da0679128e"
    ),
}


def released_sha256(app_label, name):
    """The manifest's hash of a project migration bootstrap may apply, or None."""
    if app_label == "gate":
        return GATE_MIGRATIONS.get(name)
    return PROJECT_MIGRATIONS.get(f"{app_label}.{name}")


def _released_file(migration):
    expected = released_sha256(migration.app_label, migration.name)
    return expected is not None and expected == migration_sha256(migration)


def released(loader, migration):
    """True when `migration` is a released file: in the manifest with its released content, or
    one of the migrations a released squashed migration replaces."""
    if _released_file(migration):
        return True
    key = (migration.app_label, migration.name)
    return any(
        key in (squashed.replaces or []) and _released_file(squashed)
        # An offline reader of single files (the lint's corpus) has no others to look at.
        for squashed in getattr(loader, "disk_migrations", {}).values()
    )
