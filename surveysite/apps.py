from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The project itself as an app: its system checks, and django-axes' reset commands
    replaced by audited ones (listed before axes in INSTALLED_APPS, so its commands win)."""

    name = "surveysite"
    verbose_name = "surveysite"

    def ready(self):
        from surveysite import checks  # noqa: F401 - registers the checks
