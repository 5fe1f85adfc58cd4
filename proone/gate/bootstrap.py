"""The released hashes of the gate's own migrations, which --bootstrap applies unsigned."""

# Update only together with a reviewed change of proone/gate/migrations/; a test keeps them equal.
GATE_MIGRATIONS = {
    "0001_initial": "97b8181f1275cf955412c1ec53ba8ebea6bab56629fdb883193c7524ef6965e3",
    "0002_audit_append_only": "6dc54b7634c8d4ae5f73659c24f7891b909d431c8c442ecd47ee1b9c27a9d64d",
}
