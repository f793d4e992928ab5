"""The privacy pages' texts in Dutch."""

from __future__ import annotations

TEXTS = {
    "notice_title": "Privacyverklaring",
    "languages": "Taal",
    "last_updated": "Laatst bijgewerkt:",
    "notice_intro": "Deze verklaring legt uit welke persoonsgegevens {business} op deze site verzamelt, waar "
    "ze vandaan komen, waarvoor ze worden gebruikt, wie ze ontvangt, of ze worden verkocht of gedeeld, hoe "
    "lang ze worden bewaard en hoe u uw privacyrechten uitoefent.",
    "h_collected": "Persoonsgegevens die wij verzamelen",
    "col_category": "Categorie",
    "col_sources": "Bronnen",
    "col_used_for": "Gebruikt voor",
    "col_sold": "Verkocht of gedeeld",
    "col_kept": "Bewaard",
    "h_purposes": "Waarvoor wij ze gebruiken",
    "col_purpose": "Doel",
    "col_information": "Persoonsgegevens",
    "col_recipients": "Verstrekt aan",
    "h_recipients": "Wie ze ontvangt",
    "col_recipient": "Ontvangers",
    "sold_yes": "Ja: verkocht of gedeeld",
    "sold_no": "Nee",
    "none": "Geen",
    "days": "{days} dagen",
    "see_retention": "Zie „Hoe lang wij ze bewaren”",
    "h_sale": "Verkoop en delen",
    "sale_yes": "Wij verkopen of delen persoonsgegevens, zoals Amerikaanse privacywetten die woorden "
    "definiëren, voor deze doelen: {purposes}.",
    "sale_categories": "Verkochte of gedeelde categorieën: {categories}.",
    "sale_recipients": "Verkocht aan of gedeeld met: {recipients}.",
    "sale_no": "Wij verkopen of delen geen persoonsgegevens.",
    "under_16_no": "Wij weten niet dat wij persoonsgegevens verkopen of delen van consumenten jonger dan 16 jaar.",
    "under_16_yes": "Wij verkopen of delen persoonsgegevens van consumenten jonger dan 16 jaar alleen met hun "
    "uitdrukkelijke toestemming (onder de 13 die van een ouder of voogd).",
    "h_retention": "Hoe lang wij ze bewaren",
    "retention_service": "Gegevens over uw privacykeuzes, bewaard door onze toestemmingsdienst:",
    "keep_opt_out": "Een afmelding voor verkoop of delen: {days} dagen na uw laatste bezoek. Elk bezoek "
    "verlengt dat, dus zolang u terugkomt, vervalt zij niet.",
    "keep_consent": "Een toestemming die u geeft: {days} dagen; daarna vragen wij het opnieuw.",
    "keep_record": "Andere gegevens over uw keuzes, een Global Privacy Control-signaal inbegrepen: {days} "
    "dagen na uw laatste bezoek.",
    "keep_history": "De geschiedenis van uw keuzes en ons register van privacyverzoeken: {days} dagen.",
    "h_rights": "Uw rechten",
    "right_opt_out": "Afmelden voor verkoop en delen.",
    "right_opt_out_detail": "In één stap, zonder account of inloggen:",
    "account_wide": "Als u bent ingelogd, geldt uw afmelding ook voor uw account, op elk apparaat waarop u inlogt.",
    "right_know": "Inzage en een kopie.",
    "right_know_detail": "U mag vragen welke persoonsgegevens wij over u hebben, waar ze vandaan komen, "
    "waarvoor wij ze gebruiken en wie ze ontvangt. Wat over deze browser is bewaard, vindt u hier:",
    "right_delete": "Verwijderen.",
    "right_delete_detail": "U mag ons vragen uw persoonsgegevens te verwijderen. Voor de gegevens van deze "
    "browser gebruikt u dezelfde pagina; voor al het andere neemt u contact met ons op.",
    "right_correct": "Corrigeren.",
    "right_correct_detail": "U mag ons vragen onjuiste persoonsgegevens te corrigeren: neem contact met ons op.",
    "right_limit": "Gebruik van gevoelige persoonsgegevens beperken.",
    "right_limit_detail": "Neem contact met ons op om het gebruik te beperken tot wat nodig is voor wat u "
    "hebt gevraagd.",
    "right_equal": "Geen discriminatie.",
    "right_equal_detail": "Wij weigeren u geen producten of diensten, rekenen geen andere prijs en bieden "
    "geen andere kwaliteit omdat u een van deze rechten gebruikt.",
    "verify": "Hoe wij verzoeken controleren: voor de gegevens van deze browser is de eigen cookie van de "
    "browser het bewijs, zodat niemand anders ze kan inzien of verwijderen. Bij andere verzoeken vergelijken "
    "wij wat u ons vertelt met wat wij hebben, en vragen wij niet meer dan nodig.",
    "h_gpc": "Global Privacy Control",
    "gpc_text": "Wij honoreren Global Privacy Control. Als uw browser het signaal stuurt (de header "
    "Sec-GPC: 1), behandelen wij dat als een geldig verzoek om u af te melden voor verkoop en delen, voor "
    "deze browser en, als u bent ingelogd, voor uw account. U hoeft verder niets te doen; onze pagina's "
    "melden dan „{honored}”.",
    "gpc_final": "Een latere keuze op deze site zet de verkoop of het delen niet weer aan.",
    "gpc_lift": "Als u later op deze site uitdrukkelijk weer toestemming geeft, volgen wij die nieuwere keuze.",
    "h_agents": "Gemachtigde vertegenwoordigers",
    "agents_text": "Iemand die u machtigt, mag deze verzoeken voor u doen. De vertegenwoordiger neemt "
    "contact met ons op (zie hieronder) met uw ondertekende toestemming; wij kunnen u vragen uw identiteit "
    "rechtstreeks bij ons te bevestigen. Een vertegenwoordiger kan u ook afmelden met Global Privacy Control "
    "of via de afmeldpagina.",
    "h_contact": "Contact",
    "contact_text": "Voor een verzoek, of met vragen over deze verklaring, neemt u contact op met {business}:",
    "contact_email": "E-mail",
    "contact_url": "Webformulier",
    "contact_phone": "Telefoon",
    "h_more": "Meer informatie",
    "notice_missing": "De beheerder van deze site heeft hier geen privacyverklaring gepubliceerd.",
    "unknown_site": "Deze site bestaat hier niet.",
    "not_found_title": "Niet gevonden",
    "data_title": "Uw gegevens",
    "data_link": "Uw gegevens: een kopie krijgen of verwijderen",
    "data_intro": "Deze dienst bewaart de privacykeuzes die in deze browser voor deze site zijn gemaakt, "
    "gekoppeld aan de browser via een cookie. Hier kunt u er een kopie van krijgen of ze verwijderen.",
    "h_download": "Een kopie krijgen",
    "download": "Een kopie van uw gegevens downloaden",
    "download_detail": "Een JSON-bestand met uw keuzes en hun geschiedenis.",
    "h_delete": "Uw gegevens verwijderen",
    "delete_button": "Mijn gegevens verwijderen",
    "tombstone": "Bij het verwijderen van uw gegevens bewaren wij alleen het feit dat u zich hebt afgemeld "
    "voor de verkoop of het delen van uw persoonsgegevens (en een eventueel Global Privacy Control-signaal), "
    "zonder verdere details: als wij ook dat verwijderden, zou de verkoop weer aangaan. Eerdere "
    "auditregistraties zijn daarna niet meer aan dit apparaat te koppelen.",
    "deleted": "Uw gegevens zijn verwijderd.",
    "nothing_held": "Er is niets bewaard voor deze browser: hier zijn geen privacykeuzes van vastgelegd.",
    "other_data": "Deze pagina gaat alleen over de vastlegging van uw privacykeuzes. Voor andere "
    "persoonsgegevens neemt u contact op met de beheerder van deze site.",
    "other_data_notice": "Deze pagina gaat alleen over de vastlegging van uw privacykeuzes. Voor andere "
    "persoonsgegevens, zie de privacyverklaring.",
    "problem_form": "Dit formulier is verlopen of kwam niet van deze pagina. Druk nogmaals op de knop.",
    "problem_store": "Uw gegevens konden nu niet worden verwijderd. Probeer het zo nog eens.",
    "problem_opt_out": "Uw afmelding kon nu niet worden vastgelegd. Druk zo nog eens op de knop.",
    "category_identifiers": "Identificatiegegevens",
    "category_customer_records": "Gegevens uit klantendossiers",
    "category_protected_characteristics": "Kenmerken van beschermde groepen",
    "category_commercial": "Commerciële gegevens",
    "category_biometric": "Biometrische gegevens",
    "category_internet_activity": "Activiteit op internet of andere elektronische netwerken",
    "category_geolocation": "Locatiegegevens",
    "category_sensory": "Audio-, elektronische, visuele, thermische, geur- of vergelijkbare gegevens",
    "category_professional": "Beroeps- of arbeidsgegevens",
    "category_education": "Onderwijsgegevens",
    "category_inferences": "Afleidingen om een profiel op te stellen",
    "category_sensitive": "Gevoelige persoonsgegevens",
    "source_consumer": "Rechtstreeks van u",
    "source_device": "Automatisch van uw browser of apparaat",
    "source_partners": "Van advertentie- en analysepartners",
    "source_service_providers": "Van onze dienstverleners",
    "source_affiliates": "Van bedrijven in onze groep",
    "source_public": "Uit openbare bronnen",
    "source_data_brokers": "Van datahandelaren",
}
