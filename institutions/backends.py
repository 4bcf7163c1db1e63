"""Permissions: survey data is reached through a survey role, never through Django permissions.

Django's model permissions still govern everything else (accounts). For the survey's apps
(institutions, reporting) a user has a permission exactly when they are a society admin
(``institutions.Membership`` role ``admin``; superusers pass every check anyway): a staff
account without that role sees no survey-data page in the admin, whatever permissions or
groups it was given, and the role needs nothing else (the admin pages themselves say which
models are read-only). The role also lets a society admin look up accounts (to assign roles).
"""

from django.contrib.auth.backends import ModelBackend

from institutions.selectors import user_is_society_admin

SURVEY_APPS = frozenset({"institutions", "reporting", "api"})
SOCIETY_ADMIN_EXTRA_PERMISSIONS = frozenset({"auth.view_user"})


class SurveyRoleBackend(ModelBackend):
    def has_perm(self, user_obj, perm, obj=None):
        app_label = perm.partition(".")[0]
        if app_label in SURVEY_APPS:
            return user_is_society_admin(user_obj)
        if perm in SOCIETY_ADMIN_EXTRA_PERMISSIONS and user_is_society_admin(user_obj):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label):
        if app_label in SURVEY_APPS:
            return user_is_society_admin(user_obj)
        return super().has_module_perms(user_obj, app_label)
