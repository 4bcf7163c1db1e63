"""Who may see which institutions: decided here and nowhere else."""

from django.db.models import Q, QuerySet

from institutions.models import Institution, Membership, Role


def user_membership(user) -> Membership | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def user_is_society_admin(user) -> bool:
    membership = user_membership(user)
    return bool(membership and membership.role == Role.ADMIN) or bool(
        user is not None and user.is_authenticated and user.is_superuser
    )


def user_is_reviewer(user) -> bool:
    """A society admin or a provincial liaison: the people who review returns and may see
    figures before they are published."""
    if user_is_society_admin(user):
        return True
    membership = user_membership(user)
    return bool(membership and membership.role == Role.LIAISON)


def institution_visibility_q(*, user, path: str = "") -> Q | None:
    """The condition on Institution, reached through `path` (e.g. "institution__"), for the
    institutions `user` may see: a reporter their institution, a liaison their province, an
    admin all (an empty Q). None: none at all."""
    if user_is_society_admin(user):
        return Q()
    membership = user_membership(user)
    if membership is None:
        return None
    if membership.role == Role.REPORTER:
        return Q(**{f"{path}pk": membership.institution_id})
    if membership.role == Role.LIAISON:
        return Q(**{f"{path}province_id": membership.province_id})
    return None


def institution_list_visible_to(*, user) -> QuerySet[Institution]:
    """A reporter sees their institution, a liaison their province, an admin all."""
    institutions = Institution.objects.select_related("province")
    visible = institution_visibility_q(user=user)
    return institutions.none() if visible is None else institutions.filter(visible)
