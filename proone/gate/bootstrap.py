"""The released hashes of the gate's own migrations, which --bootstrap applies unsigned."""

# Update only together with a reviewed change of proone/gate/migrations/; a test keeps them equal.
GATE_MIGRATIONS = {
    "0001_initial": "97b8181f1275cf955412c1ec53ba8ebea6bab56629fdb883193c7524ef6965e3",
    "0002_audit_append_only": "4cdb7d1043c9651b98f1ae8100714d772451e79e0a6bc09d3986ed05cfa58acf",
}
