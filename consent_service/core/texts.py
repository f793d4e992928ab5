"""The banner's UI texts: their keys and their English, the source of the gettext catalogs.

Each text is a `message(key, english)`: pybabel extracts it (keyword `message:1c,2`, see
docs/translations.md) with the key as its msgctxt and the English as its msgid, into
consent_service/locale/messages.pot; the translations are the `.po` files beside it, read by
config/catalogs.py (`texts_for`). The banner's build (banner_js/build.mjs) takes its built-in English
from the English catalog, and a test checks that its source's copy agrees. Only add keys, and
translate them in every language's `.po`.
"""

from __future__ import annotations


def message(key: str, english: str) -> tuple[str, str]:
    """A text marked for extraction: its key (the msgctxt) and its English (the msgid)."""
    return key, english


def plural_message(key: str, one: str, other: str) -> tuple[str, str, str]:
    """A text that shows a number (`{days}`): extracted with both English forms (`npgettext`)."""
    return key, one, other


BANNER_MESSAGES = (
    message("title", "Your privacy choices"),
    message(
        "intro_opt_in",
        "We use cookies and similar technologies for analytics, personalization and advertising. Choose "
        "what you allow; you can change it at any time.",
    ),
    message(
        "intro_opt_out",
        "We share personal information with advertising partners, which may be a sale or sharing under "
        "US state privacy laws. You can opt out at any time.",
    ),
    message("intro_notice", "This site uses cookies for analytics, personalization and advertising."),
    message("accept_all", "Accept all"),
    message("reject_all", "Reject all"),
    message("customize", "Customize"),
    message("save", "Save choices"),
    message("close", "Close"),
    message("dismiss", "OK"),
    message("do_not_sell", "Do Not Sell or Share My Personal Information"),
    message("opt_out_done", "Your opt-out has been processed. We will not sell or share your personal information."),
    message("gpc_honored", "Opt-Out Request Honored"),
    message(
        "gpc_detail",
        "Your browser sent a Global Privacy Control signal, which we treat as an opt-out of sale and sharing.",
    ),
    message("always_on", "Always on"),
    message("saved", "Your choices have been saved."),
    message("offline", "Saved on this device; it will be sent when the service can be reached."),
    # Beside a sale/share toggle that GPC keeps off (and after a choice that asked for it, with the
    # purposes' names after a colon): why it cannot be switched on.
    message("gpc_off", "Off because of your browser's Global Privacy Control signal"),
    # A page the service is not set up for (misconfigured origin or site): nothing can be recorded.
    message(
        "unavailable",
        "Privacy choices cannot be recorded on this page right now, so only what is strictly necessary is used.",
    ),
)

TEXT_KEYS = tuple(key for key, _ in BANNER_MESSAGES)
ENGLISH = dict(BANNER_MESSAGES)

LANGUAGES = ("en", "nl", "sv", "de", "fr", "es")
DEFAULT_LANGUAGE = "en"
