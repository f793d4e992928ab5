"""Texts of the privacy notice and the your-data page, per language (English where one is missing).

They are kept apart from texts.py on purpose: those keys are shared with the banner script (a test
checks that both lists agree), and none of these pages' words belong in the banner's weight budget.
Placeholders in braces (`{business}`, `{days}`, …) are filled in by the renderers, after escaping.
"""

from __future__ import annotations

from collections.abc import Mapping

from consent_service.rights.device_data import TOMBSTONE_NOTE

_EN = {
    # the notice
    "notice_title": "Privacy notice",
    "languages": "Language",
    "last_updated": "Last updated:",
    "notice_intro": "This notice explains which personal information {business} collects on this site, where "
    "it comes from, why it is used, who receives it, whether it is sold or shared, how long it is kept, and "
    "how to use your privacy rights.",
    "h_collected": "Personal information we collect",
    "col_category": "Category",
    "col_sources": "Sources",
    "col_used_for": "Used for",
    "col_sold": "Sold or shared",
    "col_kept": "Kept for",
    "h_purposes": "Why we use it",
    "col_purpose": "Purpose",
    "col_information": "Personal information",
    "col_recipients": "Disclosed to",
    "h_recipients": "Who receives it",
    "col_recipient": "Recipients",
    "sold_yes": "Yes: sold or shared",
    "sold_no": "No",
    "none": "None",
    "days": "{days} days",
    "see_retention": "See “How long we keep it”",
    "h_sale": "Sale and sharing",
    "sale_yes": "We sell or share personal information, as US state privacy laws define these words, for "
    "these purposes: {purposes}.",
    "sale_categories": "Categories sold or shared: {categories}.",
    "sale_recipients": "Sold or shared with: {recipients}.",
    "sale_no": "We do not sell or share personal information.",
    "under_16_no": "We do not have actual knowledge that we sell or share the personal information of "
    "consumers under 16 years of age.",
    "under_16_yes": "We sell or share the personal information of consumers under 16 only with their "
    "affirmative authorization (under 13, a parent's or guardian's).",
    "h_retention": "How long we keep it",
    "retention_service": "Records of your privacy choices, kept by our consent service:",
    "keep_opt_out": "An opt-out of sale or sharing: {days} days after your last visit. Each visit renews it, "
    "so it does not lapse while you keep coming back.",
    "keep_consent": "A consent you give: {days} days; after that we ask again.",
    "keep_record": "Other records of your choices, a Global Privacy Control signal included: {days} days "
    "after your last visit.",
    "keep_history": "The history of your choices and our record of privacy requests: {days} days.",
    "h_rights": "Your rights",
    "right_opt_out": "Opt out of sale and sharing.",
    "right_opt_out_detail": "One step, with no account or login needed:",
    "account_wide": "When you are logged in, your opt-out also applies to your account, on every device "
    "where you log in.",
    "right_know": "Know and get a copy.",
    "right_know_detail": "You may ask which personal information we hold about you, where it came from, why "
    "we use it and who receives it. What is held about this browser is here:",
    "right_delete": "Delete.",
    "right_delete_detail": "You may ask us to delete your personal information. For this browser's data, "
    "use the same page; for anything else, contact us.",
    "right_correct": "Correct.",
    "right_correct_detail": "You may ask us to correct inaccurate personal information: contact us.",
    "right_limit": "Limit the use of sensitive personal information.",
    "right_limit_detail": "Contact us to limit its use to what is needed to provide what you asked for.",
    "right_equal": "No discrimination.",
    "right_equal_detail": "We will not deny you goods or services, charge you a different price or give you "
    "a different quality of service because you used any of these rights.",
    "verify": "How we verify requests: for this browser's data, the browser's own cookie is the proof, so "
    "nobody else can see or delete it. For other requests we match what you tell us with what we hold, and "
    "ask for no more than we need.",
    "h_gpc": "Global Privacy Control",
    "gpc_text": "We honour Global Privacy Control. When your browser sends the signal (the Sec-GPC: 1 "
    "header), we treat it as a valid request to opt out of sale and sharing, for this browser and, when you "
    "are logged in, for your account. You need to do nothing else; our pages then say “{honored}”.",
    "gpc_final": "A later choice on this site does not switch the sale or sharing back on.",
    "gpc_lift": "If you later explicitly opt back in on this site, we follow that newer choice.",
    "h_agents": "Authorized agents",
    "agents_text": "Someone you authorize may make these requests for you. The agent contacts us (below) "
    "with your signed permission; we may ask you to confirm your identity with us directly. An agent may "
    "also opt you out by sending Global Privacy Control or by using the opt-out page.",
    "h_contact": "Contact",
    "contact_text": "To make a request, or with questions about this notice, contact {business}:",
    "contact_email": "Email",
    "contact_url": "Web form",
    "contact_phone": "Phone",
    "h_more": "More information",
    "notice_missing": "The operator of this site has not published a privacy notice here.",
    "unknown_site": "There is no such site here.",
    "not_found_title": "Not found",
    # the your-data page
    "data_title": "Your data",
    "data_link": "Your data: get a copy or delete it",
    "data_intro": "This service keeps a record of the privacy choices made in this browser for this site, "
    "tied to the browser by a cookie. Here you can get a copy of it or delete it.",
    "h_download": "Get a copy",
    "download": "Download a copy of your data",
    "download_detail": "A JSON file with your choices and their history.",
    "h_delete": "Delete your data",
    "delete_button": "Delete my data",
    "tombstone": TOMBSTONE_NOTE,
    "deleted": "Your data has been deleted.",
    "nothing_held": "Nothing is held for this browser: it has no record of privacy choices here.",
    "other_data": "This page covers the record of your privacy choices only. For other personal "
    "information, contact the operator of this site.",
    "other_data_notice": "This page covers the record of your privacy choices only. For other personal "
    "information, see the privacy notice.",
    "problem_form": "This form has expired or did not come from this page. Please press the button again.",
    "problem_store": "Your data could not be deleted just now. Please try again in a moment.",
    # categories of personal information (Cal. Civ. Code §1798.140(v)(1)) and of sources
    "category_identifiers": "Identifiers",
    "category_customer_records": "Customer records information",
    "category_protected_characteristics": "Characteristics of protected classifications",
    "category_commercial": "Commercial information",
    "category_biometric": "Biometric information",
    "category_internet_activity": "Internet or other electronic network activity information",
    "category_geolocation": "Geolocation data",
    "category_sensory": "Audio, electronic, visual, thermal, olfactory or similar information",
    "category_professional": "Professional or employment-related information",
    "category_education": "Education information",
    "category_inferences": "Inferences drawn to create a profile",
    "category_sensitive": "Sensitive personal information",
    "source_consumer": "Directly from you",
    "source_device": "Automatically from your browser or device",
    "source_partners": "From advertising and analytics partners",
    "source_service_providers": "From our service providers",
    "source_affiliates": "From companies in our group",
    "source_public": "From publicly available sources",
    "source_data_brokers": "From data brokers",
}

