"""What every admin page that changes survey data shares: its History button shows the audit
trail (``AuditEvent``) of the object rather than Django's admin log, and the helpers admin
pages use to hand their validated forms to the services that write and audit. Pages of data
changed elsewhere are read-only (``ReadOnlyAdminMixin``), so nothing bypasses the audit."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.shortcuts import redirect
from django.urls import reverse


def audit_trail_url(model, object_id) -> str:
    """The admin's list of the audit events about one object."""
    subject_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    query = urlencode({"subject_type": subject_type.pk, "subject_id": object_id})
    return f"{reverse('admin:reporting_auditevent_changelist')}?{query}"


class ReadOnlyAdminMixin:
    """Shown here, changed elsewhere: no add, change or delete (`obj` as inlines pass it)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditTrailHistoryMixin:
    """The History button lists the object's audit events (the admin's own log misses every
    change made outside the admin)."""

    def history_view(self, request, object_id, extra_context=None):
        return redirect(audit_trail_url(self.model, unquote(object_id)))


def form_changes(form, fields) -> dict:
    """The cleaned values of the fields the person changed (a field they did not touch is not
    sent to the service, so it cannot overwrite a change made meanwhile)."""
    return {name: form.cleaned_data[name] for name in form.changed_data if name in fields}


def instance_adopt(instance: models.Model, saved: models.Model) -> None:
    """Make the admin's unsaved instance the row a service saved (the admin goes on to show
    it and link to it)."""
    for field in saved._meta.concrete_fields:
        setattr(instance, field.attname, getattr(saved, field.attname))
    instance._state.adding = False
    instance._state.db = saved._state.db
