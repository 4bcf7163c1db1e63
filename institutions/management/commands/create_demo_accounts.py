from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from institutions.models import Institution
from institutions.services import demo_accounts_create
from reporting.demo.open_edition import REPORTER_INSTITUTION_CODE, REPORTER_SECTIONS_LEFT
from reporting.models import ReturnStatus, SurveyReturn
from reporting.selectors import edition_current, edition_for_report


class Command(BaseCommand):
    help = (
        "Create (or reset) one demo account per role and print the usernames and passwords, "
        "with what each can try first in the demo (load_demo)."
    )

    def handle(self, *args, **options):
        # The demo's scenario is written around its first institution (see reporting.demo.open_edition).
        institution = Institution.objects.filter(code=REPORTER_INSTITUTION_CODE, active=True).first()
        try:
            accounts = demo_accounts_create(institution=institution)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("Demo accounts (for trying the app only; never use them in production):")
        for username, password, description in accounts:
            self.stdout.write(f"  {username:<10} password: {password:<18} {description}")
        # Command-line output is English, whatever the site's default language.
        with translation.override("en"):
            for line in self._first_steps(institution):
                self.stdout.write(line)

    def _first_steps(self, institution) -> list[str]:
        """What each demo account can do straight away, with the numbers of this database and
        the buttons named as the pages name them (Chinese first, then English)."""
        edition = edition_current()
        if institution is None or edition is None:
            return []
        returns = SurveyReturn.objects.filter(edition=edition)
        province = returns.filter(institution__province_id=institution.province_id)
        mine = returns.filter(institution=institution).first()
        to_review = province.filter(status=ReturnStatus.SUBMITTED).count()
        sent_back = province.filter(status=ReturnStatus.SENT_BACK).count()
        to_approve = returns.filter(status=ReturnStatus.REVIEWED).count()
        not_started = Institution.objects.active().count() - returns.count()
        report = edition_for_report()
        lines = [f"First steps ({edition.title_en}, {edition.status_shown.label}; "
                 f"http://127.0.0.1:8000, the pages are in Chinese, English with the language switch):"]
        if mine is not None and mine.status in (ReturnStatus.DRAFT, ReturnStatus.SENT_BACK):
            lines.append(
                f"  reporter   {_ui('Home')}, {_ui('Continue the return')}: fill in the last sections "
                f"({', '.join(REPORTER_SECTIONS_LEFT)}), explain the warning about the change since the "
                f"previous edition, then {_ui('Submit for review')}."
            )
        elif mine is not None:
            lines.append(f"  reporter   {_ui('Home')}, {_ui('View the return')}: it is {mine.get_status_display().lower()}.")
        else:
            lines.append(f"  reporter   {_ui('Home')}, {_ui('Start our return')}.")
        lines.append(
            f"  liaison    {_ui('Home')}, {_ui_count(AWAIT_REVIEW, to_review)}: open one with {_ui('Review')}, "
            f"then {_ui('Mark as reviewed')} or {_ui('Send back to the reporter')}. {_ui('Returns')}, status "
            f"{_ui('Sent back')}: {sent_back} already sent back, with the comments its reporter reads."
        )
        lines.append(
            f"  admin      {_ui('Home')}, {_ui_count(AWAIT_APPROVAL, to_approve)}: {_ui('Approve')} them; "
            f"{_ui('Completeness')}: {not_started} institutions have not started, e-mail them reminders"
            + (f"; {_ui('National report')}: the {report.year} figures." if report else ".")
        )
        return lines


AWAIT_REVIEW = ("%(counter)s return awaits review", "%(counter)s returns await review")
AWAIT_APPROVAL = ("%(counter)s return awaits approval", "%(counter)s returns await approval")


def _ui(message: str) -> str:
    """A label of the pages, as the reader sees it in Chinese and in English."""
    with translation.override("zh-hans"):
        chinese = translation.gettext(message)
    return f"“{chinese}” ({message})"


def _ui_count(messages: tuple[str, str], count: int) -> str:
    with translation.override("zh-hans"):
        chinese = translation.ngettext(*messages, count) % {"counter": count}
    return f"“{chinese}” ({translation.ngettext(*messages, count) % {'counter': count}})"