_NL = {
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

_SV = {
    "notice_title": "Integritetsmeddelande",
    "languages": "Språk",
    "last_updated": "Senast uppdaterad:",
    "notice_intro": "Det här meddelandet förklarar vilka personuppgifter {business} samlar in på den här "
    "webbplatsen, var de kommer ifrån, varför de används, vem som tar emot dem, om de säljs eller delas, hur "
    "länge de sparas och hur du använder dina integritetsrättigheter.",
    "h_collected": "Personuppgifter vi samlar in",
    "col_category": "Kategori",
    "col_sources": "Källor",
    "col_used_for": "Används för",
    "col_sold": "Säljs eller delas",
    "col_kept": "Sparas i",
    "h_purposes": "Varför vi använder dem",
    "col_purpose": "Ändamål",
    "col_information": "Personuppgifter",
    "col_recipients": "Lämnas ut till",
    "h_recipients": "Vem som tar emot dem",
    "col_recipient": "Mottagare",
    "sold_yes": "Ja: säljs eller delas",
    "sold_no": "Nej",
    "none": "Inga",
    "days": "{days} dagar",
    "see_retention": "Se ”Hur länge vi sparar dem”",
    "h_sale": "Försäljning och delning",
    "sale_yes": "Vi säljer eller delar personuppgifter, så som amerikanska integritetslagar definierar de "
    "orden, för dessa ändamål: {purposes}.",
    "sale_categories": "Kategorier som säljs eller delas: {categories}.",
    "sale_recipients": "Säljs till eller delas med: {recipients}.",
    "sale_no": "Vi säljer eller delar inte personuppgifter.",
    "under_16_no": "Vi har ingen faktisk kännedom om att vi säljer eller delar personuppgifter om "
    "konsumenter under 16 år.",
    "under_16_yes": "Vi säljer eller delar personuppgifter om konsumenter under 16 år endast med deras "
    "uttryckliga tillstånd (under 13 år en förälders eller vårdnadshavares).",
    "h_retention": "Hur länge vi sparar dem",
    "retention_service": "Uppgifter om dina integritetsval, som vår samtyckestjänst sparar:",
    "keep_opt_out": "Ett avböjande av försäljning eller delning: {days} dagar efter ditt senaste besök. "
    "Varje besök förnyar det, så det upphör inte så länge du kommer tillbaka.",
    "keep_consent": "Ett samtycke du ger: {days} dagar; sedan frågar vi igen.",
    "keep_record": "Andra uppgifter om dina val, inklusive en Global Privacy Control-signal: {days} dagar "
    "efter ditt senaste besök.",
    "keep_history": "Historiken över dina val och vår förteckning över integritetsförfrågningar: {days} dagar.",
    "h_rights": "Dina rättigheter",
    "right_opt_out": "Avböj försäljning och delning.",
    "right_opt_out_detail": "I ett steg, utan konto eller inloggning:",
    "account_wide": "När du är inloggad gäller ditt avböjande även ditt konto, på varje enhet där du loggar in.",
    "right_know": "Få veta och få en kopia.",
    "right_know_detail": "Du kan fråga vilka personuppgifter vi har om dig, var de kommer ifrån, varför vi "
    "använder dem och vem som tar emot dem. Det som finns sparat om den här webbläsaren hittar du här:",
    "right_delete": "Radera.",
    "right_delete_detail": "Du kan be oss radera dina personuppgifter. För den här webbläsarens uppgifter "
    "använder du samma sida; för allt annat kontaktar du oss.",
    "right_correct": "Rätta.",
    "right_correct_detail": "Du kan be oss rätta felaktiga personuppgifter: kontakta oss.",
    "right_limit": "Begränsa användningen av känsliga personuppgifter.",
    "right_limit_detail": "Kontakta oss för att begränsa användningen till det som behövs för det du bett om.",
    "right_equal": "Ingen diskriminering.",
    "right_equal_detail": "Vi nekar dig inte varor eller tjänster, tar inte ut ett annat pris och ger dig "
    "inte en annan kvalitet för att du använt någon av dessa rättigheter.",
    "verify": "Så kontrollerar vi förfrågningar: för den här webbläsarens uppgifter är webbläsarens egen "
    "kaka beviset, så ingen annan kan se eller radera dem. För andra förfrågningar jämför vi det du berättar "
    "med det vi har, och ber inte om mer än vi behöver.",
    "h_gpc": "Global Privacy Control",
    "gpc_text": "Vi respekterar Global Privacy Control. När din webbläsare skickar signalen (huvudet "
    "Sec-GPC: 1) behandlar vi den som en giltig begäran om att avböja försäljning och delning, för den här "
    "webbläsaren och, när du är inloggad, för ditt konto. Du behöver inte göra något mer; våra sidor visar "
    "då ”{honored}”.",
    "gpc_final": "Ett senare val på den här webbplatsen slår inte på försäljningen eller delningen igen.",
    "gpc_lift": "Om du senare uttryckligen samtycker igen på den här webbplatsen följer vi det nyare valet.",
    "h_agents": "Behöriga ombud",
    "agents_text": "Någon du ger behörighet kan göra dessa förfrågningar åt dig. Ombudet kontaktar oss "
    "(nedan) med ditt undertecknade tillstånd; vi kan be dig bekräfta din identitet direkt hos oss. Ett ombud "
    "kan också avböja åt dig genom att skicka Global Privacy Control eller via sidan för avböjande.",
    "h_contact": "Kontakt",
    "contact_text": "För en förfrågan, eller med frågor om det här meddelandet, kontakta {business}:",
    "contact_email": "E-post",
    "contact_url": "Webbformulär",
    "contact_phone": "Telefon",
    "h_more": "Mer information",
    "notice_missing": "Den som driver den här webbplatsen har inte publicerat något integritetsmeddelande här.",
    "unknown_site": "Det finns ingen sådan webbplats här.",
    "not_found_title": "Hittades inte",
    "data_title": "Dina uppgifter",
    "data_link": "Dina uppgifter: få en kopia eller radera dem",
    "data_intro": "Den här tjänsten sparar de integritetsval som gjorts i den här webbläsaren för den här "
    "webbplatsen, kopplade till webbläsaren med en kaka. Här kan du få en kopia av dem eller radera dem.",
    "h_download": "Få en kopia",
    "download": "Ladda ner en kopia av dina uppgifter",
    "download_detail": "En JSON-fil med dina val och deras historik.",
    "h_delete": "Radera dina uppgifter",
    "delete_button": "Radera mina uppgifter",
    "tombstone": "När dina uppgifter raderas sparar vi bara att du har avböjt försäljning eller delning av "
    "dina personuppgifter (och en eventuell Global Privacy Control-signal), utan några andra detaljer: om "
    "även det raderades skulle försäljningen slås på igen. Tidigare loggposter kan inte längre kopplas till "
    "den här enheten.",
    "deleted": "Dina uppgifter har raderats.",
    "nothing_held": "Inget finns sparat för den här webbläsaren: här finns inga integritetsval registrerade.",
    "other_data": "Den här sidan gäller bara registreringen av dina integritetsval. För andra "
    "personuppgifter, kontakta den som driver webbplatsen.",
    "other_data_notice": "Den här sidan gäller bara registreringen av dina integritetsval. För andra "
    "personuppgifter, se integritetsmeddelandet.",
    "problem_form": "Formuläret har gått ut eller kom inte från den här sidan. Tryck på knappen igen.",
    "problem_store": "Dina uppgifter kunde inte raderas just nu. Försök igen om en stund.",
    "category_identifiers": "Identifierare",
    "category_customer_records": "Uppgifter i kundregister",
    "category_protected_characteristics": "Egenskaper hos skyddade grupper",
    "category_commercial": "Kommersiell information",
    "category_biometric": "Biometriska uppgifter",
    "category_internet_activity": "Aktivitet på internet eller andra elektroniska nätverk",
    "category_geolocation": "Platsuppgifter",
    "category_sensory": "Ljud-, elektronisk, visuell, termisk, lukt- eller liknande information",
    "category_professional": "Yrkes- eller anställningsrelaterade uppgifter",
    "category_education": "Utbildningsuppgifter",
    "category_inferences": "Slutsatser som används för att skapa en profil",
    "category_sensitive": "Känsliga personuppgifter",
    "source_consumer": "Direkt från dig",
    "source_device": "Automatiskt från din webbläsare eller enhet",
    "source_partners": "Från annons- och analyspartner",
    "source_service_providers": "Från våra tjänsteleverantörer",
    "source_affiliates": "Från företag i vår koncern",
    "source_public": "Från offentligt tillgängliga källor",
    "source_data_brokers": "Från datamäklare",
}

_DE = {
    "notice_title": "Datenschutzhinweis",
    "languages": "Sprache",
    "last_updated": "Zuletzt aktualisiert:",
    "notice_intro": "Dieser Hinweis erklärt, welche personenbezogenen Daten {business} auf dieser Website "
    "erhebt, woher sie stammen, wofür sie verwendet werden, wer sie erhält, ob sie verkauft oder "
    "weitergegeben werden, wie lange sie gespeichert werden und wie Sie Ihre Datenschutzrechte ausüben.",
    "h_collected": "Personenbezogene Daten, die wir erheben",
    "col_category": "Kategorie",
    "col_sources": "Quellen",
    "col_used_for": "Verwendet für",
    "col_sold": "Verkauft oder weitergegeben",
    "col_kept": "Gespeichert",
    "h_purposes": "Wofür wir sie verwenden",
    "col_purpose": "Zweck",
    "col_information": "Personenbezogene Daten",
    "col_recipients": "Offengelegt gegenüber",
    "h_recipients": "Wer sie erhält",
    "col_recipient": "Empfänger",
    "sold_yes": "Ja: verkauft oder weitergegeben",
    "sold_no": "Nein",
    "none": "Keine",
    "days": "{days} Tage",
    "see_retention": "Siehe „Wie lange wir sie speichern“",
    "h_sale": "Verkauf und Weitergabe",
    "sale_yes": "Wir verkaufen oder teilen personenbezogene Daten im Sinne der US-Datenschutzgesetze für "
    "diese Zwecke: {purposes}.",
    "sale_categories": "Verkaufte oder weitergegebene Kategorien: {categories}.",
    "sale_recipients": "Verkauft an oder geteilt mit: {recipients}.",
    "sale_no": "Wir verkaufen oder teilen keine personenbezogenen Daten.",
    "under_16_no": "Uns ist nicht bekannt, dass wir personenbezogene Daten von Verbrauchern unter 16 Jahren "
    "verkaufen oder teilen.",
    "under_16_yes": "Personenbezogene Daten von Verbrauchern unter 16 Jahren verkaufen oder teilen wir nur "
    "mit deren ausdrücklicher Zustimmung (unter 13 Jahren der eines Elternteils oder Vormunds).",
    "h_retention": "Wie lange wir sie speichern",
    "retention_service": "Aufzeichnungen Ihrer Datenschutzauswahl, die unser Einwilligungsdienst speichert:",
    "keep_opt_out": "Ein Widerspruch gegen Verkauf oder Weitergabe: {days} Tage nach Ihrem letzten Besuch. "
    "Jeder Besuch verlängert ihn, sodass er nicht verfällt, solange Sie wiederkommen.",
    "keep_consent": "Eine Einwilligung, die Sie geben: {days} Tage; danach fragen wir erneut.",
    "keep_record": "Andere Aufzeichnungen Ihrer Auswahl, einschließlich eines Global-Privacy-Control-Signals: "
    "{days} Tage nach Ihrem letzten Besuch.",
    "keep_history": "Der Verlauf Ihrer Auswahl und unser Verzeichnis der Datenschutzanfragen: {days} Tage.",
    "h_rights": "Ihre Rechte",
    "right_opt_out": "Verkauf und Weitergabe widersprechen.",
    "right_opt_out_detail": "In einem Schritt, ohne Konto oder Anmeldung:",
    "account_wide": "Wenn Sie angemeldet sind, gilt Ihr Widerspruch auch für Ihr Konto, auf jedem Gerät, "
    "auf dem Sie sich anmelden.",
    "right_know": "Auskunft und Kopie.",
    "right_know_detail": "Sie können fragen, welche personenbezogenen Daten wir über Sie haben, woher sie "
    "stammen, wofür wir sie verwenden und wer sie erhält. Was zu diesem Browser gespeichert ist, finden Sie "
    "hier:",
    "right_delete": "Löschen.",
    "right_delete_detail": "Sie können uns bitten, Ihre personenbezogenen Daten zu löschen. Für die Daten "
    "dieses Browsers nutzen Sie dieselbe Seite; für alles andere kontaktieren Sie uns.",
    "right_correct": "Berichtigen.",
    "right_correct_detail": "Sie können uns bitten, unrichtige personenbezogene Daten zu berichtigen: "
    "kontaktieren Sie uns.",
    "right_limit": "Die Verwendung sensibler personenbezogener Daten einschränken.",
    "right_limit_detail": "Kontaktieren Sie uns, um die Verwendung auf das zu beschränken, was für Ihre "
    "Anfrage nötig ist.",
    "right_equal": "Keine Benachteiligung.",
    "right_equal_detail": "Wir verweigern Ihnen keine Waren oder Dienste, verlangen keinen anderen Preis und "
    "bieten keine andere Qualität, weil Sie eines dieser Rechte genutzt haben.",
    "verify": "Wie wir Anfragen prüfen: Für die Daten dieses Browsers ist das eigene Cookie des Browsers der "
    "Nachweis, sodass niemand sonst sie sehen oder löschen kann. Bei anderen Anfragen gleichen wir Ihre "
    "Angaben mit unseren Daten ab und fragen nicht mehr ab als nötig.",
    "h_gpc": "Global Privacy Control",
    "gpc_text": "Wir beachten Global Privacy Control. Sendet Ihr Browser das Signal (den Header Sec-GPC: 1), "
    "behandeln wir es als gültigen Widerspruch gegen Verkauf und Weitergabe, für diesen Browser und, wenn Sie "
    "angemeldet sind, für Ihr Konto. Sie müssen nichts weiter tun; unsere Seiten zeigen dann „{honored}“.",
    "gpc_final": "Eine spätere Auswahl auf dieser Website schaltet Verkauf oder Weitergabe nicht wieder ein.",
    "gpc_lift": "Wenn Sie später auf dieser Website ausdrücklich wieder einwilligen, folgen wir dieser neueren "
    "Auswahl.",
    "h_agents": "Bevollmächtigte",
    "agents_text": "Eine von Ihnen bevollmächtigte Person kann diese Anfragen für Sie stellen. Sie kontaktiert "
    "uns (unten) mit Ihrer unterschriebenen Vollmacht; wir können Sie bitten, Ihre Identität direkt bei uns "
    "zu bestätigen. Bevollmächtigte können auch per Global Privacy Control oder über die Widerspruchsseite "
    "für Sie widersprechen.",
    "h_contact": "Kontakt",
    "contact_text": "Für Anfragen oder Fragen zu diesem Hinweis kontaktieren Sie {business}:",
    "contact_email": "E-Mail",
    "contact_url": "Webformular",
    "contact_phone": "Telefon",
    "h_more": "Weitere Informationen",
    "notice_missing": "Der Betreiber dieser Website hat hier keinen Datenschutzhinweis veröffentlicht.",
    "unknown_site": "Diese Website gibt es hier nicht.",
    "not_found_title": "Nicht gefunden",
    "data_title": "Ihre Daten",
    "data_link": "Ihre Daten: Kopie erhalten oder löschen",
    "data_intro": "Dieser Dienst speichert die Datenschutzauswahl, die in diesem Browser für diese Website "
    "getroffen wurde, über ein Cookie mit dem Browser verknüpft. Hier können Sie eine Kopie erhalten oder sie "
    "löschen.",
    "h_download": "Eine Kopie erhalten",
    "download": "Eine Kopie Ihrer Daten herunterladen",
    "download_detail": "Eine JSON-Datei mit Ihrer Auswahl und deren Verlauf.",
    "h_delete": "Ihre Daten löschen",
    "delete_button": "Meine Daten löschen",
    "tombstone": "Beim Löschen Ihrer Daten behalten wir nur die Tatsache, dass Sie dem Verkauf oder der "
    "Weitergabe Ihrer personenbezogenen Daten widersprochen haben (und ein etwaiges "
    "Global-Privacy-Control-Signal), ohne weitere Angaben: würden wir auch das löschen, wäre der Verkauf "
    "wieder eingeschaltet. Frühere Protokolleinträge lassen sich diesem Gerät nicht mehr zuordnen.",
    "deleted": "Ihre Daten wurden gelöscht.",
    "nothing_held": "Für diesen Browser ist nichts gespeichert: Hier ist keine Datenschutzauswahl erfasst.",
    "other_data": "Diese Seite betrifft nur die Aufzeichnung Ihrer Datenschutzauswahl. Für andere "
    "personenbezogene Daten wenden Sie sich an den Betreiber dieser Website.",
    "other_data_notice": "Diese Seite betrifft nur die Aufzeichnung Ihrer Datenschutzauswahl. Für andere "
    "personenbezogene Daten siehe den Datenschutzhinweis.",
    "problem_form": "Dieses Formular ist abgelaufen oder kam nicht von dieser Seite. Bitte drücken Sie die "
    "Schaltfläche erneut.",
    "problem_store": "Ihre Daten konnten gerade nicht gelöscht werden. Bitte versuchen Sie es gleich noch einmal.",
    "category_identifiers": "Identifikatoren",
    "category_customer_records": "Angaben in Kundendatensätzen",
    "category_protected_characteristics": "Merkmale geschützter Gruppen",
    "category_commercial": "Kommerzielle Informationen",
    "category_biometric": "Biometrische Informationen",
    "category_internet_activity": "Aktivitäten im Internet oder in anderen elektronischen Netzwerken",
    "category_geolocation": "Standortdaten",
    "category_sensory": "Audio-, elektronische, visuelle, thermische, olfaktorische oder ähnliche Informationen",
    "category_professional": "Berufs- oder beschäftigungsbezogene Informationen",
    "category_education": "Bildungsinformationen",
    "category_inferences": "Schlussfolgerungen zur Profilbildung",
    "category_sensitive": "Sensible personenbezogene Daten",
    "source_consumer": "Direkt von Ihnen",
    "source_device": "Automatisch von Ihrem Browser oder Gerät",
    "source_partners": "Von Werbe- und Analysepartnern",
    "source_service_providers": "Von unseren Dienstleistern",
    "source_affiliates": "Von Unternehmen unserer Gruppe",
    "source_public": "Aus öffentlich zugänglichen Quellen",
    "source_data_brokers": "Von Datenhändlern",
}

_FR = {
    "notice_title": "Avis de confidentialité",
    "languages": "Langue",
    "last_updated": "Dernière mise à jour :",
    "notice_intro": "Cet avis explique quelles informations personnelles {business} collecte sur ce site, "
    "d'où elles proviennent, à quoi elles servent, qui les reçoit, si elles sont vendues ou partagées, "
    "combien de temps elles sont conservées et comment exercer vos droits.",
    "h_collected": "Informations personnelles que nous collectons",
    "col_category": "Catégorie",
    "col_sources": "Sources",
    "col_used_for": "Utilisées pour",
    "col_sold": "Vendues ou partagées",
    "col_kept": "Conservées",
    "h_purposes": "Pourquoi nous les utilisons",
    "col_purpose": "Finalité",
    "col_information": "Informations personnelles",
    "col_recipients": "Communiquées à",
    "h_recipients": "Qui les reçoit",
    "col_recipient": "Destinataires",
    "sold_yes": "Oui : vendues ou partagées",
    "sold_no": "Non",
    "none": "Aucune",
    "days": "{days} jours",
    "see_retention": "Voir « Combien de temps nous les conservons »",
    "h_sale": "Vente et partage",
    "sale_yes": "Nous vendons ou partageons des informations personnelles, au sens des lois américaines sur "
    "la vie privée, pour ces finalités : {purposes}.",
    "sale_categories": "Catégories vendues ou partagées : {categories}.",
    "sale_recipients": "Vendues ou partagées à : {recipients}.",
    "sale_no": "Nous ne vendons ni ne partageons d'informations personnelles.",
    "under_16_no": "Nous n'avons pas connaissance de vendre ou de partager les informations personnelles de "
    "consommateurs de moins de 16 ans.",
    "under_16_yes": "Nous ne vendons ou ne partageons les informations personnelles de consommateurs de moins "
    "de 16 ans qu'avec leur autorisation expresse (avant 13 ans, celle d'un parent ou tuteur).",
    "h_retention": "Combien de temps nous les conservons",
    "retention_service": "Enregistrements de vos choix, conservés par notre service de consentement :",
    "keep_opt_out": "Une opposition à la vente ou au partage : {days} jours après votre dernière visite. "
    "Chaque visite la renouvelle ; elle n'expire donc pas tant que vous revenez.",
    "keep_consent": "Un consentement que vous donnez : {days} jours ; ensuite nous vous redemandons.",
    "keep_record": "Les autres enregistrements de vos choix, signal Global Privacy Control compris : "
    "{days} jours après votre dernière visite.",
    "keep_history": "L'historique de vos choix et notre registre des demandes : {days} jours.",
    "h_rights": "Vos droits",
    "right_opt_out": "Vous opposer à la vente et au partage.",
    "right_opt_out_detail": "En une étape, sans compte ni connexion :",
    "account_wide": "Lorsque vous êtes connecté, votre opposition s'applique aussi à votre compte, sur chaque "
    "appareil où vous vous connectez.",
    "right_know": "Savoir et obtenir une copie.",
    "right_know_detail": "Vous pouvez demander quelles informations personnelles nous détenons sur vous, leur "
    "provenance, leur usage et qui les reçoit. Ce qui est conservé pour ce navigateur se trouve ici :",
    "right_delete": "Supprimer.",
    "right_delete_detail": "Vous pouvez nous demander de supprimer vos informations personnelles. Pour les "
    "données de ce navigateur, utilisez la même page ; pour le reste, contactez-nous.",
    "right_correct": "Rectifier.",
    "right_correct_detail": "Vous pouvez nous demander de rectifier des informations inexactes : contactez-nous.",
    "right_limit": "Limiter l'usage des informations personnelles sensibles.",
    "right_limit_detail": "Contactez-nous pour limiter leur usage à ce qui est nécessaire pour ce que vous "
    "avez demandé.",
    "right_equal": "Aucune discrimination.",
    "right_equal_detail": "Nous ne vous refuserons ni biens ni services, ne pratiquerons pas d'autre prix et "
    "n'offrirons pas une autre qualité parce que vous avez exercé l'un de ces droits.",
    "verify": "Comment nous vérifions les demandes : pour les données de ce navigateur, son propre cookie "
    "fait preuve, si bien que personne d'autre ne peut les voir ni les supprimer. Pour les autres demandes, "
    "nous comparons ce que vous nous dites à ce que nous détenons, sans demander plus que nécessaire.",
    "h_gpc": "Global Privacy Control",
    "gpc_text": "Nous respectons Global Privacy Control. Lorsque votre navigateur envoie le signal (l'en-tête "
    "Sec-GPC: 1), nous le traitons comme une demande valable d'opposition à la vente et au partage, pour ce "
    "navigateur et, si vous êtes connecté, pour votre compte. Vous n'avez rien d'autre à faire ; nos pages "
    "affichent alors « {honored} ».",
    "gpc_final": "Un choix ultérieur sur ce site ne réactive pas la vente ni le partage.",
    "gpc_lift": "Si vous y consentez de nouveau expressément plus tard sur ce site, nous suivons ce choix plus récent.",
    "h_agents": "Mandataires",
    "agents_text": "Une personne que vous mandatez peut faire ces demandes pour vous. Le mandataire nous "
    "contacte (ci-dessous) avec votre autorisation signée ; nous pouvons vous demander de confirmer votre "
    "identité directement auprès de nous. Un mandataire peut aussi s'opposer pour vous en envoyant Global "
    "Privacy Control ou via la page d'opposition.",
    "h_contact": "Contact",
    "contact_text": "Pour une demande, ou pour toute question sur cet avis, contactez {business} :",
    "contact_email": "E-mail",
    "contact_url": "Formulaire en ligne",
    "contact_phone": "Téléphone",
    "h_more": "Plus d'informations",
    "notice_missing": "L'exploitant de ce site n'a pas publié d'avis de confidentialité ici.",
    "unknown_site": "Ce site n'existe pas ici.",
    "not_found_title": "Introuvable",
    "data_title": "Vos données",
    "data_link": "Vos données : obtenir une copie ou les supprimer",
    "data_intro": "Ce service conserve les choix de confidentialité faits dans ce navigateur pour ce site, "
    "liés au navigateur par un cookie. Ici, vous pouvez en obtenir une copie ou les supprimer.",
    "h_download": "Obtenir une copie",
    "download": "Télécharger une copie de vos données",
    "download_detail": "Un fichier JSON avec vos choix et leur historique.",
    "h_delete": "Supprimer vos données",
    "delete_button": "Supprimer mes données",
    "tombstone": "La suppression de vos données ne conserve que le fait que vous vous êtes opposé à la vente "
    "ou au partage de vos informations personnelles (et tout signal Global Privacy Control), sans aucun autre "
    "détail : le supprimer aussi réactiverait la vente. Les entrées d'audit antérieures ne peuvent plus être "
    "reliées à cet appareil.",
    "deleted": "Vos données ont été supprimées.",
    "nothing_held": "Rien n'est conservé pour ce navigateur : aucun choix de confidentialité n'y est enregistré ici.",
    "other_data": "Cette page ne concerne que l'enregistrement de vos choix. Pour d'autres informations "
    "personnelles, contactez l'exploitant de ce site.",
    "other_data_notice": "Cette page ne concerne que l'enregistrement de vos choix. Pour d'autres "
    "informations personnelles, voir l'avis de confidentialité.",
    "problem_form": "Ce formulaire a expiré ou ne provient pas de cette page. Veuillez appuyer de nouveau sur "
    "le bouton.",
    "problem_store": "Vos données n'ont pas pu être supprimées pour le moment. Veuillez réessayer dans un instant.",
    "category_identifiers": "Identifiants",
    "category_customer_records": "Informations des dossiers clients",
    "category_protected_characteristics": "Caractéristiques de catégories protégées",
    "category_commercial": "Informations commerciales",
    "category_biometric": "Informations biométriques",
    "category_internet_activity": "Activité sur Internet ou d'autres réseaux électroniques",
    "category_geolocation": "Données de géolocalisation",
    "category_sensory": "Informations audio, électroniques, visuelles, thermiques, olfactives ou similaires",
    "category_professional": "Informations professionnelles ou liées à l'emploi",
    "category_education": "Informations sur l'éducation",
    "category_inferences": "Déductions servant à établir un profil",
    "category_sensitive": "Informations personnelles sensibles",
    "source_consumer": "Directement auprès de vous",
    "source_device": "Automatiquement depuis votre navigateur ou appareil",
    "source_partners": "Auprès de partenaires publicitaires et de mesure d'audience",
    "source_service_providers": "Auprès de nos prestataires",
    "source_affiliates": "Auprès de sociétés de notre groupe",
    "source_public": "De sources publiques",
    "source_data_brokers": "Auprès de courtiers en données",
}

_ES = {
    "notice_title": "Aviso de privacidad",
    "languages": "Idioma",
    "last_updated": "Última actualización:",
    "notice_intro": "Este aviso explica qué información personal recopila {business} en este sitio, de dónde "
    "procede, para qué se usa, quién la recibe, si se vende o se comparte, cuánto tiempo se conserva y cómo "
    "ejercer sus derechos de privacidad.",
    "h_collected": "Información personal que recopilamos",
    "col_category": "Categoría",
    "col_sources": "Fuentes",
    "col_used_for": "Se usa para",
    "col_sold": "Se vende o comparte",
    "col_kept": "Se conserva",
    "h_purposes": "Para qué la usamos",
    "col_purpose": "Finalidad",
    "col_information": "Información personal",
    "col_recipients": "Se comunica a",
    "h_recipients": "Quién la recibe",
    "col_recipient": "Destinatarios",
    "sold_yes": "Sí: se vende o comparte",
    "sold_no": "No",
    "none": "Ninguna",
    "days": "{days} días",
    "see_retention": "Vea «Cuánto tiempo la conservamos»",
    "h_sale": "Venta e intercambio",
    "sale_yes": "Vendemos o compartimos información personal, según definen estas palabras las leyes de "
    "privacidad de EE. UU., para estas finalidades: {purposes}.",
    "sale_categories": "Categorías que se venden o comparten: {categories}.",
    "sale_recipients": "Se venden o comparten con: {recipients}.",
    "sale_no": "No vendemos ni compartimos información personal.",
    "under_16_no": "No tenemos conocimiento efectivo de vender o compartir información personal de "
    "consumidores menores de 16 años.",
    "under_16_yes": "Solo vendemos o compartimos información personal de consumidores menores de 16 años con "
    "su autorización expresa (menores de 13, la de un padre, madre o tutor).",
    "h_retention": "Cuánto tiempo la conservamos",
    "retention_service": "Registros de sus opciones de privacidad, conservados por nuestro servicio de consentimiento:",
    "keep_opt_out": "Una exclusión de la venta o el intercambio: {days} días después de su última visita. "
    "Cada visita la renueva, así que no caduca mientras siga volviendo.",
    "keep_consent": "Un consentimiento que usted da: {days} días; después volvemos a preguntar.",
    "keep_record": "Otros registros de sus opciones, incluida una señal Global Privacy Control: {days} días "
    "después de su última visita.",
    "keep_history": "El historial de sus opciones y nuestro registro de solicitudes de privacidad: {days} días.",
    "h_rights": "Sus derechos",
    "right_opt_out": "Excluirse de la venta y el intercambio.",
    "right_opt_out_detail": "En un paso, sin cuenta ni inicio de sesión:",
    "account_wide": "Cuando ha iniciado sesión, su exclusión también se aplica a su cuenta, en cada "
    "dispositivo en el que inicie sesión.",
    "right_know": "Saber y obtener una copia.",
    "right_know_detail": "Puede preguntar qué información personal tenemos sobre usted, de dónde procede, para "
    "qué la usamos y quién la recibe. Lo que se conserva sobre este navegador está aquí:",
    "right_delete": "Eliminar.",
    "right_delete_detail": "Puede pedirnos que eliminemos su información personal. Para los datos de este "
    "navegador, use la misma página; para todo lo demás, contáctenos.",
    "right_correct": "Corregir.",
    "right_correct_detail": "Puede pedirnos que corrijamos información personal inexacta: contáctenos.",
    "right_limit": "Limitar el uso de información personal sensible.",
    "right_limit_detail": "Contáctenos para limitar su uso a lo necesario para lo que usted ha pedido.",
    "right_equal": "Sin discriminación.",
    "right_equal_detail": "No le negaremos bienes ni servicios, ni le cobraremos un precio distinto, ni le "
    "daremos otra calidad de servicio por ejercer cualquiera de estos derechos.",
    "verify": "Cómo verificamos las solicitudes: para los datos de este navegador, su propia cookie es la "
    "prueba, así que nadie más puede verlos ni eliminarlos. Para otras solicitudes comparamos lo que nos dice "
    "con lo que tenemos, sin pedir más de lo necesario.",
    "h_gpc": "Global Privacy Control",
    "gpc_text": "Respetamos Global Privacy Control. Cuando su navegador envía la señal (la cabecera "
    "Sec-GPC: 1), la tratamos como una solicitud válida de exclusión de la venta y el intercambio, para este "
    "navegador y, si ha iniciado sesión, para su cuenta. No necesita hacer nada más; nuestras páginas "
    "muestran entonces «{honored}».",
    "gpc_final": "Una elección posterior en este sitio no vuelve a activar la venta ni el intercambio.",
    "gpc_lift": "Si más tarde vuelve a dar su consentimiento expreso en este sitio, seguimos esa elección más "
    "reciente.",
    "h_agents": "Agentes autorizados",
    "agents_text": "Una persona que usted autorice puede hacer estas solicitudes por usted. El agente nos "
    "contacta (abajo) con su permiso firmado; podemos pedirle que confirme su identidad directamente con "
    "nosotros. Un agente también puede excluirle enviando Global Privacy Control o mediante la página de "
    "exclusión.",
    "h_contact": "Contacto",
    "contact_text": "Para una solicitud, o con preguntas sobre este aviso, contacte con {business}:",
    "contact_email": "Correo electrónico",
    "contact_url": "Formulario web",
    "contact_phone": "Teléfono",
    "h_more": "Más información",
    "notice_missing": "El operador de este sitio no ha publicado aquí un aviso de privacidad.",
    "unknown_site": "Este sitio no existe aquí.",
    "not_found_title": "No encontrado",
    "data_title": "Sus datos",
    "data_link": "Sus datos: obtener una copia o eliminarlos",
    "data_intro": "Este servicio guarda las opciones de privacidad elegidas en este navegador para este sitio, "
    "vinculadas al navegador mediante una cookie. Aquí puede obtener una copia o eliminarlas.",
    "h_download": "Obtener una copia",
    "download": "Descargar una copia de sus datos",
    "download_detail": "Un archivo JSON con sus opciones y su historial.",
    "h_delete": "Eliminar sus datos",
    "delete_button": "Eliminar mis datos",
    "tombstone": "Al eliminar sus datos solo conservamos el hecho de que se excluyó de la venta o el "
    "intercambio de su información personal (y cualquier señal Global Privacy Control), sin ningún otro "
    "detalle: eliminarlo también volvería a activar la venta. Las entradas de auditoría anteriores ya no "
    "pueden vincularse a este dispositivo.",
    "deleted": "Sus datos se han eliminado.",
    "nothing_held": "No se conserva nada para este navegador: no tiene opciones de privacidad registradas aquí.",
    "other_data": "Esta página solo trata del registro de sus opciones de privacidad. Para otra información "
    "personal, contacte con el operador de este sitio.",
    "other_data_notice": "Esta página solo trata del registro de sus opciones de privacidad. Para otra "
    "información personal, vea el aviso de privacidad.",
    "problem_form": "Este formulario ha caducado o no procede de esta página. Pulse el botón de nuevo.",
    "problem_store": "Sus datos no se han podido eliminar ahora. Inténtelo de nuevo en un momento.",
    "category_identifiers": "Identificadores",
    "category_customer_records": "Información de registros de clientes",
    "category_protected_characteristics": "Características de clasificaciones protegidas",
    "category_commercial": "Información comercial",
    "category_biometric": "Información biométrica",
    "category_internet_activity": "Actividad en Internet u otras redes electrónicas",
    "category_geolocation": "Datos de geolocalización",
    "category_sensory": "Información de audio, electrónica, visual, térmica, olfativa o similar",
    "category_professional": "Información profesional o laboral",
    "category_education": "Información educativa",
    "category_inferences": "Inferencias para crear un perfil",
    "category_sensitive": "Información personal sensible",
    "source_consumer": "Directamente de usted",
    "source_device": "Automáticamente de su navegador o dispositivo",
    "source_partners": "De socios de publicidad y analítica",
    "source_service_providers": "De nuestros proveedores de servicios",
    "source_affiliates": "De empresas de nuestro grupo",
    "source_public": "De fuentes públicas",
    "source_data_brokers": "De intermediarios de datos",
}

# Each language named in itself, for the notice's language links.
LANGUAGE_NAMES = {
    "en": "English",
    "nl": "Nederlands",
    "sv": "Svenska",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
}

PAGE_TEXTS: Mapping[str, Mapping[str, str]] = {"en": _EN, "nl": _NL, "sv": _SV, "de": _DE, "fr": _FR, "es": _ES}


def page_texts_for(language: str) -> dict[str, str]:
    """Every key in `language`, English where a translation is missing."""
    return {**_EN, **PAGE_TEXTS.get(language, {})}
