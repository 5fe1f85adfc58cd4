"""DATABASE_REPLICA_URL in the settings: absent changes nothing, a non-PostgreSQL one is refused."""

from django.conf import settings

from divisions.replica_reads import REPLICA
from tests.settings_probe import settings_print


def settings_of(**environment):
    """The DATABASES aliases and routers that proone.settings makes from `environment`."""
    return settings_print(
        "sorted(s.DATABASES), getattr(s, 'DATABASE_ROUTERS', [])",
        unset_prefix="DATABASE_REPLICA",
        **environment,
    )


def test_without_a_replica_url_there_is_one_database_and_no_router():
    assert REPLICA not in settings.DATABASES
    assert settings.DATABASE_ROUTERS == []
    result = settings_of()
    assert result.stdout.strip() == "['default'] []", result.stderr


def test_a_replica_url_adds_the_alias_and_the_router():
    result = settings_of(DATABASE_REPLICA_URL="postgres://app:pw@127.0.0.1:1/proone")
    assert result.stdout.strip() == (
        "['default', 'replica'] ['divisions.replicas.ReplicaRouter']"
    ), result.stderr


def test_a_replica_that_is_not_postgresql_is_refused_with_the_fix():
    result = settings_of(DATABASE_REPLICA_URL="sqlite:///other.sqlite3")
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL must name a PostgreSQL standby" in result.stderr
