"""FirstUseAuthenticator whose logout also invalidates the login cookie.

JupyterHub's login cookie carries the user's ``cookie_id``, which stays the
same across sessions: a copy of the cookie taken before logout would still log
in afterwards. Logging out here gives the user a new ``cookie_id``, so every
earlier login cookie of that user (in any browser) stops working.
"""

from __future__ import annotations

from firstuseauthenticator import FirstUseAuthenticator
from jupyterhub.handlers import LogoutHandler
from jupyterhub.utils import new_token


class RotatingLogoutHandler(LogoutHandler):
    """Log out, then rotate the user's cookie id so old login cookies are refused."""

    async def handle_logout(self):
        user = self.current_user
        if user is not None:
            user.orm_user.cookie_id = new_token()
            self.db.commit()


class RosterAuthenticator(FirstUseAuthenticator):
    """Enrolled users with first-use passwords; logout ends every session of the user."""

    def get_handlers(self, app):
        # The authenticator's handlers are registered before the hub's own /logout.
        return [*super().get_handlers(app), (r"/logout", RotatingLogoutHandler)]
