"""The one function that hides secrets in every URL or message the framework prints or logs."""

from __future__ import annotations

import re

# `scheme://user:password@host`: the password (which may itself hold '@' or ':') up to the last '@' before a
# slash or blank; the user name stays visible so the message still says who tried to connect
_USERINFO = re.compile(r"([A-Za-z][\w+.-]*://[^:/@\s]*):[^\s/]*@")
# parameters that carry a secret wherever they appear (URL query, libpq DSN, free text): password=, token=, ...
_SECRET_ANYWHERE = re.compile(
    r"(?i)(\b(?:[\w-]*[_-])?(?:password|passwd|pwd|token|secret|credentials?)(?:[_-][\w-]*)?\s*=\s*)"
    r"[^&\s#'\",;]*"
)
# names too common in prose to mask everywhere, masked when they are URL query parameters: ?key=, &api_key=, &sig=
_SECRET_QUERY = re.compile(r"(?i)([?&;](?:[\w-]*[_-])?(?:key|apikey|sig|signature|auth)(?:[_-][\w-]*)?=)[^&\s#'\",;]*")


def mask(text: object) -> str:
    """`text` (a URL or a free-text message quoting URLs) with every password and secret-bearing parameter as ***.

    `postgresql://u:pw@h/db?password=x&token=y` -> `postgresql://u:***@h/db?password=***&token=***`;
    strings without secrets come back unchanged. None becomes "".
    """
    if text is None:
        return ""
    out = _USERINFO.sub(r"\1:***@", str(text))
    out = _SECRET_ANYWHERE.sub(r"\1***", out)
    return _SECRET_QUERY.sub(r"\1***", out)
