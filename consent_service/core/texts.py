"""The banner's UI texts per language; sites override any of them in their config.

English also ships inside banner.js (so the banner works when the API cannot be reached); a test
checks that the two key lists agree. Only add keys, and add them in every language.
"""

from __future__ import annotations

from collections.abc import Mapping

TEXT_KEYS = (
    "title", "intro_opt_in", "intro_opt_out", "intro_notice", "accept_all", "reject_all", "customize",
    "save", "close", "dismiss", "do_not_sell", "opt_out_done", "gpc_honored", "gpc_detail", "always_on",
    "saved", "offline",
)  # fmt: skip

LANGUAGES = ("en", "nl", "sv", "de", "fr", "es")
DEFAULT_LANGUAGE = "en"

_EN = {
    "title": "Your privacy choices",
    "intro_opt_in": "We use cookies and similar technologies for analytics, personalization and advertising. "
    "Choose what you allow; you can change it at any time.",
    "intro_opt_out": "We share personal information with advertising partners, which may be a sale or sharing "
    "under US state privacy laws. You can opt out at any time.",
    "intro_notice": "This site uses cookies for analytics, personalization and advertising.",
    "accept_all": "Accept all",
    "reject_all": "Reject all",
    "customize": "Customize",
    "save": "Save choices",
    "close": "Close",
    "dismiss": "OK",
    "do_not_sell": "Do Not Sell or Share My Personal Information",
    "opt_out_done": "Your opt-out has been processed. We will not sell or share your personal information.",
    "gpc_honored": "Opt-Out Request Honored",
    "gpc_detail": "Your browser sent a Global Privacy Control signal, which we treat as an opt-out of sale "
    "and sharing.",
    "always_on": "Always on",
    "saved": "Your choices have been saved.",
    "offline": "Saved on this device; it will be sent when the service can be reached.",
}

_NL = {
    "title": "Uw privacykeuzes",
    "intro_opt_in": "Wij gebruiken cookies en vergelijkbare technieken voor analyse, personalisatie en "
    "advertenties. Kies wat u toestaat; u kunt dit altijd wijzigen.",
    "intro_opt_out": "Wij delen persoonsgegevens met advertentiepartners; onder Amerikaanse privacywetten kan "
    "dat een verkoop of delen zijn. U kunt zich altijd afmelden.",
    "intro_notice": "Deze site gebruikt cookies voor analyse, personalisatie en advertenties.",
    "accept_all": "Alles accepteren",
    "reject_all": "Alles weigeren",
    "customize": "Aanpassen",
    "save": "Keuzes opslaan",
    "close": "Sluiten",
    "dismiss": "OK",
    "do_not_sell": "Mijn persoonsgegevens niet verkopen of delen",
    "opt_out_done": "Uw afmelding is verwerkt. Wij verkopen of delen uw persoonsgegevens niet.",
    "gpc_honored": "Afmeldverzoek gehonoreerd",
    "gpc_detail": "Uw browser stuurde een Global Privacy Control-signaal; dat behandelen wij als afmelding "
    "voor verkoop en delen.",
    "always_on": "Altijd aan",
    "saved": "Uw keuzes zijn opgeslagen.",
    "offline": "Op dit apparaat bewaard; we versturen het zodra de dienst bereikbaar is.",
}

_SV = {
    "title": "Dina integritetsval",
    "intro_opt_in": "Vi använder kakor och liknande tekniker för analys, personalisering och annonsering. "
    "Välj vad du tillåter; du kan ändra det när som helst.",
    "intro_opt_out": "Vi delar personuppgifter med annonspartner, vilket kan vara en försäljning eller delning "
    "enligt amerikanska integritetslagar. Du kan när som helst avböja.",
    "intro_notice": "Den här webbplatsen använder kakor för analys, personalisering och annonsering.",
    "accept_all": "Godkänn alla",
    "reject_all": "Avvisa alla",
    "customize": "Anpassa",
    "save": "Spara val",
    "close": "Stäng",
    "dismiss": "OK",
    "do_not_sell": "Sälj eller dela inte mina personuppgifter",
    "opt_out_done": "Ditt avböjande har behandlats. Vi säljer eller delar inte dina personuppgifter.",
    "gpc_honored": "Begäran om avböjande har respekterats",
    "gpc_detail": "Din webbläsare skickade en Global Privacy Control-signal, som vi behandlar som ett "
    "avböjande av försäljning och delning.",
    "always_on": "Alltid på",
    "saved": "Dina val har sparats.",
    "offline": "Sparat på den här enheten; det skickas när tjänsten kan nås.",
}

