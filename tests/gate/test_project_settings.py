"""The gate takes its system scope and the app role's read-only tables from the settings, and
a system check names a setting it cannot use."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from divisions.dbroles import APP_READS_ONLY
from divisions.scoping import current_scope
from proone.gate.checks import check_project_settings
from proone.gate.project import app_reads_only, row_security_tables, system_scope


def test_the_project_settings_pass_the_check():
    assert check_project_settings(None) == []


def test_the_gate_runs_in_the_named_system_scope_and_reads_the_named_tables():
    with system_scope("gate test", database=False):
        scope = current_scope()
    assert scope.is_unscoped and scope.reason == "gate test"
    assert app_reads_only() == APP_READS_ONLY
    assert {"jobs_job", "divisions_user_groups", "submits_submit"} <= row_security_tables()


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("GATE_SYSTEM_SCOPE", None, "GATE_SYSTEM_SCOPE is not set"),
        ("GATE_SYSTEM_SCOPE", "divisions.scoping.nowhere", "cannot be imported"),
        ("GATE_SYSTEM_SCOPE", "divisions.dbroles.APP_READS_ONLY", "is not a context manager"),
        ("GATE_APP_READS_ONLY", "", "GATE_APP_READS_ONLY is not set"),
        ("GATE_APP_READS_ONLY", "divisions.scoping.unscoped", "is not a list or tuple"),
        ("GATE_ROW_SECURITY", None, "GATE_ROW_SECURITY is not set"),
        ("GATE_ROW_SECURITY", "divisions.dbroles.APP_READS_ONLY", "is not a function"),
        ("GATE_TENANT_APPS", "jobs", "is not a list or tuple of app labels"),
    ],
)
def test_an_unusable_setting_is_a_system_check_error(setting, value, says):
    with override_settings(**{setting: value}):
        [error] = check_project_settings(None)
    assert error.id == "gate.E001" and says in error.msg


@override_settings(GATE_SYSTEM_SCOPE="divisions.scoping.nowhere")
def test_an_unusable_system_scope_is_refused_before_any_work():
    with pytest.raises(ImproperlyConfigured, match="GATE_SYSTEM_SCOPE"):
        system_scope("gate test")
