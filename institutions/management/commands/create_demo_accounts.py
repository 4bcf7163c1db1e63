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
        """What each demo account can do straight away, with the numbers of this database."""
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
        shown = edition.status_shown
        lines = [f"First steps ({edition.title_en}: {shown.label}; open http://127.0.0.1:8000 and sign in):"]
        if mine is not None and mine.status in (ReturnStatus.DRAFT, ReturnStatus.SENT_BACK):
            lines.append(
                f"  reporter   Home, \"Continue the return\": fill in the last sections "
                f"({', '.join(REPORTER_SECTIONS_LEFT)}), explain the warning about the change since "
                f"the previous edition, then \"Submit\"."
            )
        elif mine is not None:
            lines.append(f"  reporter   Home, \"View the return\": it is {mine.get_status_display().lower()}.")
        else:
            lines.append("  reporter   Home, \"Start our return\".")
        lines.append(
            f"  liaison    Home, \"{to_review} returns await review\": open one with \"Review\", then "
            f"\"Mark as reviewed\" or \"Send back to the reporter\"; {sent_back} sent back (Returns, status \"Sent back\") show the "
            f"comments the reporter reads."
        )
        lines.append(
            f"  admin      Home, \"{to_approve} returns await approval\": approve them; Completeness: "
            f"{not_started} institutions have not started, send them reminders"
            + (f"; National report: the {report.year} figures." if report else ".")
        )
        return lines
