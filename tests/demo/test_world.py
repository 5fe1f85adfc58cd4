"""seed_demo: the readable demo world, built once, with the logins the README promises."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from divisions.models import Division, Tenant, User
from divisions.scoping import acting_as, unscoped
from jobs.models import Job, JobNote


class TestSeedDemo:
    @override_settings(DEBUG=True)
    def test_builds_the_world_once(self, db, capsys):
        call_command("seed_demo")
        out = capsys.readouterr().out
        assert "sam-sparks" in out and "proone-demo" in out
        with unscoped("check"):
            counts = (Tenant.objects.count(), Division.objects.count(), Job.objects.count())
        call_command("seed_demo")
        assert "nothing changed" in capsys.readouterr().out
        with unscoped("check"):
            assert (Tenant.objects.count(), Division.objects.count(), Job.objects.count()) == counts
        assert counts[0] == 2 and counts[2] > 200

    @override_settings(DEBUG=True)
    def test_demo_logins_see_what_they_are_said_to(self, db):
        call_command("seed_demo")
        with unscoped("check"):
            sam = User.objects.get(username="sam-sparks")
            manager = User.objects.get(username="acme-manager")
        with acting_as(sam):
            # Apart from the divisions' names: a Citus cluster refuses to join the two.
            seen = set(Job.objects.values_list("division_id", flat=True))
        with unscoped("check"):
            names = set(Division.objects.filter(pk__in=seen).values_list("name", flat=True))
        assert None not in seen
        assert names == {"Sparks Subcontracting", "Electrical", "Plumbing"}
        with acting_as(sam):
            # Sam reads the notes on the jobs he may see, his own among them, and no others.
            authors = set(JobNote.objects.values_list("author_name", flat=True))
            assert authors == {"sam-sparks", "acme-manager", "acme-admin"}
        with unscoped("check"):
            electrical = Division.objects.get(name="Electrical")
            assert manager.has_perm("divisions.change_datascope", electrical.data_scope)
            assert not manager.has_perm(
                "divisions.change_datascope", Division.objects.get(name="Plumbing").data_scope
            )

    @override_settings(DEBUG=False)
    def test_refuses_without_debug(self, db):
        with pytest.raises(CommandError, match="DEBUG"):
            call_command("seed_demo")

    @override_settings(DEBUG=True)
    def test_bad_size_is_a_clear_error(self, db):
        with pytest.raises(CommandError, match="0 or more"):
            call_command("seed_demo", "--jobs-per-division", "-1")
