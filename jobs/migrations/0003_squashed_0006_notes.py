"""Job notes, and the indexes the list and its sorts read."""

import django.db.models.deletion
import django.db.models.functions.text
import django.db.models.lookups
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [
        ('jobs', '0003_jobnote'),
        ('jobs', '0004_sort_indexes'),
        ('jobs', '0005_division_covering_index'),
        ('jobs', '0006_division_title_index'),
    ]

    dependencies = [
        ('jobs', '0001_squashed_0002_jobs'),
        ('divisions', '0003_squashed_0005_same_tenant_keys'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='JobNote',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('author_name', models.CharField(blank=True, max_length=150)),
                ('body', models.TextField(max_length=2000)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('author', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notes', to='jobs.job')),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='divisions.tenant')),
            ],
            options={
                'ordering': ['created_at', 'id'],
                'base_manager_name': 'objects',
            },
        ),
        migrations.AddIndex(
            model_name='job',
            index=models.Index(fields=['tenant', '-created_at', '-id'], name='job_tenant_newest'),
        ),
        migrations.AddIndex(
            model_name='job',
            index=models.Index(fields=['division', '-created_at', '-id'], include=('tenant', 'status', 'title'), name='job_division_covering'),
        ),
        migrations.AddIndex(
            model_name='job',
            index=models.Index(fields=['tenant', 'title', '-created_at', '-id'], name='job_tenant_title'),
        ),
        migrations.AddIndex(
            model_name='job',
            index=models.Index(fields=['tenant', 'status', '-created_at', '-id'], name='job_tenant_status'),
        ),
        migrations.AddIndex(
            model_name='job',
            index=models.Index(fields=['division', 'title', '-created_at', '-id'], name='job_division_title'),
        ),
        migrations.AddIndex(
            model_name='jobnote',
            index=models.Index(fields=['job', 'created_at', 'id'], name='jobnote_job_oldest'),
        ),
        migrations.AddConstraint(
            model_name='jobnote',
            constraint=models.CheckConstraint(condition=models.Q(django.db.models.lookups.GreaterThan(django.db.models.functions.text.Length('body'), 0), django.db.models.lookups.LessThanOrEqual(django.db.models.functions.text.Length('body'), 2000)), name='jobnote_body_length'),
        ),
    ]
