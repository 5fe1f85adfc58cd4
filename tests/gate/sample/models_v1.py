from django.db import models


class Widget(models.Model):
    name = models.CharField(max_length=100)
    note = models.CharField(max_length=50, null=True)

    class Meta:
        app_label = "sampleapp"