_DE = {
    "title": "Ihre Datenschutzeinstellungen",
    "intro_opt_in": "Wir verwenden Cookies und ähnliche Technologien für Analyse, Personalisierung und "
    "Werbung. Wählen Sie, was Sie erlauben; Sie können es jederzeit ändern.",
    "intro_opt_out": "Wir teilen personenbezogene Daten mit Werbepartnern; nach US-Datenschutzgesetzen kann das "
    "ein Verkauf oder eine Weitergabe sein. Sie können jederzeit widersprechen.",
    "intro_notice": "Diese Website verwendet Cookies für Analyse, Personalisierung und Werbung.",
    "accept_all": "Alle akzeptieren",
    "reject_all": "Alle ablehnen",
    "customize": "Anpassen",
    "save": "Auswahl speichern",
    "close": "Schließen",
    "dismiss": "OK",
    "do_not_sell": "Meine personenbezogenen Daten nicht verkaufen oder weitergeben",
    "opt_out_done": "Ihr Widerspruch wurde verarbeitet. Wir verkaufen oder teilen Ihre Daten nicht.",
    "gpc_honored": "Widerspruch berücksichtigt",
    "gpc_detail": "Ihr Browser hat ein Global-Privacy-Control-Signal gesendet; wir behandeln es als Widerspruch "
    "gegen Verkauf und Weitergabe.",
    "always_on": "Immer aktiv",
    "saved": "Ihre Auswahl wurde gespeichert.",
    "offline": "Auf diesem Gerät gespeichert; wird gesendet, sobald der Dienst erreichbar ist.",
}

_FR = {
    "title": "Vos choix de confidentialité",
    "intro_opt_in": "Nous utilisons des cookies et technologies similaires pour la mesure d'audience, la "
    "personnalisation et la publicité. Choisissez ce que vous autorisez ; vous pouvez changer d'avis à tout moment.",
    "intro_opt_out": "Nous partageons des données personnelles avec des partenaires publicitaires, ce qui peut "
    "constituer une vente ou un partage au sens des lois américaines. Vous pouvez vous y opposer à tout moment.",
    "intro_notice": "Ce site utilise des cookies pour la mesure d'audience, la personnalisation et la publicité.",
    "accept_all": "Tout accepter",
    "reject_all": "Tout refuser",
    "customize": "Personnaliser",
    "save": "Enregistrer mes choix",
    "close": "Fermer",
    "dismiss": "OK",
    "do_not_sell": "Ne pas vendre ni partager mes informations personnelles",
    "opt_out_done": "Votre opposition a été prise en compte. Nous ne vendrons ni ne partagerons vos informations.",
    "gpc_honored": "Demande d'opposition respectée",
    "gpc_detail": "Votre navigateur a envoyé un signal Global Privacy Control, que nous traitons comme une "
    "opposition à la vente et au partage.",
    "always_on": "Toujours actif",
    "saved": "Vos choix ont été enregistrés.",
    "offline": "Enregistré sur cet appareil ; il sera envoyé dès que le service sera joignable.",
}

_ES = {
    "title": "Sus opciones de privacidad",
    "intro_opt_in": "Usamos cookies y tecnologías similares para analítica, personalización y publicidad. "
    "Elija lo que permite; puede cambiarlo en cualquier momento.",
    "intro_opt_out": "Compartimos información personal con socios publicitarios, lo que puede ser una venta o "
    "un intercambio según las leyes de privacidad de EE. UU. Puede oponerse en cualquier momento.",
    "intro_notice": "Este sitio usa cookies para analítica, personalización y publicidad.",
    "accept_all": "Aceptar todo",
    "reject_all": "Rechazar todo",
    "customize": "Personalizar",
    "save": "Guardar opciones",
    "close": "Cerrar",
    "dismiss": "Aceptar",
    "do_not_sell": "No vender ni compartir mi información personal",
    "opt_out_done": "Su exclusión se ha procesado. No venderemos ni compartiremos su información personal.",
    "gpc_honored": "Solicitud de exclusión respetada",
    "gpc_detail": "Su navegador envió una señal Global Privacy Control, que tratamos como una exclusión de la "
    "venta y el intercambio.",
    "always_on": "Siempre activas",
    "saved": "Sus opciones se han guardado.",
    "offline": "Guardado en este dispositivo; se enviará cuando el servicio esté disponible.",
}

TEXTS: Mapping[str, Mapping[str, str]] = {"en": _EN, "nl": _NL, "sv": _SV, "de": _DE, "fr": _FR, "es": _ES}


def texts_for(language: str, overrides: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, str]:
    """Every key in `language` (English where a translation is missing), then the site's overrides."""
    return {**_EN, **TEXTS.get(language, {}), **(overrides or {}).get(language, {})}
